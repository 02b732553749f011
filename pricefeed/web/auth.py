"""Who may operate the service: the admin token, a server secret for sessions and CSRF tokens,
sign-in attempts throttled, and sessions that end.

Keys come from a random server secret kept in the data directory (or `server.secret`), never
from the admin token: a cookie signed with a key derived from the token would let anyone who
holds one test guesses of the token offline.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import secrets
import time
from dataclasses import dataclass
from pathlib import Path

from cachetools import LRUCache
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from pricefeed.config import ADMIN_TOKEN_VARIABLE, ConfigError, Settings
from pricefeed.errors import OverQuota
from pricefeed.store import Store

log = logging.getLogger(__name__)
SECRET_FILE = "server-secret"
TOKEN_FILE = "admin-token"
MIN_TOKEN_CHARS = 32
EPOCH = "session_epoch"  # server_state row: sessions of an older epoch are over


class TooManyAttempts(OverQuota):
    code = "too_many_attempts"


def data_dir(settings: Settings) -> Path:
    """Where the service keeps its files: beside the SQLite database, else ./var."""
    url = settings.database.url
    if url.startswith("sqlite") and ":///" in url:
        path = url.split(":///", 1)[1]
        if path and path != ":memory:":
            return Path(path).parent
    return Path("var")


def server_secret(settings: Settings) -> bytes:
    """`server.secret`, else 32 random bytes made once in the data directory (mode 0600)."""
    if settings.server.secret:
        return settings.server.secret.encode()
    path = data_dir(settings) / SECRET_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        secret = path.read_bytes()
        if len(secret) < 32:
            raise ConfigError(
                f"{path}: the server secret is damaged; delete the file to make a new one "
                "(everyone signed in is signed out)"
            ) from None
        return secret
    with os.fdopen(fd, "wb") as f:
        f.write(secrets.token_bytes(32))
    return path.read_bytes()


def admin_token(settings: Settings) -> tuple[str, Path | None]:
    """`server.admin_token` (PRICEFEED_ADMIN_TOKEN) when set, and strong; else a random token
    made once in the data directory (mode 0600), so a fresh install can be signed in to.
    Returns the token and its file."""
    if settings.server.admin_token:
        check_admin_token(settings.server.admin_token)
        return settings.server.admin_token, None
    path = data_dir(settings) / TOKEN_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return read_token_file(path), path
    with os.fdopen(fd, "w") as f:
        f.write(secrets.token_urlsafe(32) + "\n")
    return read_token_file(path), path


def read_token_file(path: Path) -> str:
    token = path.read_text().strip()
    if len(token) < MIN_TOKEN_CHARS:
        raise ConfigError(f"{path}: the admin token is damaged; run `pricefeed token --rotate`")
    return token


async def rotate_admin_token(settings: Settings) -> tuple[str, Path]:
    """A new token in the data directory's file, and every session ended (a new epoch)."""
    path = data_dir(settings) / TOKEN_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    fresh = path.with_name(TOKEN_FILE + ".new")
    fresh.unlink(missing_ok=True)
    fd = os.open(fresh, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(secrets.token_urlsafe(32) + "\n")
    os.replace(fresh, path)  # readers see the old token or the new one, never half of one
    db = settings.database
    store = Store(db.url, db.busy_timeout_ms, db.min_free_mb)
    await store.open()
    try:
        await store.set_state(EPOCH, secrets.token_hex(8))
    finally:
        await store.close()
    return read_token_file(path), path


def sign_in_url(host: str, port: int, token: str) -> str:
    """The dashboard's sign-in link with the token in it, as Jupyter prints one."""
    if host in ("0.0.0.0", "::", ""):
        host = "127.0.0.1"
    if ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{port}/dashboard/login?token={token}"


def derive(secret: bytes, purpose: str) -> bytes:
    """A 32-byte key for one purpose (HKDF-SHA256), so no two uses share a key."""
    hkdf = HKDF(
        algorithm=hashes.SHA256(), length=32, salt=None, info=f"pricefeed {purpose}".encode()
    )
    return hkdf.derive(secret)


def check_admin_token(token: str) -> None:
    """Set, it must be hard to guess (unset, the token kept in the data directory is used)."""
    if token and (len(token) < MIN_TOKEN_CHARS or token.strip() != token):
        raise ConfigError(
            f"{ADMIN_TOKEN_VARIABLE} must be at least {MIN_TOKEN_CHARS} characters, with no "
            "spaces at either end (make one with: python3 -c 'import secrets; "
            "print(secrets.token_urlsafe(32))'), or unset to use the one kept in the data "
            "directory (`pricefeed token`)"
        )


@dataclass
class _Backoff:
    failures: int = 0
    last: float = 0.0
    until: float = 0.0


class Throttle:
    """Exponential back-off after failed attempts: per client after `free` failures, and for
    everyone after `free_overall` (a guesser with many addresses). Failures are forgotten
    after `forget` seconds of quiet; a success clears the client's."""

    def __init__(
        self,
        free: int = 5,
        free_overall: int = 50,
        base: float = 1.0,
        cap: float = 900.0,
        forget: float = 900.0,
        clock=time.monotonic,
    ):
        self.free, self.free_overall = free, free_overall
        self.base, self.cap, self.forget = base, cap, forget
        self.clock = clock
        self._clients: LRUCache[str, _Backoff] = LRUCache(10_000)
        self._overall = _Backoff()

    def check(self, client: str) -> None:
        """Raise TooManyAttempts while the client (or everyone) has to wait."""
        now = self.clock()
        mine = self._clients.get(client)
        wait = max(self._overall.until, mine.until if mine else 0.0) - now
        if wait > 0:
            raise TooManyAttempts(
                "too many failed attempts: wait before trying again", wait_s(wait)
            )

    def failed(self, client: str) -> None:
        now = self.clock()
        mine = self._clients.get(client) or _Backoff()
        self._clients[client] = mine
        self._count(mine, self.free, now)
        self._count(self._overall, self.free_overall, now)

    def succeeded(self, client: str) -> None:
        self._clients.pop(client, None)

    def _count(self, backoff: _Backoff, free: int, now: float) -> None:
        if now - backoff.last > self.forget:
            backoff.failures = 0
        backoff.failures += 1
        backoff.last = now
        if backoff.failures > free:
            backoff.until = now + min(self.cap, self.base * 2 ** (backoff.failures - free - 1))


def wait_s(seconds: float) -> int:
    return max(1, int(seconds + 0.999))


class Auth:
    """The admin token, the keys derived from the server secret, and the sessions' rules."""

    def __init__(
        self, settings: Settings, token: str, secret: bytes, token_file: Path | None = None
    ):
        self.session_key = derive(secret, "session cookies")
        self.csrf_key = derive(secret, "csrf tokens")
        self._fingerprint_key = derive(secret, "token fingerprint")
        self.token_file = token_file
        self._token_stamp = _stamp(token_file)
        self._use(token)
        self.lifetime = settings.dashboard.session_hours * 3600
        self.epoch = ""
        self.throttle = Throttle()

    def _use(self, token: str) -> None:
        check_admin_token(token)
        self.token = token
        # sessions remember which token signed them in: a new token ends them
        self.fingerprint = hmac.new(
            self._fingerprint_key, token.encode(), hashlib.sha256
        ).hexdigest()

    def reread_token(self) -> None:
        """The token file's current token: `pricefeed token --rotate` runs in another process."""
        stamp = _stamp(self.token_file)
        if stamp is not None and stamp != self._token_stamp:
            self._token_stamp = stamp
            self._use(read_token_file(self.token_file))

    async def load(self, store: Store) -> None:
        """The epoch from the store (another web process on this box may have moved it), and
        the token from its file."""
        self.reread_token()
        self.epoch = await store.state(EPOCH) or ""

    def token_matches(self, given: str) -> bool:
        self.reread_token()
        return bool(self.token) and hmac.compare_digest(given.encode(), self.token.encode())

    def new_session(self, session: dict, now: float) -> dict:
        return {
            "csrf": session.get("csrf") or secrets.token_urlsafe(16),
            "admin": True,
            "at": now,
            "epoch": self.epoch,
            "token": self.fingerprint,
        }

    def signed_in(self, session: dict, now: float) -> bool:
        """Signed in with this token, in this epoch, and less than the lifetime ago."""
        return (
            bool(self.token)
            and session.get("admin") is True
            and session.get("token") == self.fingerprint
            and session.get("epoch") == self.epoch
            and 0 <= now - float(session.get("at", 0)) < self.lifetime
        )

    async def end_sessions(self, store: Store) -> None:
        """Sign everyone out: a session is a signed cookie, so it ends by its epoch passing.
        One epoch for all rather than a list of revoked sessions: there is one operator
        identity (the token), and nothing to keep or prune. A fresh random value, not a
        count: a process with an older view of the count could write a value already used."""
        self.epoch = secrets.token_hex(8)
        await store.set_state(EPOCH, self.epoch)

    def csrf_token(self, nonce: str) -> str:
        """The form token of a session: bound to its nonce, so no other session's works."""
        return hmac.new(self.csrf_key, nonce.encode(), hashlib.sha256).hexdigest()

    def csrf_ok(self, session: dict, given: str) -> bool:
        nonce = session.get("csrf")
        return bool(nonce) and hmac.compare_digest(given.encode(), self.csrf_token(nonce).encode())


def _stamp(path: Path | None) -> tuple[int, int] | None:
    if path is None:
        return None
    try:
        st = path.stat()
    except FileNotFoundError:
        return None
    return st.st_mtime_ns, st.st_ino  # a rotation replaces the file: a new inode
