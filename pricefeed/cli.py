"""`pricefeed run | worker | token | quote | devchain | demo | bench | settings`."""

from __future__ import annotations

import asyncio
import json
import logging
import signal
import sys
import threading
from pathlib import Path

import click
import msgspec

from pricefeed.config import ConfigError, describe_settings, load_settings
from pricefeed.errors import PricefeedError
from pricefeed.model import QuoteBody


def _settings():
    try:
        return load_settings()
    except ConfigError as e:
        raise click.ClickException(f"bad configuration: {e}") from None


@click.group()
def main() -> None:
    """Exact DEX quotes, served from a tiered cache."""


@main.command()
@click.option("--host", default=None, help="bind address (default: server.host)")
@click.option("--port", default=None, type=int, help="port (default: server.port)")
def run(host: str | None, port: int | None) -> None:
    """Run the service."""
    from pricefeed.app import create_app
    from pricefeed.logs import configure_logging
    from pricefeed.web.auth import admin_token, sign_in_url
    from pricefeed.web.server import serve

    settings = _settings()
    host = host or settings.server.host
    port = port if port is not None else settings.server.port
    try:
        token, token_file = admin_token(settings)
    except ConfigError as e:
        raise click.ClickException(str(e)) from None
    configure_logging(settings.server.log_level)
    if token_file is not None:  # a token set by the operator is theirs to know
        logging.getLogger("pricefeed").info(
            "dashboard: sign in at %s (the token is kept in %s)",
            sign_in_url(host, port, token),
            token_file,
        )
    serve(create_app, host, port, settings.server)


@main.command()
@click.option("--rotate", is_flag=True, help="replace the token and end every session")
def token(rotate: bool) -> None:
    """Print the dashboard's sign-in token (kept in the data directory as admin-token)."""
    from pricefeed.config import ADMIN_TOKEN_VARIABLE
    from pricefeed.web.auth import admin_token, rotate_admin_token

    settings = _settings()
    if settings.server.admin_token:
        raise click.ClickException(
            f"{ADMIN_TOKEN_VARIABLE} (server.admin_token) is set, and wins over the token file"
        )
    try:
        if rotate:
            value, path = asyncio.run(rotate_admin_token(settings))
            click.echo(f"new token written to {path}; every session has ended", err=True)
        else:
            value, _ = admin_token(settings)
    except ConfigError as e:
        raise click.ClickException(str(e)) from None
    click.echo(value)


@main.command()
def worker() -> None:
    """Run the refresh consumer and tier scheduler as their own process."""
    from pricefeed.jobs.worker import main as run_worker
    from pricefeed.logs import configure_logging

    settings = _settings()
    configure_logging(settings.server.log_level)
    run_worker(settings)


@main.command(context_settings={"ignore_unknown_options": True})
@click.argument("chain")
@click.argument("token_in")
@click.argument("token_out")
@click.argument("amount", default="1")
@click.option("--json", "as_json", is_flag=True, help="print the quote as JSON")
@click.option(
    "--onchain", is_flag=True, help="ask the on-chain quoters instead of computing from pool state"
)
def quote(
    chain: str, token_in: str, token_out: str, amount: str, as_json: bool, onchain: bool
) -> None:
    """Quote AMOUNT (default 1) of TOKEN_IN in TOKEN_OUT on CHAIN: computed exactly from the
    pools' state at the latest block (every route, V2 then V3 included), or with --onchain
    from the on-chain quoters."""
    from pricefeed.chain.engine import QuoteEngine
    from pricefeed.chain.rpc.redact import install_log_redaction

    install_log_redaction()
    engine = QuoteEngine(_settings())

    async def fetch():
        try:
            return await engine.quote(chain, token_in, token_out, amount, from_state=not onchain)
        finally:
            await engine.close()

    try:
        q = asyncio.run(fetch())
    except PricefeedError as e:
        raise click.ClickException(f"{e.code}: {e.message}") from None
    if as_json:
        click.echo(json.dumps(msgspec.to_builtins(QuoteBody.of(q)), indent=2))
        return
    click.echo(
        f"{q.amount_in} {q.token_in.symbol} -> {q.amount_out} {q.token_out.symbol}  on {q.chain} ({q.chain_id})"
    )
    click.echo(f"price  {q.price} {q.token_out.symbol} per {q.token_in.symbol}")
    for hop in q.route:
        fee = f" fee {hop.fee / 10_000:g}%" if hop.fee is not None else ""
        click.echo(f"route  {hop.token_in} -> {hop.token_out}  {hop.dex}{fee}  pool {hop.pool}")
    click.echo(f"block  {q.block_number}  {q.block_hash}")


@main.command()
@click.option("--port", default=8545, show_default=True, help="anvil's port")
@click.option("--block-time", default=2, show_default=True, help="seconds between blocks")
@click.option("--market/--no-market", default=False, help="random swaps every block")
@click.option(
    "--config-out", default="pricefeed.toml", show_default=True, type=click.Path(path_type=Path)
)
def devchain(port: int, block_time: int, market: bool, config_out: Path) -> None:
    """Start anvil with Uniswap V2/V3 and test pools, and write a config that quotes it."""
    from pricefeed.devchain.deploy import deploy
    from pricefeed.devchain.market import Market
    from pricefeed.devchain.node import Anvil

    if config_out.exists() and "written by `pricefeed devchain`" not in config_out.read_text():
        raise click.ClickException(
            f"{config_out} exists and was not written by this command; pass --config-out"
        )
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))  # so `with` stops anvil
    with Anvil(port=port) as anvil:
        deployment = deploy(anvil.url)
        anvil.set_block_time(block_time)
        config_out.write_text(deployment.config_toml(block_time))
        click.echo(f"devchain on {anvil.url} (chain id 31337), config written to {config_out}")
        click.echo("try: pricefeed quote devchain WETH USDC 1.5")
        stop = threading.Event()
        try:
            if market:
                click.echo("market: random swaps every block")
                Market(deployment).run(stop)
            else:
                stop.wait()
        except KeyboardInterrupt:
            pass


