"""A per-request model choice (aigc_demo/model_choice.py): the candidates (the configured model,
what an OpenAI-compatible server lists at /v1/models, the preset's own local model), the check at
the door, the record naming the model used, the playground's dropdown and /list_models, and an
arena comparison of two models. Against the protocol test server (tests/remote_server.py)."""

from __future__ import annotations

import pytest

from conftest import free_port, running_app
from remote_server import MODELS, ProtocolServer, Serving

from aigc_demo.core.types import TextRequest, ValidationError
from aigc_demo.studio import RunContext


@pytest.fixture(scope="module")
def protocol(tiny_cache):
    with Serving(ProtocolServer(tiny_cache), free_port()) as serving:
        yield serving


@pytest.fixture
def remote_text(make_studio, protocol):
    """A tiny Studio whose text is ``openai:echo`` on the protocol server."""
    protocol.server.list_status = None
    yield make_studio(models={"text": "openai:echo"}, base_urls={"text": protocol.url})
    protocol.server.list_status = None


def refused(modality: str, model: str, refs: list[str], note: str = "") -> str:
    listed = ", ".join(refs)
    return (f"model: {model!r} is not a {modality} model this app offers; choose one of: {listed} · "
            f"{model!r} 不是本应用提供的 {modality} 模型；可选：{listed}" + (f" — {note}" if note else ""))


SERVED = ["openai:" + m for m in MODELS]


# ---------------------------------------------------------------- the studio


def test_the_candidates_are_the_configured_model_then_the_servers_list(remote_text, protocol):
    found = remote_text.model_choices("text")
    assert found.default == "openai:echo" and list(found.refs) == SERVED and found.note == ""
    before = protocol.server.listings
    assert remote_text.model_choices("text").refs == found.refs
    assert protocol.server.listings == before, "the list is kept for a while, not asked again"
    remote_text.model_choices("text", refresh=True)
    assert protocol.server.listings == before + 1


def test_the_chosen_model_reaches_the_server_and_the_record_names_it(remote_text, protocol):
    for chosen in ("openai:reverse", "reverse"):  # the full reference, or the server's own name
        result = remote_text.run("text", TextRequest(prompt="one two three", seed=3),
                                 context=RunContext(model=chosen))
        assert protocol.server.requests[-1]["model"] == "reverse"
        assert result.text == "three two one"
        record = remote_text.store.get_record(result.record_id)
        assert (record.model_ref, record.device) == ("openai:reverse", f"remote {protocol.url}")
        assert f"server {protocol.url}, model reverse" in record.notes
    default = remote_text.run("text", TextRequest(prompt="one two three"))
    assert (protocol.server.requests[-1]["model"], default.text, default.model_ref) == ("echo", "one two three", "openai:echo")


def test_an_unknown_model_is_refused_at_the_door_with_the_choices(remote_text, protocol):
    sent = len(protocol.server.requests)
    with pytest.raises(ValidationError) as caught:
        remote_text.run("text", TextRequest(prompt="hello"), context=RunContext(model="openai:nope"))
    assert str(caught.value) == refused("text", "openai:nope", SERVED)
    assert caught.value.field == "model"
    assert len(protocol.server.requests) == sent, "nothing reached the server"


def test_a_server_that_cannot_list_leaves_the_configured_model(remote_text, protocol):
    protocol.server.list_status = 503
    found = remote_text.model_choices("text", refresh=True)
    note = (f"The text server at {protocol.url} failed with HTTP 503 (not retried). This is a problem on the server's "
            "side; try again later or tell its operator.")
    assert found.refs == ("openai:echo",) and found.note.startswith(note)
    result = remote_text.run("text", TextRequest(prompt="still here"))  # the default needs no list
    assert (protocol.server.requests[-1]["model"], result.text) == ("echo", "still here")
    with pytest.raises(ValidationError) as caught:
        remote_text.run("text", TextRequest(prompt="x"), context=RunContext(model="openai:reverse"))
    assert str(caught.value) == refused("text", "openai:reverse", ["openai:echo"], found.note)


