"""`python -m pricefeed`: the CLI, for processes that start the service themselves."""

from pricefeed.cli import main

main()
