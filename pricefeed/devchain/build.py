"""Install the devchain's npm packages and compile our own contracts, idempotently."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).parent
NODE_MODULES = HERE / "node_modules"
BUILD_DIR = HERE / "build"
CONTRACTS_DIR = HERE / "contracts"
ANVIL_BIN = NODE_MODULES / "@foundry-rs" / "anvil-linux-amd64" / "bin" / "anvil"

# Uniswap build artifacts, as the @uniswap/* npm packages ship them.
UNISWAP_ARTIFACTS = {
    "WETH9": "@uniswap/v2-periphery/build/WETH9.json",
    "UniswapV2Factory": "@uniswap/v2-core/build/UniswapV2Factory.json",
    "UniswapV2Pair": "@uniswap/v2-core/build/UniswapV2Pair.json",
    "UniswapV2Router02": "@uniswap/v2-periphery/build/UniswapV2Router02.json",
    "UniswapV3Factory": "@uniswap/v3-core/artifacts/contracts/UniswapV3Factory.sol/UniswapV3Factory.json",
    "UniswapV3Pool": "@uniswap/v3-core/artifacts/contracts/UniswapV3Pool.sol/UniswapV3Pool.json",
    "NonfungiblePositionManager": (
        "@uniswap/v3-periphery/artifacts/contracts/"
        "NonfungiblePositionManager.sol/NonfungiblePositionManager.json"
    ),
    "SwapRouter": "@uniswap/v3-periphery/artifacts/contracts/SwapRouter.sol/SwapRouter.json",
    "QuoterV2": "@uniswap/v3-periphery/artifacts/contracts/lens/QuoterV2.sol/QuoterV2.json",
}


@dataclass(frozen=True)
class Artifact:
    abi: list
    bytecode: str


class DevchainBuildError(RuntimeError):
    pass


def ensure_npm_packages() -> None:
    """Run `npm ci` when node_modules is missing or older than the lock file."""
    lock = HERE / "package-lock.json"
    marker = NODE_MODULES / ".package-lock.json"
    if marker.exists() and marker.stat().st_mtime >= lock.stat().st_mtime and ANVIL_BIN.exists():
        return
    npm = shutil.which("npm")
    if npm is None:
        raise DevchainBuildError("npm is not on PATH: install Node.js (20 or newer) and npm")
    _run([npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"], "npm ci")


def ensure_contracts() -> dict[str, Artifact]:
    """Compile contracts/*.sol with solc-js unless the cached build matches the sources."""
    ensure_npm_packages()
    sources = {p.name: p.read_text() for p in sorted(CONTRACTS_DIR.glob("*.sol"))}
    digest = hashlib.sha256(
        json.dumps([sources, _solc_version()], sort_keys=True).encode()
    ).hexdigest()
    cached = BUILD_DIR / f"contracts-{digest[:16]}.json"
    if not cached.exists():
        BUILD_DIR.mkdir(exist_ok=True)
        for stale in BUILD_DIR.glob("contracts-*.json"):
            stale.unlink()
        cached.write_text(json.dumps(_compile(sources)))
    return {name: Artifact(**a) for name, a in json.loads(cached.read_text()).items()}


def uniswap_artifact(name: str) -> Artifact:
    ensure_npm_packages()
    data = json.loads((NODE_MODULES / UNISWAP_ARTIFACTS[name]).read_text())
    bytecode = data["bytecode"]
    if isinstance(bytecode, dict):  # some builds nest it as {"object": ...}
        bytecode = bytecode["object"]
    return Artifact(abi=data["abi"], bytecode=_hex(bytecode))


def _compile(sources: dict[str, str]) -> dict[str, dict]:
    request = {
        "language": "Solidity",
        "sources": {name: {"content": text} for name, text in sources.items()},
        "settings": {
            "optimizer": {"enabled": True, "runs": 200},
            "evmVersion": "cancun",
            "outputSelection": {"*": {"*": ["abi", "evm.bytecode.object"]}},
        },
    }
    out = _run(
        ["node", str(NODE_MODULES / "solc" / "solc.js"), "--standard-json"],
        "solc-js",
        stdin=json.dumps(request),
    )
    result = json.loads(out[out.index("{") :])  # solc-js may print a notice line first
    errors = [e for e in result.get("errors", []) if e["severity"] == "error"]
    if errors:
        raise DevchainBuildError("\n".join(e["formattedMessage"] for e in errors))
    return {
        name: {"abi": c["abi"], "bytecode": _hex(c["evm"]["bytecode"]["object"])}
        for contracts in result["contracts"].values()
        for name, c in contracts.items()
    }


def _solc_version() -> str:
    return json.loads((NODE_MODULES / "solc" / "package.json").read_text())["version"]


def _hex(code: str) -> str:
    return code if code.startswith("0x") else "0x" + code


def _run(cmd: list[str], what: str, stdin: str | None = None) -> str:
    proc = subprocess.run(cmd, cwd=HERE, input=stdin, capture_output=True, text=True)
    if proc.returncode != 0:
        raise DevchainBuildError(f"{what} failed ({proc.returncode}): {proc.stderr[-2000:]}")
    return proc.stdout