def test_a_server_that_is_down_is_named_and_the_app_builds(make_studio):
    url = f"http://127.0.0.1:{free_port()}/v1"
    studio = make_studio(models={"text": "openai:echo"}, base_urls={"text": url})
    found = studio.model_choices("text")
    assert found.refs == ("openai:echo",)
    assert found.note.startswith(f"Cannot reach the text server at {url}: the connection was refused.")
    assert studio.choose("text", "") == "" and studio.choose("text", "openai:echo") == ""


def test_the_app_is_built_without_listing_models(make_studio, protocol):
    """The dropdowns and the System tab's status (which asks each server's health) are filled
    when a page loads, never while the app is built: the app starts as fast with a server down."""
    from aigc_demo.ui import build_app

    studio = make_studio(models={"text": "openai:echo"}, base_urls={"text": protocol.url})
    asked: list[str] = []
    listing = studio.model_choices
    studio.model_choices = lambda modality, refresh=False: asked.append(modality) or listing(modality, refresh)
    health = studio.remote_health
    studio.remote_health = lambda: asked.append("health") or health()
    demo = build_app(studio)
    assert asked == []
    assert "/list_models" in demo.get_api_info()["named_endpoints"]


def test_a_playground_rerun_fills_the_model_the_record_names(remote_text):
    import gradio as gr

    from aigc_demo.core.params import PARAMS
    from aigc_demo.ui.i18n import Translator
    from aigc_demo.ui.playground import PlaygroundTabs
    from aigc_demo.ui.review_bar import ReviewBars
    from aigc_demo.ui.runs import SessionRuns

    chosen = remote_text.run("text", TextRequest(prompt="a b"), context=RunContext(model="reverse"))
    default = remote_text.run("text", TextRequest(prompt="a b"))
    t = Translator([], {m: remote_text.params(m) for m in PARAMS})
    with gr.Blocks():
        with gr.Tabs() as tabs:
            targets = PlaygroundTabs(remote_text, t, SessionRuns(), ReviewBars(remote_text, t)).render(tabs)
    target = targets["playground-text"]
    assert target.components[-1].elem_id == "model-choice-text"
    assert target.values(remote_text.store.get_record(chosen.record_id))[-1] == "openai:reverse"
    assert target.values(remote_text.store.get_record(default.record_id))[-1] == ""


def test_local_choices_are_the_preset_model_only_and_load_under_their_own_key(make_studio, tiny_model):
    folder = str(tiny_model("text"))
    studio = make_studio(models={"text": folder})  # the operator replaced the preset's tiny:text
    assert studio.model_choices("text").refs == (folder, "tiny:text")
    with pytest.raises(ValidationError) as caught:
        studio.choose("text", "Qwen/Qwen2.5-0.5B-Instruct")  # a link must not make the server download
    assert str(caught.value) == refused("text", "Qwen/Qwen2.5-0.5B-Instruct", [folder, "tiny:text"])
    mine = studio.run("text", TextRequest(prompt="hello", max_new_tokens=4, seed=1))
    preset = studio.run("text", TextRequest(prompt="hello", max_new_tokens=4, seed=1), context=RunContext(model="tiny:text"))
    assert (mine.model_ref, preset.model_ref) == (folder, "tiny:text")
    assert studio.store.get_record(preset.record_id).model_ref == "tiny:text"
    loaded = {entry["key"]: entry["model"] for entry in studio.manager.status()["loaded"]}
    assert loaded == {"text": folder, "text@tiny:text": "tiny:text"}
    assert studio.is_loaded("text") and studio.is_loaded("text", "tiny:text")


# ---------------------------------------------------------------- the arena


def test_an_arena_comparison_of_two_models_records_both(remote_text, protocol):
    from aigc_demo.arena.compare import run_comparison
    from aigc_demo.record.arena import get_comparison

    comparison, sides = run_comparison(remote_text, {}, "playground", {"prompt": "red green blue"},
                                       {"model": "echo", "seed": 1}, {"model": "openai:reverse", "seed": 1}, shown="ab")
    assert (comparison.variant_a["model"], comparison.variant_b["model"]) == ("openai:echo", "openai:reverse")
    assert (sides["A"].text, sides["B"].text) == ("red green blue", "blue green red")
    records = [remote_text.store.get_record(comparison.record_a), remote_text.store.get_record(comparison.record_b)]
    assert [r.model_ref for r in records] == ["openai:echo", "openai:reverse"]
    stored = get_comparison(remote_text.store, comparison.id)
    assert (stored.variant_a["model"], stored.variant_b["model"]) == ("openai:echo", "openai:reverse")
    with pytest.raises(ValidationError) as caught:
        run_comparison(remote_text, {}, "playground", {}, {"model": "echo"}, {"model": "nope"})
    assert str(caught.value) == "variant_b." + refused("text", "nope", SERVED)


