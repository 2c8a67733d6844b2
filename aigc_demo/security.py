"""Safety and security helpers: secret redaction, session keys, the prompt blocklist, sharing.

Nothing here imports a model library. Secrets (``HF_TOKEN`` and friends, login passwords)
are removed from every message, record and log line with :func:`redact`; a browser session
is known to the rest of the app only by :func:`session_key`, a keyed hash that cannot be
turned back into the session hash Gradio uses to route events; the blocklist rejects
listed terms with a ValidationError that names the field (``aigc_demo.blocklist``).
"""

from __future__ import annotations

import hashlib
import hmac
import io
import os
import re
import secrets
import sys
import threading
import time
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping, TextIO

from aigc_demo.blocklist import Blocklist  # the blocklist has its own module; re-exported here

REDACTED = "[redacted]"

# Environment variables that hold secrets, by exact name or by suffix.
SECRET_ENV_NAMES = frozenset({
    "HF_TOKEN", "HUGGING_FACE_HUB_TOKEN", "HUGGINGFACE_HUB_TOKEN", "HF_API_TOKEN",
    "HUGGINGFACEHUB_API_TOKEN", "AIGC_AUTH", "AIGC_DATABASE_URL",
})  # fmt: skip
SECRET_ENV_SUFFIXES = ("_TOKEN", "_SECRET", "_PASSWORD", "_API_KEY", "_ACCESS_KEY", "_SECRET_KEY")
MIN_SECRET_CHARS = 6  # shorter values ("1", "true") are not worth hiding and would mangle text
# Token shapes worth hiding even when they are not in this process's environment.
TOKEN_PATTERNS = (re.compile(r"\bhf_[A-Za-z0-9]{16,}\b"),)

_registered: set[str] = set()
_registered_lock = threading.Lock()


def register_secret(value: str | None) -> None:
    """Hide ``value`` from now on (e.g. a password read from an auth file)."""
    if value and len(value) >= MIN_SECRET_CHARS:
        with _registered_lock:
            _registered.add(value)


def secret_values(env: Mapping[str, str] | None = None) -> list[str]:
    """The secrets to hide: secret-named environment variables and registered values,
    longest first (so a secret containing another is hidden whole)."""
    env = os.environ if env is None else env
    found = set(_registered)
    for name, value in env.items():
        upper = name.upper()
        if upper in SECRET_ENV_NAMES or upper.endswith(SECRET_ENV_SUFFIXES):
            if upper == "AIGC_AUTH":  # user:password, or a file path (not itself secret)
                value = value.partition(":")[2] if ":" in value and not Path(value).is_file() else ""
            if value and len(value) >= MIN_SECRET_CHARS:
                found.add(value)
    return sorted(found, key=len, reverse=True)


def redact(text: str, env: Mapping[str, str] | None = None) -> str:
    """``text`` with every known secret and token-shaped string replaced by ``[redacted]``."""
    return _redact(text, secret_values(env)) if text else text


def _redact(text: str, secrets: list[str]) -> str:
    for value in secrets:
        if value in text:
            text = text.replace(value, REDACTED)
    for pattern in TOKEN_PATTERNS:
        text = pattern.sub(REDACTED, text)
    return text


