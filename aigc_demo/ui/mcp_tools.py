"""Every scenario and generator endpoint as an MCP tool (``--mcp`` / ``AIGC_MCP``).

Gradio's own MCP server (``launch(mcp_server=True)``, the ``gradio[mcp]`` extra) turns each
public API endpoint into a tool named after its handler (``retail_copy``, ``generate_image``)
and reads the tool's description and parameter docs from the handler's docstring:
:func:`scenario_docstring` writes that docstring from the scenario's data (its title,
description and fields). The tools live at ``/gradio_api/mcp/`` (streamable HTTP) and
``/gradio_api/mcp/sse``.

Same login as the UI: with ``--auth``, :class:`McpLogin` refuses MCP requests that carry
neither the browser's login cookie nor HTTP Basic credentials the login accepts (the same
throttled check); Basic credentials become a login session for that request, so the tool call
Gradio makes on the caller's behalf (through its own loopback ``gradio_client``) joins the
queue as that user. The loopback client itself reads the app's config and result stream with a
login of its own (``LOOPBACK_USER``), which never leaves this process.
"""

from __future__ import annotations

import base64
import inspect
import secrets
from typing import Any, Sequence

from ..scenarios import Scenario
from ..scenarios.fields import Field

MCP_PATH = "/gradio_api/mcp"
LOOPBACK_USER = "mcp-loopback"


def _field_line(field: Field) -> str:
    parts = [field.label.en if field.label.en == field.label.zh else f"{field.label.en} ({field.label.zh})"]
    if field.info:
        parts.append(field.info.en)
    if field.choices:
        parts.append("one of: " + ", ".join(repr(c.value) for c in field.choices))
    if field.minimum is not None or field.maximum is not None:
        parts.append(f"from {field.minimum} to {field.maximum}")
    if field.columns:
        parts.append("a table with columns " + ", ".join(c.name for c in field.columns))
    if field.default not in (None, "", [], ()):
        default = field.default if not isinstance(field.default, list) else f"{len(field.default)} example rows"
        parts.append(f"default: {default!r}" if isinstance(default, str) else f"default: {default}")
    return "; ".join(part.rstrip(".") for part in parts)


def scenario_docstring(scenario: Scenario) -> str:
    """The tool description and one ``name: doc`` line per parameter, as Gradio's API page and
    MCP server read a docstring. Every parameter is optional (defaults: a worked example)."""
    tasks = ", ".join(task.title.en for task in scenario.tasks)
    lines = [f"{scenario.title.en} ({scenario.title.zh}). {scenario.description.en.strip()}",
             f"Produces: {tasks}. Every parameter is optional; the defaults are a worked example.", "", "Args:"]
    lines += [f"    {field.name}: {_field_line(field)}" for field in scenario.fields]
    lines.append("    seed: random seed (a whole number; empty or -1 picks one), so a run can be repeated")
    return "\n".join(lines)


def launch_options(enabled: bool) -> dict[str, Any]:
    """The ``launch()`` arguments that serve the MCP tools (none when ``enabled`` is false)."""
    if not enabled:
        return {}
    from starlette.middleware import Middleware

    return {"mcp_server": True, "app_kwargs": {"middleware": [Middleware(McpLogin)]}}


