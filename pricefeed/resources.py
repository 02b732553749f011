"""Files the service reads besides its code: templates, static assets, migrations.

In a checkout they sit at the top of the repository; a wheel carries them inside the package
(pyproject's force-include), so an installed `pricefeed run` works from any directory.
"""

from __future__ import annotations

from pathlib import Path

PACKAGE = Path(__file__).resolve().parent


def resource(name: str) -> Path:
    """`name` inside the installed package, else at the top of the checkout."""
    inside = PACKAGE / name
    return inside if inside.exists() else PACKAGE.parent / name
