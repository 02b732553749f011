"""Keep API keys that live inside RPC URLs out of logs, exception text, metrics and pages."""

from __future__ import annotations

import logging
import re
import threading
from urllib.parse import urlsplit, urlunsplit

MASK = "***"
# Path segments that look like credentials: long, or mixing letters and digits.
_SECRETISH = re.compile(r"(?=.*\d)[A-Za-z0-9_\-]{12,}|[A-Za-z0-9_\-]{24,}")

_lock = threading.Lock()
_secrets: dict[str, str] = {}  # secret text -> its replacement, longest first when applied


def redact_url(url: str) -> str:
    """https://x.io/v3/KEY?apikey=K -> https://x.io/v3/***?***, and remember what was hidden."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    segments = parts.path.split("/")
    hidden = [s for s in segments if _SECRETISH.fullmatch(s)]
    if parts.query:
        hidden.append(parts.query)
    if parts.username or parts.password:
        hidden.extend(x for x in (parts.username, parts.password) if x)
    path = "/".join(MASK if s in hidden else s for s in segments)
    label = urlunsplit((parts.scheme, host, path, MASK if parts.query else "", ""))
    with _lock:
        _secrets[url] = label
        for secret in hidden:
            _secrets[secret] = MASK
    return label


def scrub(text: str) -> str:
    """Replace every known secret URL or key in `text`."""
    with _lock:
        secrets = sorted(_secrets.items(), key=lambda kv: -len(kv[0]))
    for secret, replacement in secrets:
        if secret in text:
            text = text.replace(secret, replacement)
    return text


_base_factory = logging.getLogRecordFactory()


def _scrub_arg(value):
    if isinstance(value, int | float | bool) or value is None:
        return value
    text = str(value)
    clean = scrub(text)
    return value if clean == text else clean


def _scrubbing_factory(*args, **kwargs) -> logging.LogRecord:
    record = _base_factory(*args, **kwargs)
    if _secrets:
        if isinstance(record.msg, str):
            record.msg = scrub(record.msg)
        if isinstance(record.args, tuple):  # formatters may rely on the args' shape: keep it
            record.args = tuple(_scrub_arg(a) for a in record.args)
        elif isinstance(record.args, dict):
            record.args = {k: _scrub_arg(v) for k, v in record.args.items()}
        if record.exc_info:
            record.exc_text = scrub(logging.Formatter().formatException(record.exc_info))
    return record


def install_log_redaction() -> None:
    """Scrub every log record at creation, whichever library emits it (web3 logs full URIs)."""
    logging.setLogRecordFactory(_scrubbing_factory)
