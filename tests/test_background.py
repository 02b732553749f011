"""The process's own background work goes through Huey: by priority when several jobs are due,
never twice at once, and a failure waits for the next interval rather than stopping the rest."""

from __future__ import annotations

import asyncio

from pricefeed.jobs.background import Background, Job


async def until(condition, tries: int = 2000) -> None:
    """Until the condition holds; the bound (50 s of polls) only stops a hang."""
    for _ in range(tries):
        if condition():
            return
        await asyncio.sleep(0.025)
    raise AssertionError("the background jobs did not get there")


async def test_jobs_due_together_run_highest_priority_first_and_never_twice_at_once():
    release = asyncio.Event()
    running = {"hold": 0}

    async def hold():
        running["hold"] += 1
        assert running["hold"] == 1  # never two runs of one job at once
        await release.wait()
        running["hold"] -= 1

    async def nothing():
        pass

    background = Background(
        [
            Job("hold", 60.0, 0, hold, first=0.0),  # takes the only worker...
            Job("low", 60.0, 1, nothing, first=0.1),  # ...while these two come due
            Job("high", 60.0, 9, nothing, first=0.1),
        ],
        tick=0.02,
    )
    background.start()
    beat = asyncio.create_task(background.run())
    try:
        await until(lambda: background.waiting() == 2)
        assert not background.queue("hold")  # running: not queued again
        release.set()
        await until(lambda: len(background.recent) == 3)
    finally:
        beat.cancel()
        await asyncio.to_thread(background.stop)
    assert list(background.recent) == ["hold", "high", "low"]
    assert background.ran == {"hold": 1, "high": 1, "low": 1}


async def test_a_failing_job_runs_again_when_next_due_and_the_others_go_on():
    calls = {"flaky": 0, "steady": 0}

    async def flaky():
        calls["flaky"] += 1
        if calls["flaky"] == 1:
            raise RuntimeError("first run fails")

    async def steady():
        calls["steady"] += 1

    background = Background(
        [Job("flaky", 0.1, 5, flaky, first=0.0), Job("steady", 0.1, 1, steady, first=0.0)],
        tick=0.02,
    )
    background.start()
    beat = asyncio.create_task(background.run())
    try:
        await until(lambda: background.ran["flaky"] >= 1 and background.ran["steady"] >= 2)
    finally:
        beat.cancel()
        await asyncio.to_thread(background.stop)
    assert background.failed == {"flaky": 1}
    assert calls["flaky"] >= 2


async def test_the_service_re_ranks_flushes_and_samples_through_its_background_queue(service):
    cache = {"flush_interval": 0.2, "retier_interval": 0.2}
    async with service(cache=cache) as client:
        background = client.app.state.services.background
        assert (await client.get("/price/devchain/WETH/USDC")).status_code == 200
        await until(lambda: all(background.ran[j] >= 1 for j in ("retier", "prewarm", "flush")))
        figures = (await client.get("/metrics")).json()["background"]
    assert {"retier", "prewarm", "flush", "alerts", "sample", "prune"} == set(figures["jobs"])
    assert figures["jobs"]["retier"]["ran"] >= 1
    assert all(job["failed"] == 0 for job in figures["jobs"].values())