def test_an_industry_comparison_runs_each_side_on_its_model(remote_text, protocol):
    from aigc_demo.arena.compare import run_comparison
    from aigc_demo.industries import load_scenarios

    scenarios = {s.id: s for s in load_scenarios()}
    comparison, sides = run_comparison(remote_text, scenarios, "retail", None, {"model": "echo"},
                                       {"model": "reverse"}, shown="ab")
    models = [remote_text.store.get_record(r).model_ref for r in (comparison.record_a, comparison.record_b)]
    assert models == ["openai:echo", "openai:reverse"]
    assert sides["A"].text != sides["B"].text


# ---------------------------------------------------------------- the app: API and page


@pytest.fixture(scope="module")
def remote_app(protocol, tmp_path_factory, app_cache):
    data_dir = tmp_path_factory.mktemp("model-choice-app")
    args = ["--preset", "tiny", "--text-model", "openai:echo", "--text-base-url", protocol.url]
    with running_app(data_dir, data_dir / "app.log", {"AIGC_CACHE_DIR": str(app_cache)}, args) as (url, _):
        yield url


@pytest.fixture(scope="module")
def client(remote_app):
    from gradio_client import Client

    return Client(remote_app, analytics_enabled=False, verbose=False)


@pytest.mark.slow
def test_list_models_names_the_default_and_the_servers_models(client):
    listed = client.predict(api_name="/list_models")
    assert listed["text"] == {"default": "openai:echo", "models": SERVED, "note": ""}
    assert listed["image"] == {"default": "tiny:image", "models": ["tiny:image"], "note": ""}
    assert list(client.predict("audio", api_name="/list_models")) == ["audio"]


@pytest.mark.slow
def test_generate_text_runs_the_chosen_model_and_refuses_others(client, protocol):
    from gradio_client.exceptions import AppError

    text, _, details = client.predict(prompt="alpha beta gamma", model="openai:reverse", api_name="/generate_text")
    assert (text, details["model"], protocol.server.requests[-1]["model"]) == ("gamma beta alpha", "openai:reverse", "reverse")
    record = client.predict(scenario="playground", modality="text", api_name="/list_outputs")[0]
    assert (record["model_ref"], record["device"]) == ("openai:reverse", f"remote {protocol.url}")
    text, _, details = client.predict(prompt="alpha beta gamma", api_name="/generate_text")  # model left out
    assert (text, details["model"]) == ("alpha beta gamma", "openai:echo")
    with pytest.raises(AppError) as caught:
        client.predict(prompt="x", model="openai:nope", api_name="/generate_text")
    assert str(caught.value) == refused("text", "openai:nope", SERVED)


@pytest.mark.slow
@pytest.mark.browser
def test_the_dropdown_is_filled_on_load_and_its_choice_runs(browser, remote_app, protocol):
    from playwright.sync_api import expect

    from conftest import open_page

    context, page = open_page(browser, remote_app, "en-US")
    try:
        page.get_by_role("tab", name="Playground", exact=True).click()
        page.get_by_role("tab", name="Text", exact=True).click()
        panel = page.locator("[role=tabpanel]:has(#text-output)").last
        panel.locator("#model-choice-text input").click()  # its options came from the server's /v1/models
        page.get_by_role("option", name="openai:reverse", exact=True).click()
        panel.get_by_label("Prompt", exact=True).fill("left middle right")
        panel.get_by_role("button", name="Generate").click()
        expect(page.locator("#text-output textarea")).to_have_value("right middle left")
        assert protocol.server.requests[-1]["model"] == "reverse"
    finally:
        context.close()
