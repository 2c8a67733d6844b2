"""Every scenario and generator as an MCP tool (--mcp / AIGC_MCP), behind the UI's login."""

from __future__ import annotations

import asyncio
import base64
import json
import urllib.error
import urllib.request
from typing import Any

import pytest

from aigc_demo.industries import load_scenarios
from aigc_demo.settings import from_args
from aigc_demo.ui.mcp_tools import scenario_docstring

USER, PASSWORD = "ann", "mcp-test-password"
GENERATORS = ["generate_text", "generate_image", "generate_audio", "generate_video"]


def test_flag_and_environment_turn_mcp_on():
    assert from_args(["--preset", "tiny"], env={}).mcp is False
    assert from_args(["--preset", "tiny", "--mcp"], env={}).mcp is True
    assert from_args(["--preset", "tiny"], env={"AIGC_MCP": "yes"}).mcp is True
    with pytest.raises(ValueError, match="AIGC_MCP"):
        from_args(["--preset", "tiny"], env={"AIGC_MCP": "maybe"})


def test_each_scenario_documents_every_parameter_the_way_gradio_reads_it():
    from gradio.utils import get_function_description

    from aigc_demo.ui.runs import with_request_args

    for scenario in load_scenarios():
        def run(*args: Any) -> None: ...

        run.__doc__ = scenario_docstring(scenario)  # as ScenarioTab._handler makes it
        handler = with_request_args(run, [f.name for f in scenario.fields] + ["seed"], scenario.api_name)
        description, parameters, _ = get_function_description(handler)
        assert description.startswith(f"{scenario.title.en} ({scenario.title.zh}).")
        assert scenario.description.en.split(".")[0] in description
        for field in scenario.fields:
            assert field.label.en in parameters[field.name], (scenario.id, field.name)
            for choice in field.choices:
                assert repr(choice.value) in parameters[field.name]
        assert "seed" in parameters


def _basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def _post_status(url: str, authorization: str | None) -> tuple[int, str]:
    request = urllib.request.Request(url, data=b"{}", method="POST",
                                     headers={"content-type": "application/json", "accept": "application/json, text/event-stream",
                                              **({"authorization": authorization} if authorization else {})})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


async def _session_calls(url: str, tool: str, arguments: dict[str, Any], login: bool) -> tuple[list[Any], Any]:
    """List the tools and call one, as an MCP client does (HTTP Basic credentials when ``login``)."""
    import httpx
    from mcp import ClientSession
    from mcp.client.streamable_http import streamable_http_client

    async with httpx.AsyncClient(auth=(USER, PASSWORD) if login else None, timeout=httpx.Timeout(600)) as http:
        async with streamable_http_client(url, http_client=http) as (read, write, _):
            async with ClientSession(read, write) as session:
                await session.initialize()
                tools = (await session.list_tools()).tools
                result = await session.call_tool(tool, arguments)
    return tools, result


@pytest.mark.slow
def test_tools_are_listed_and_retail_copy_runs_through_an_mcp_client(tmp_path, app_cache):
    """``python app.py --preset tiny --mcp``: the tools, their docs, and /retail_copy run and recorded."""
    from conftest import running_app

    from aigc_demo.record import ReviewStore

    data = tmp_path / "data"
    with running_app(data, tmp_path / "server.log", {"AIGC_MCP": "1", "AIGC_CACHE_DIR": str(app_cache)}) as (url, _):
        tools, result = asyncio.run(_session_calls(f"{url}gradio_api/mcp/", "retail_copy",
                                                   {"tone": "playful", "seed": 7}, login=False))

    by_name = {tool.name: tool for tool in tools}
    scenarios = load_scenarios()
    assert {s.api_name for s in scenarios} | set(GENERATORS) <= set(by_name)
    retail = next(s for s in scenarios if s.api_name == "retail_copy")
    tool = by_name["retail_copy"]
    assert tool.description.startswith(f"{retail.title.en} ({retail.title.zh}).")
    properties = tool.inputSchema["properties"]
    for field in retail.fields:
        assert field.label.en in properties[field.name]["description"]
    assert properties["tone"]["enum"] == [c.value for c in next(f for f in retail.fields if f.name == "tone").choices]
    assert by_name["generate_image"].description.startswith("Generate image")
    assert by_name["generate_image"].inputSchema["properties"]["prompt"]["type"] == "string"

    assert not result.isError, result.content
    texts = [item.text for item in result.content if item.type == "text"]
    assert texts and len(texts[0]) > 20  # the copy (tiny random weights: gibberish, but text)
    copy_title = next(t for t in retail.tasks if t.name == "copy").title.en
    assert any(copy_title in text and "seed 7" in text for text in texts)  # the run's status line
    with ReviewStore(data) as store:  # the run was recorded like one from the UI
        rows = store.list_outputs(scenario="retail")
    assert {row["task"] for row in rows} == {task.name for task in retail.tasks}
    assert all(row["seed"] == 7 and row["params"] for row in rows)


@pytest.mark.slow
def test_with_a_login_the_tools_need_the_same_login_as_the_ui(tmp_path, app_cache):
    from conftest import running_app

    from aigc_demo.record import ReviewStore

    data = tmp_path / "data"
    env = {"AIGC_MCP": "1", "AIGC_AUTH": f"{USER}:{PASSWORD}", "AIGC_CACHE_DIR": str(app_cache)}
    with running_app(data, tmp_path / "server.log", env) as (url, _):
        endpoint = f"{url}gradio_api/mcp/"
        # nobody, or a wrong password, is refused with a clear message
        for authorization in (None, _basic(USER, "wrong password")):
            status, body = _post_status(endpoint, authorization)
            message = json.loads(body)["error"]
            assert status == 401 and "Not authenticated" in message and "未登录" in message
        with pytest.raises(ExceptionGroup) as refused:  # an MCP client without credentials gets nowhere
            asyncio.run(_session_calls(endpoint, "generate_text", {"prompt": "hi"}, login=False))
        assert any("401 Unauthorized" in str(error) for error in refused.value.exceptions)
        tools, result = asyncio.run(_session_calls(endpoint, "generate_text",
                                                   {"prompt": "a bamboo bottle", "max_new_tokens": 8, "seed": 5},
                                                   login=True))
    assert "retail_copy" in {tool.name for tool in tools}
    assert not result.isError, result.content
    with ReviewStore(data) as store:
        [row] = store.list_outputs(modality="text")
    assert row["seed"] == 5 and row["output_text"] == result.content[0].text
