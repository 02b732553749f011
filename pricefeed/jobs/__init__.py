"""Background work: the refresh queue, the scheduler, the worker and the process's own jobs."""