class McpLogin:
    """ASGI middleware: MCP requests need the UI's login when the app has one."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self._sessions: dict[str, str] = {}  # user -> the login token made for their Basic credentials

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        gradio_app = scope.get("app")
        if scope["type"] != "http" or not scope.get("path", "").startswith(MCP_PATH) or gradio_app is None:
            return await self.app(scope, receive, send)
        self._adapt(gradio_app)
        if getattr(gradio_app, "auth", None) is None:
            return await self.app(scope, receive, send)
        headers = dict(scope.get("headers") or [])
        if self._cookie_user(gradio_app, headers) is None:
            user = await self._basic_user(gradio_app, headers)
            if user is None:
                return await _refuse(send)
            token = self._sessions.get(user)
            if token is None or gradio_app.tokens.get(token) != user:  # one session per user, as /login makes
                token = self._sessions[user] = secrets.token_urlsafe(16)
                gradio_app.tokens[token] = user
            cookie = f"access-token-unsecure-{gradio_app.cookie_id}={token}".encode()
            old = headers.get(b"cookie")
            scope = {**scope, "headers": [(k, v) for k, v in scope["headers"] if k != b"cookie"]
                     + [(b"cookie", old + b"; " + cookie if old else cookie)]}
        await self.app(scope, receive, send)

    def _adapt(self, app: Any) -> None:
        """Once: fix how Gradio's MCP server drops State outputs, and (with a login) give it a
        loopback client that can read the login-protected app."""
        server = getattr(app.get_blocks(), "mcp_server_obj", None)
        if server is None or getattr(server, "_aigc_adapted", False):
            return
        server.pop_returned_state = _drop_state_outputs
        server._aigc_adapted = True
        if getattr(app, "auth", None) is None:
            return
        token = secrets.token_urlsafe(16)
        app.tokens[token] = LOOPBACK_USER
        cookies = {f"access-token-unsecure-{app.cookie_id}": token}
        make_default = server._get_or_create_client

        def get_or_create_client() -> Any:  # Gradio calls it in a worker thread
            if server._client_instance is None and server.local_url:
                from gradio_client import Client

                # As Gradio makes it, plus the cookie. A join still carries the caller's own
                # cookie (request headers win over the client's cookie jar), so it runs as them.
                server._client_instance = Client(
                    server.local_url, download_files=False, verbose=False, analytics_enabled=False,
                    ssl_verify=False, _skip_components=False, headers={"x-gradio-user": "mcp"},
                    httpx_kwargs={"cookies": cookies})
            return server._client_instance or make_default()

        server._get_or_create_client = get_or_create_client

    @staticmethod
    def _cookie_user(app: Any, headers: dict[bytes, bytes]) -> str | None:
        cookies = {}
        for part in headers.get(b"cookie", b"").decode("latin-1").split(";"):
            name, _, value = part.strip().partition("=")
            cookies[name] = value
        token = cookies.get(f"access-token-{app.cookie_id}") or cookies.get(f"access-token-unsecure-{app.cookie_id}")
        return app.tokens.get(token) if token else None

    @staticmethod
    async def _basic_user(app: Any, headers: dict[bytes, bytes]) -> str | None:
        scheme, _, encoded = headers.get(b"authorization", b"").decode("latin-1").partition(" ")
        if scheme.lower() != "basic":
            return None
        try:
            user, _, password = base64.b64decode(encoded, validate=True).decode("utf-8").partition(":")
        except (ValueError, UnicodeDecodeError):
            return None
        if callable(app.auth):
            accepted = app.auth(user, password)
            accepted = await accepted if inspect.isawaitable(accepted) else accepted
        else:
            accepted = secrets.compare_digest(str(app.auth.get(user, secrets.token_hex(8))), password)
        return user if accepted else None


def _drop_state_outputs(components: Sequence[Any], data: list[Any]) -> list[Any]:
    """The outputs without the ``gr.State`` ones. Gradio 6.31's own version pops by a shifting
    index and gets one value for a many-output endpoint (``job.result()``, a tuple, in a list)."""
    from gradio.components import State

    if len(components) > 1 and len(data) == 1 and isinstance(data[0], (list, tuple)) \
            and len(data[0]) == len(components):
        data = list(data[0])
    return [value for component, value in zip(components, data) if not isinstance(component, State)]


async def _refuse(send: Any) -> None:
    body = (b'{"error": "Not authenticated: log in (the UI\'s cookie) or send HTTP Basic credentials. '
            b'\\u672a\\u767b\\u5f55\\uff1a\\u8bf7\\u767b\\u5f55\\u6216\\u63d0\\u4f9b HTTP Basic \\u51ed\\u636e\\u3002"}')
    await send({"type": "http.response.start", "status": 401,
                "headers": [(b"content-type", b"application/json"), (b"www-authenticate", b'Basic realm="aigc-studio"'),
                            (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})
