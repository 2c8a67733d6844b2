"""What goes wrong with a model server, in words a user can act on, and when to try again.

Every failure of a remote call (the ``openai`` client, ``huggingface_hub``'s InferenceClient,
or httpx under them) becomes one :class:`RemoteError` whose message is fixed per kind (the
table in the README, checked by tests/test_remote_errors.py), in English and Chinese. The
retry policy lives here too: rate limits (429, honouring ``Retry-After``) and temporary server
errors (500, 502, 503, 504) are tried again a few times before any output reached the user;
timeouts, refused connections, rejected keys and malformed replies are not.
"""

from __future__ import annotations

import email.utils
import time
from dataclasses import dataclass
from typing import Any, Callable, Iterator, TypeVar
from urllib.parse import urlsplit, urlunsplit

from aigc_demo.core.types import CancelToken, StudioError

T = TypeVar("T")
RETRY_STATUSES = (429, 500, 502, 503, 504)
MAX_ATTEMPTS = 3  # the first try and two more
MAX_RETRY_AFTER = 30.0  # a server asking to wait longer than this is not waited for
BACKOFF = (0.5, 1.0)  # seconds before the 2nd and 3rd try when the server names no wait

MESSAGES: dict[str, str] = {
    "timeout": ("The {modality} server at {server} did not answer within {timeout:g} s (timeout). It may be busy "
                "or stuck; try again later, or raise AIGC_REMOTE_TIMEOUT_SECONDS. · "
                "{modality} 模型服务器 {server} 在 {timeout:g} 秒内没有响应（超时）。它可能正忙或已卡住；请稍后重试，"
                "或调大 AIGC_REMOTE_TIMEOUT_SECONDS。"),
    "refused": ("Cannot reach the {modality} server at {server}: the connection was refused. Check that the server "
                "is running and that --{modality}-base-url is right. · "
                "无法连接 {modality} 模型服务器 {server}：连接被拒绝。请确认服务器正在运行，且 --{modality}-base-url 设置正确。"),
    "auth": ("The {modality} server at {server} refused the API key (HTTP {status}). Set AIGC_{upper}_API_KEY "
             "(or {key_env}) to a key this server accepts. · "
             "{modality} 模型服务器 {server} 拒绝了 API 密钥（HTTP {status}）。请把 AIGC_{upper}_API_KEY（或 {key_env}）"
             "设为该服务器接受的密钥。"),
    "rate_limit": ("The {modality} server at {server} is limiting requests (HTTP 429) and still refused after "
                   "{attempts} attempt(s). Please try again in about {wait} s. · "
                   "{modality} 模型服务器 {server} 正在限流（HTTP 429），重试 {attempts} 次后仍被拒绝。请约 {wait} 秒后再试。"),
    "server": ("The {modality} server at {server} failed with HTTP {status} ({tries}). This is a problem on the "
               "server's side; try again later or tell its operator. · "
               "{modality} 模型服务器 {server} 出错（HTTP {status}，{tries_zh}）。这是服务器端的问题；请稍后重试或联系其管理员。"),
    "not_found": ("The {modality} server at {server} has no model or endpoint for '{model}' (HTTP 404). "
                  "Models it serves: {models}. · "
                  "{modality} 模型服务器 {server} 上没有 '{model}' 这个模型或接口（HTTP 404）。它提供的模型：{models}。"),
    "malformed": ("The {modality} server at {server} sent a reply that is not a valid answer ({detail}). Check that "
                  "the base URL points at an OpenAI-compatible API (it usually ends in /v1). · "
                  "{modality} 模型服务器 {server} 返回的内容无效（{detail}）。请确认基础 URL 指向兼容 OpenAI 的接口"
                  "（通常以 /v1 结尾）。"),
    "offline": ("The {modality} backend cannot call {server}: HF_HUB_OFFLINE is set, and huggingface_hub then "
                "refuses every request. Unset HF_HUB_OFFLINE to use hf-inference, or reach an OpenAI-compatible "
                "server with the openai backend. · "
                "{modality} 后端无法访问 {server}：已设置 HF_HUB_OFFLINE，huggingface_hub 会拒绝所有请求。"
                "请取消 HF_HUB_OFFLINE 以使用 hf-inference，或改用 openai 后端访问兼容 OpenAI 的服务器。"),
    "rejected": ("The {modality} server at {server} rejected the request (HTTP {status}): {detail} · "
                 "{modality} 模型服务器 {server} 拒绝了该请求（HTTP {status}）：{detail}"),
}


class RemoteError(StudioError):
    """A remote call failed; ``kind`` is a key of :data:`MESSAGES`, the message is what users see."""

    def __init__(self, kind: str, message: str, status: int | None = None, retry_after: float | None = None):
        self.kind = kind
        self.status = status
        self.retry_after = retry_after
        super().__init__(message)


@dataclass(frozen=True)
class Server:
    """Who a remote backend talks to, as records and messages name it (never with a key)."""

    modality: str
    url: str  # base URL without credentials, query or fragment
    model: str
    timeout: float
    key_env: str = "OPENAI_API_KEY"

    def error(self, kind: str, status: int | None = None, retry_after: float | None = None, **extra: Any) -> RemoteError:
        fields = {"modality": self.modality, "upper": self.modality.upper(), "server": self.url, "model": self.model,
                  "timeout": self.timeout, "key_env": self.key_env, "status": status, **extra}
        return RemoteError(kind, MESSAGES[kind].format(**fields), status, retry_after)


