"""The ASGI entry of a checkout: `uvicorn app:app` or `litestar run` (`pricefeed run` serves
`pricefeed.app:create_app` itself, from any directory)."""

from pricefeed.app import create_app

app = create_app()
