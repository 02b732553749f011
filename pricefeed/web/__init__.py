"""The HTTP surface: the JSON API, admin, monitoring, the dashboard and the server."""