@main.command()
@click.option(
    "--dir",
    "home",
    default="var/demo",
    show_default=True,
    type=click.Path(path_type=Path),
    help="where its config, database and logs go",
)
@click.option(
    "--chain-port", default=8545, show_default=True, help="anvil's port (a free one if taken)"
)
def demo(home: Path, chain_port: int) -> None:
    """The devchain with a moving market and the service on it (server.port), with a few
    pairs warmed; Ctrl-C stops everything."""
    from pricefeed.devchain.demo import DemoError
    from pricefeed.devchain.demo import run as run_demo

    click.echo("starting the devchain and deploying Uniswap onto it...")
    try:
        run_demo(home, chain_port, say=click.echo)
    except DemoError as e:
        raise click.ClickException(str(e)) from None
    except KeyboardInterrupt:
        click.echo("stopped")


@main.group(invoke_without_command=True)
@click.option("--rate", default=200.0, show_default=True, help="requests per second (open loop)")
@click.option("--seconds", default=120.0, show_default=True, help="steady-state window")
@click.option("--warmup", default=30.0, show_default=True, help="cold-start window before it")
@click.option(
    "--latency", default="2-5", show_default=True, help="seconds added to each RPC request, LO-HI"
)
@click.option(
    "--rpc-rate-limit",
    default=25.0,
    show_default=True,
    help="RPC requests per second the endpoint answers before 429; 0 for no cap",
)
@click.option("--zipf", default=1.1, show_default=True, help="exponent of the pair popularity")
@click.option(
    "--tail",
    default=30,
    show_default=True,
    help="long-tail tokens added to the devchain (30: 36 tokens, 1,260 directed pairs)",
)
@click.option("--generators", default=1, show_default=True, help="load generator processes")
@click.option(
    "--clients",
    default=1,
    show_default=True,
    help="loopback source addresses the load comes from (the service budgets per client)",
)
@click.option(
    "--realtime/--no-realtime",
    default=True,
    show_default=True,
    help="generator processes ask for real-time priority (SCHED_RR) to keep the schedule",
)
@click.option("--compare/--no-compare", default=False, help="also run a no-cache baseline")
@click.option(
    "--baseline-seconds", default=30.0, show_default=True, help="length of the baseline run"
)
@click.option("--out", default="bench-results", show_default=True, type=click.Path(path_type=Path))
@click.pass_context
def bench(ctx, latency, rpc_rate_limit, compare, out, **figures) -> None:
    """Load the service on the local devchain and report (or run a sub-benchmark)."""
    if ctx.invoked_subcommand is not None:
        return
    from pricefeed.bench.load import Setup
    from pricefeed.bench.load import run as run_load
    from pricefeed.bench.report import table

    low, _, high = latency.partition("-")
    setup = Setup(
        rpc_latency=(float(low), float(high or low)),
        rpc_rate_limit=rpc_rate_limit or None,
        baseline_seconds=figures.pop("baseline_seconds"),
        **figures,
    )
    results = run_load(setup, compare, out)
    click.echo(table(results))
    click.echo(f"\nwritten: {out / 'bench.json'}, {out / 'bench.html'}")


@bench.command("cached")
@click.option(
    "--latency", default="2-5", show_default=True, help="seconds added to each RPC request, LO-HI"
)
@click.option("--requests", default=2000, show_default=True, help="sequential cached requests")
@click.option(
    "--concurrency", default=32, show_default=True, help="keep-alive connections of the load tool"
)
@click.option("--seconds", default=10.0, show_default=True, help="length of each throughput run")
@click.option("--nginx", is_flag=True, help="also measure nginx serving the same bytes")
@click.option("--out", type=click.Path(path_type=Path), help="write the figures as JSON here")
def bench_cached(
    latency: str, requests: int, concurrency: int, seconds: float, nginx: bool, out: Path | None
) -> None:
    """Cached-path latency of a real server behind a slow RPC, and its throughput beside a
    minimal ASGI app (and nginx) answering the same bytes."""
    from pricefeed.bench.cached import run as run_bench
    from pricefeed.bench.cached import throughput_text

    low, _, high = latency.partition("-")
    delay = (float(low), float(high or low))
    figures = run_bench(delay, requests, concurrency, seconds, out, with_nginx=nginx)
    click.echo(json.dumps(figures, indent=2))
    click.echo(throughput_text(figures))


@bench.command("state")
@click.option(
    "--latency", default="2-5", show_default=True, help="seconds added to each RPC request, LO-HI"
)
@click.option("--quotes", default=5000, show_default=True, help="quotes timed from held state")
@click.option("--blocks", default=20, show_default=True, help="blocks followed")
def bench_state(latency: str, quotes: int, blocks: int) -> None:
    """Pool state: loading new pairs, quoting from held state, memory, following."""
    from pricefeed.bench.state import run as run_bench

    low, _, high = latency.partition("-")
    click.echo(json.dumps(run_bench((float(low), float(high or low)), quotes, blocks), indent=2))


@main.command()
def settings() -> None:
    """List every setting with its help text; of a secret, only whether it is set."""
    try:
        loaded = load_settings()
    except ConfigError as e:  # the list helps to mend the configuration: still show it
        loaded = None
        click.echo(f"bad configuration: {e}", err=True)
    for table, keys in describe_settings(loaded).items():
        click.echo(f"[{table}]")
        for key, text in keys.items():
            click.echo(f"  {key:22} {text}")
