"""The interactive API docs at /schema: Swagger UI from the app's own files, never a CDN.

Litestar's Swagger page starts the UI with an inline script holding the whole document; our
CSP forbids inline scripts, so the page here loads the document by URL from a served script.
"""

from __future__ import annotations

from html import escape
from typing import Any

from litestar import Request
from litestar.openapi.plugins import SwaggerRenderPlugin

VENDOR = "/static/vendor"


class OfflineSwagger(SwaggerRenderPlugin):
    """Swagger UI (the `swagger-ui-dist` npm package, installed by `make setup`)."""

    def __init__(self, path: str | list[str]) -> None:
        super().__init__(
            js_url=f"{VENDOR}/swagger-ui-bundle.js",
            css_url=f"{VENDOR}/swagger-ui.css",
            standalone_preset_js_url=f"{VENDOR}/swagger-ui-standalone-preset.js",
            path=path,
            favicon="<link rel='icon' href='data:,'>",  # the default is fetched from a CDN
        )

    def render(self, request: Request, openapi_schema: dict[str, Any]) -> bytes:
        title = escape(openapi_schema["info"]["title"])
        spec = escape(self.get_openapi_json_route(request), quote=True)
        return f"""<!DOCTYPE html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>{title} API</title>
  {self.favicon}
  <link rel="stylesheet" href="{self.css_url}">
  {self.style}
  <script src="{self.js_url}" defer></script>
  <script src="/static/api-docs.js" defer></script>
</head>
<body><div id="swagger-ui" data-spec="{spec}"></div></body>
</html>
""".encode()