def public_url(url: str) -> str:
    """``url`` without user:password, query or fragment: what may be shown and recorded."""
    parts = urlsplit(url.strip())
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    return urlunsplit((parts.scheme, host, parts.path.rstrip("/"), "", "")) or url


def retry_after_seconds(headers: Any) -> float | None:
    """The server's ``Retry-After`` (seconds or an HTTP date), or None."""
    value = (headers or {}).get("retry-after") if headers is not None else None
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        parsed = email.utils.parsedate_to_datetime(value) if value else None
        return max(0.0, parsed.timestamp() - time.time()) if parsed else None


# ---------------------------------------------------------------- classification


def _status_and_headers(error: BaseException) -> tuple[int | None, Any, str]:
    """(HTTP status, headers, body text) of an HTTP error from openai, huggingface_hub or httpx."""
    response = getattr(error, "response", None)
    status = getattr(error, "status_code", None) or getattr(response, "status_code", None)
    headers = getattr(response, "headers", None)
    try:
        body = response.text if response is not None else ""
    except Exception:  # a streamed response whose body was not read
        body = ""
    return (int(status) if status else None), headers, body


def _is_timeout(error: BaseException) -> bool:
    names = {type(e).__name__ for e in _chain(error)}
    return bool(names & {"APITimeoutError", "TimeoutException", "ReadTimeout", "ConnectTimeout", "WriteTimeout",
                         "PoolTimeout", "TimeoutError", "ReadTimeoutError", "ConnectTimeoutError"})


def _is_connection(error: BaseException) -> bool:
    names = {type(e).__name__ for e in _chain(error)}
    return bool(names & {"APIConnectionError", "ConnectError", "ConnectionRefusedError", "ConnectionError",
                         "RemoteProtocolError", "NewConnectionError"})


def _chain(error: BaseException) -> list[BaseException]:
    seen: list[BaseException] = []
    while error is not None and len(seen) < 8:
        seen.append(error)
        error = error.__cause__ or error.__context__  # type: ignore[assignment]
    return seen


def classify(error: BaseException, server: Server, attempts: int = 1, models: Callable[[], str] | None = None) -> RemoteError:
    """The :class:`RemoteError` users see for ``error`` (already one: unchanged)."""
    if isinstance(error, RemoteError):
        return error
    status, headers, body = _status_and_headers(error)
    if status is None:
        if any(type(e).__name__ == "OfflineModeIsEnabled" for e in _chain(error)):
            return server.error("offline")
        if _is_timeout(error):
            return server.error("timeout")
        if _is_connection(error):
            return server.error("refused")
        return server.error("malformed", detail=_short(f"{type(error).__name__}: {error}"))
    if status in (401, 403):
        return server.error("auth", status)
    if status == 429:
        wait = retry_after_seconds(headers)
        return server.error("rate_limit", status, wait, attempts=attempts, wait=max(1, round(wait or 5)))
    if status >= 500:
        tries = f"{attempts} tries" if attempts > 1 else "not retried"
        tries_zh = f"已尝试 {attempts} 次" if attempts > 1 else "未重试"
        return server.error("server", status, tries=tries, tries_zh=tries_zh)
    if status == 404:
        return server.error("not_found", status, models=(models() if models else "") or "(unknown)")
    return server.error("rejected", status, detail=_short(_error_text(body) or str(error)))


def _error_text(body: str) -> str:
    """The ``error.message`` of an OpenAI-style error body, else the body."""
    import json

    try:
        data = json.loads(body)
    except ValueError:
        return body
    error = data.get("error") if isinstance(data, dict) else None
    if isinstance(error, dict):
        return str(error.get("message") or error)
    return str(error or data.get("detail") or data) if isinstance(data, dict) else body


def _short(text: str, limit: int = 200) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def retryable(error: RemoteError) -> bool:
    return error.status in RETRY_STATUSES


# ---------------------------------------------------------------- the retry policy


def with_retries(call: Callable[[], T], server: Server, cancel: CancelToken | None = None,
                 models: Callable[[], str] | None = None, sleep: Callable[[float], Any] | None = None) -> T:
    """``call()``, tried again on 429/5xx (waiting ``Retry-After`` when given and at most
    :data:`MAX_RETRY_AFTER`, else :data:`BACKOFF`); any failure leaves as a RemoteError."""
    wait_for = sleep or (lambda s: _sleep(s, cancel))
    for attempt in range(1, MAX_ATTEMPTS + 1):
        try:
            return call()
        except StudioError:
            raise
        except Exception as raw:
            error = classify(raw, server, attempt, models)
            if not retryable(error) or attempt == MAX_ATTEMPTS or (cancel is not None and cancel.cancelled):
                raise error from raw
            wait = error.retry_after if error.retry_after is not None else BACKOFF[attempt - 1]
            if wait > MAX_RETRY_AFTER:
                raise error from raw
            wait_for(wait)
    raise AssertionError("unreachable")


def _sleep(seconds: float, cancel: CancelToken | None) -> None:
    """Wait, but return as soon as the run is cancelled."""
    end = time.monotonic() + seconds
    while time.monotonic() < end and not (cancel is not None and cancel.cancelled):
        time.sleep(min(0.05, max(0.0, end - time.monotonic())))


def guarded(chunks: Iterator[T], server: Server) -> Iterator[T]:
    """Iterate a streamed reply; a failure midway (server died, timeout, bad chunk) is a RemoteError."""
    try:
        yield from chunks
    except StudioError:
        raise
    except Exception as raw:
        raise classify(raw, server) from raw