def redact_data(value: Any, _secrets: list[str] | None = None) -> Any:
    """Redact every string inside dicts, lists and tuples (keys included). The secrets are
    looked up once per call, not once per string (a record holds hundreds of strings)."""
    secrets = secret_values() if _secrets is None else _secrets
    if isinstance(value, str):
        return _redact(value, secrets) if value else value
    if isinstance(value, dict):
        return {redact_data(k, secrets): redact_data(v, secrets) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(redact_data(v, secrets) for v in value)
    return value


class RedactingStream(io.TextIOBase):
    """A text stream that redacts secrets before writing to the wrapped stream."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream

    def write(self, text: str) -> int:
        self._stream.write(redact(text))
        return len(text)

    def flush(self) -> None:
        self._stream.flush()

    def isatty(self) -> bool:
        return self._stream.isatty()

    def writable(self) -> bool:
        return True

    def fileno(self) -> int:
        return self._stream.fileno()

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return getattr(self._stream, "encoding", "utf-8")

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


def install_log_redaction() -> None:
    """Route this process's stdout and stderr (prints, tracebacks, log handlers created
    afterwards) through :class:`RedactingStream`. Call it first thing in the entry point."""
    if not isinstance(sys.stdout, RedactingStream):
        sys.stdout = RedactingStream(sys.stdout)  # type: ignore[assignment]
    if not isinstance(sys.stderr, RedactingStream):
        sys.stderr = RedactingStream(sys.stderr)  # type: ignore[assignment]


# ---------------------------------------------------------------- sessions

_SESSION_SECRET = secrets.token_bytes(32)  # per process: sessions do not outlive it


def session_key(session_hash: str | None) -> str:
    """The id under which a browser session's runs are recorded and stopped.

    Gradio routes events by the session hash the browser sends, so that hash must never be
    shown to other users (records, /list_outputs, exports): whoever knows it could act as
    that session. This keyed hash identifies the session without revealing it."""
    if not session_hash:
        return ""
    digest = hmac.new(_SESSION_SECRET, session_hash.encode("utf-8"), hashlib.sha256).hexdigest()
    return f"s-{digest[:20]}"


# ---------------------------------------------------------------- logins


class LoginGuard:
    """The login check Gradio calls (``launch(auth=guard)``): passwords compared in constant
    time, and throttled: after ``max_failures`` wrong passwords for one user name within
    ``window`` seconds, that name's logins are refused, right ones too, until those failures
    are ``window`` seconds old (refused attempts are not counted). Unknown names are counted the same way (at most
    ``MAX_NAMES`` names are remembered)."""

    MAX_NAMES = 10_000

    def __init__(self, users: Iterable[tuple[str, str]], max_failures: int = 5, window: float = 300.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._users = {user: password.encode("utf-8") for user, password in users}
        self.max_failures = max_failures
        self.window = window
        self._clock = clock
        self._failures: dict[str, list[float]] = {}
        self._lock = threading.Lock()

    def _recent(self, username: str, now: float) -> list[float]:
        return [t for t in self._failures.get(username, []) if now - t < self.window]

    def locked(self, username: str) -> bool:
        with self._lock:
            return len(self._recent(username, self._clock())) >= self.max_failures

    def __call__(self, username: str, password: str) -> bool:
        now = self._clock()
        expected = self._users.get(username)
        right = hmac.compare_digest(expected or secrets.token_bytes(16), (password or "").encode("utf-8"))
        with self._lock:
            recent = self._recent(username, now)
            if len(recent) >= self.max_failures:
                self._failures[username] = recent
                return False
            if right and expected is not None:
                self._failures.pop(username, None)
                return True
            if username not in self._failures and len(self._failures) >= self.MAX_NAMES:
                self._failures.pop(next(iter(self._failures)))
            self._failures[username] = [*recent, now]
            return False


# ---------------------------------------------------------------- sharing


class UnsafeSharing(Exception):
    """``--share`` without a login: refused unless explicitly allowed."""


PUBLIC_SHARE_WARNING = (
    "WARNING: public share link WITHOUT a login (--allow-public-share). Anyone with the link "
    "can run models on this machine and read every recorded output. Use --auth user:password "
    "(or a file of them, or AIGC_AUTH) unless this is really what you want."
)


def sharing_warnings(share: bool, auth: Any, allow_public_share: bool, host: str = "127.0.0.1") -> list[str]:
    """Loud warnings for a risky but allowed set-up; raises UnsafeSharing for a refused one."""
    warnings = []
    if share and not auth:
        if not allow_public_share:
            raise UnsafeSharing(
                "Refusing to create a public share link without a login: anyone with the link could "
                "use this machine's GPU and read every output. Add --auth user:password (or a file "
                "of user:password lines, or AIGC_AUTH), or pass --allow-public-share if you really "
                "want an open link."
            )
        warnings.append(PUBLIC_SHARE_WARNING)
    if not share and not auth and host not in ("127.0.0.1", "localhost", "::1") and not os.environ.get("SPACE_ID"):
        warnings.append(
            f"WARNING: serving on {host} without a login; every machine that can reach it can use it. "
            "Consider --auth."
        )
    return warnings


__all__ = [
    "REDACTED", "Blocklist", "LoginGuard", "RedactingStream", "UnsafeSharing", "install_log_redaction", "redact",
    "redact_data", "register_secret", "secret_values", "session_key", "sharing_warnings",
]  # fmt: skip
