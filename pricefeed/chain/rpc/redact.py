"""Keep API keys that live inside RPC URLs out of logs, exception text, metrics and pages."""

from __future__ import annotations

import logging
import threading
from urllib.parse import parse_qsl, urlsplit

MASK = "***"
SHORTEST_SECRET = 6  # path segments and query values this long or longer are scrubbed from text

_lock = threading.Lock()
_secrets: dict[str, str] = {}  # secret text -> its replacement, longest first when applied


def redact_url(url: str) -> str:
    """https://x.io/v3/KEY?apikey=K -> https://x.io/***: the host only, and remember what was
    hidden. Keys hide in paths of any shape (`/v2/<letters>`), so no path is ever shown."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    hidden_part = url.split(parts.netloc, 1)[-1] if parts.netloc else url
    label = f"{parts.scheme}://{host}" + (f"/{MASK}" if hidden_part.strip("/") else "")
    pieces = [s for s in parts.path.split("/") if len(s) >= SHORTEST_SECRET]
    pieces += [v for _, v in parse_qsl(parts.query) if len(v) >= SHORTEST_SECRET]
    pieces += [x for x in (parts.username, parts.password, parts.query) if x]
    with _lock:
        _secrets[url] = label
        if hidden_part.strip("/"):
            _secrets[hidden_part] = f"/{MASK}"
        for secret in pieces:
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
