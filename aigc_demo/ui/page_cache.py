"""The app's page (``GET /`` and ``HEAD /``) made once per address it is served at, not per visit.

Gradio 6.31 makes the page anew on every visit: a deep copy of the ~840 kB config of ~800 blocks,
a walk through all of it to put the address in front of file URLs, and the HTML around it:
100-150 ms of the server's CPU per visit on 2 cores, against ~8 ms for a bare app. ``launch()``
itself asks for the page (``HEAD /``) before it returns, so the first visitor waited for it to be
made twice (benchmarks/RESULTS.md, issue 15, round five).

:class:`PageCache` (ASGI middleware) keeps the page made for one request and answers later
requests for the same address with it, brotli-compressed once (Gradio sent it uncompressed) and
kept so: ~65 kB of memory per address, not ~1 MB; the few visitors that do not take brotli get it
decompressed (~1 ms). ``HEAD`` gets the same status and headers without the body. The page depends on
the request through its address only (host, forwarding headers, path, query) when nobody logs
in, so it is kept only then, only while the app's config is the one it was made from, only when
Gradio answered 200 without setting a cookie, and for the last ``KEEP`` addresses. Visitors who
ask while a page for their address is being made wait for that one (``launch()``'s own request
and the first visitors arrive together; each making holds ~10 MB of copies at its peak). Once a
page is kept, the C heap's free pages are handed back: the kept page, made last, would otherwise
hold the copies freed under it in the process's memory.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any, Awaitable, Callable

from ..runtime import trim_heap

Message = dict[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[dict[str, Any], Receive, Send], Awaitable[None]]

KEEP = 4  # addresses kept (~65 kB each): local, LAN, share link, a proxy
ADDRESS_HEADERS = (b"host", b"x-forwarded-host", b"x-forwarded-proto", b"x-gradio-server")  # Gradio's root URL
BROTLI_QUALITY = 4  # as Gradio's BrotliMiddleware compresses its .js/.css/.html files
BROTLI_WINDOW = 20  # 1 MiB: a page of ~1 MB compresses as well as with the default 4 MiB, and the
# coders' buffers, which stay in a thread's C heap once freed, are 1 MiB too (RSS -1 MiB measured)
Headers = list[tuple[bytes, bytes]]


@dataclass(frozen=True)
class Page:
    config: Any  # the Blocks config it was made from
    status: int
    headers: Headers  # as sent with ``body``
    body: bytes  # brotli-compressed when there are ``plain_headers``
    plain_headers: Headers | None = None  # Gradio's own, for visitors that do not take brotli

    @classmethod
    def made(cls, config: Any, status: int, headers: Headers, body: bytes) -> Page:
        """The page Gradio answered, compressed if it is one to keep. Gradio compresses only paths
        with a file extension, so it sent the ~1 MB page as it is (~65 kB so)."""
        if status != 200:
            return cls(config, status, headers, body)
        import brotli  # Gradio's dependency

        compressed = brotli.compress(body, quality=BROTLI_QUALITY, lgwin=BROTLI_WINDOW)
        encoded = [(name, value) for name, value in headers if name.lower() not in (b"content-length", b"vary")]
        encoded += [(b"content-encoding", b"br"), (b"vary", b"Accept-Encoding"), (b"content-length", b"%d" % len(compressed))]
        return cls(config, status, encoded, compressed, headers)

    def answer(self, scope: dict[str, Any]) -> tuple[Headers, bytes]:
        """Headers and body for ``scope``: as kept for browsers that take brotli, else decompressed."""
        accepted = b"".join(value for name, value in scope.get("headers", []) if name.lower() == b"accept-encoding")
        if self.plain_headers is None or b"br" in accepted:
            return self.headers, self.body
        import brotli

        return self.plain_headers, brotli.decompress(self.body)


class PageCache:
    """ASGI middleware in front of Gradio's app: the page, made once per address."""

    def __init__(self, app: ASGIApp, keep: int = KEEP) -> None:
        self.app = app
        self.keep = keep
        self.pages: OrderedDict[tuple[Any, ...], Page] = OrderedDict()
        self.making: dict[tuple[Any, ...], asyncio.Future[Page | None]] = {}  # the kept page, or None

    async def __call__(self, scope: dict[str, Any], receive: Receive, send: Send) -> None:
        config = _cacheable_config(scope)
        if config is None:
            await self.app(scope, receive, send)
            return
        key = _address(scope)
        page = self.pages.get(key)
        made = False
        if page is not None and page.config is config:
            self.pages.move_to_end(key)
        elif key in self.making:  # being made for another visitor: that one, if it is kept
            page = await asyncio.shield(self.making[key])
            if page is None:  # not kept (an error, a cookie): Gradio answers this visitor itself
                await self.app(scope, receive, send)
                return
        else:
            page, made = await self._make_and_keep(scope, receive, config, key)
        headers, body = page.answer(scope)
        await send({"type": "http.response.start", "status": page.status, "headers": headers})
        await send({"type": "http.response.body", "body": body if scope["method"] == "GET" else b""})
        if made:
            trim_heap()  # the kept page, made last, would otherwise hold the copies freed under it

    async def _make_and_keep(self, scope: dict[str, Any], receive: Receive, config: Any,
                             key: tuple[Any, ...]) -> tuple[Page, bool]:
        """The page made for ``scope``, and whether it was kept for ``key`` (and handed to the
        visitors who asked while it was made)."""
        making = self.making[key] = asyncio.get_running_loop().create_future()
        try:
            page = await self._make(scope, receive, config)
        except BaseException:
            making.set_result(None)
            raise
        finally:
            del self.making[key]
        kept = page.status == 200 and not any(name == b"set-cookie" for name, _ in page.headers)
        if kept:
            self.pages[key] = page
            while len(self.pages) > self.keep:
                self.pages.popitem(last=False)
        making.set_result(page if kept else None)
        return page, kept

    async def _make(self, scope: dict[str, Any], receive: Receive, config: Any) -> Page:
        """Gradio's answer to the request as a GET, whole."""
        start: Message = {}
        body: list[bytes] = []

        async def keep(message: Message) -> None:
            if message["type"] == "http.response.start":
                start.update(message)
            elif message["type"] == "http.response.body":
                body.append(message.get("body", b""))

        await self.app({**scope, "method": "GET"}, receive, keep)
        # Kept objects made anew now that the making's copies are freed: made among them, even a
        # few small ones would keep Python's memory arenas (1 MiB each) from being given back.
        headers = [(_fresh(name), _fresh(value)) for name, value in start.get("headers", [])]
        return Page.made(config, start.get("status", 500), headers, b"".join(body))


def _fresh(data: bytes) -> bytes:
    return bytes(bytearray(data))


def _cacheable_config(scope: dict[str, Any]) -> Any:
    """The app's config when ``scope`` asks for its page and nobody logs in to see it; else None."""
    if scope["type"] != "http" or scope["method"] not in ("GET", "HEAD"):
        return None
    if scope["path"].rstrip("/") != scope.get("root_path", "").rstrip("/"):
        return None
    app = scope.get("app")
    blocks = getattr(app, "blocks", None)
    if blocks is None or getattr(app, "auth", None) is not None or getattr(app, "auth_dependency", None) is not None:
        return None
    return getattr(blocks, "config", None) or None


def _address(scope: dict[str, Any]) -> tuple[Any, ...]:
    headers = tuple((name, value) for name, value in scope.get("headers", []) if name.lower() in ADDRESS_HEADERS)
    return (scope.get("scheme"), scope.get("server"), scope.get("root_path", ""), scope["path"],
            scope.get("query_string", b""), headers)
