"""Scenario runs in-process on tiny models: ordering, seeds, limits, computed panels, parsers."""

from __future__ import annotations

import pytest

from aigc_demo.core.types import CancelToken, ValidationError
from aigc_demo.industries import load_scenarios
from aigc_demo.scenarios import model
from aigc_demo.scenarios.runner import run_scenario

from conftest import new_studio


@pytest.fixture(scope="module")
def studio(tmp_path_factory, tiny_cache):
    studio = new_studio(tmp_path_factory.mktemp("runner-data"), tiny_cache)
    yield studio
    studio.manager.close()


@pytest.fixture(scope="module")
def scenarios():
    return {s.id: s for s in load_scenarios()}


def test_retail_runs_every_task_with_one_seed_and_records_the_form(studio, scenarios):
    retail = scenarios["retail"]
    states = list(run_scenario(studio, retail, {}, seed=5))
    final = states[-1]
    assert final.done and set(final.results) == {t.name for t in retail.tasks}
    assert final.text["copy"] and final.files["hero_image"] and final.files["voiceover"] and final.files["promo_clip"]
    records = [studio.store.get_record(r.record_id) for results in final.results.values() for r in results]
    assert {r.seed for r in records} == {5}
    assert all(r.inputs["product_name"] == retail.defaults()["product_name"] and r.inputs["seed"] == 5 for r in records)
    text_record = next(r for r in records if r.modality == "text")
    assert text_record.params["max_new_tokens"] <= studio.settings.scenario_limits["text"]["max_new_tokens"]
    assert len([s for s in states if "copy" in s.text]) > 2  # the copy streamed in several snapshots


def test_market_figures_are_computed_before_the_brief_and_quoted_in_its_prompt(studio, scenarios, monkeypatch):
    market = scenarios["market"]
    checked = []
    real_check = model.check_value
    monkeypatch.setattr(model, "check_value", lambda f, value: checked.append(f.name) or real_check(f, value))
    final = list(run_scenario(studio, market, {}, seed=1))[-1]
    assert checked.count("prices") == 1  # the form is validated once for the whole run (two tasks)
    figures = final.computed["market_figures"].data
    prompt = studio.store.get_record(final.results["brief"][0].record_id).prompt
    from aigc_demo.industries.market import figures_text

    for line in figures_text(figures, "en"):
        assert line.strip() in prompt
    assert "not investment advice" in final.text["brief"].lower()


def test_maintenance_plan_is_parsed_or_says_why(studio, scenarios):
    final = list(run_scenario(studio, scenarios["maintenance"], {}, seed=2))[-1]
    parsed = final.parsed["plan"]
    assert parsed.ok or parsed.problem  # tiny weights write noise: the parser must say it found no table


def test_a_bad_form_value_stops_before_any_model_runs(studio, scenarios):
    with pytest.raises(ValidationError, match="num_scenes"):
        list(run_scenario(studio, scenarios["film"], {"num_scenes": 99}))
    with pytest.raises(ValidationError, match="seed"):
        list(run_scenario(studio, scenarios["film"], {}, seed="abc"))


def test_stop_ends_the_run_early(studio, scenarios):
    cancel = CancelToken()
    states = []
    for state in run_scenario(studio, scenarios["film"], {}, cancel=cancel):
        states.append(state)
        cancel.cancel()
    final = states[-1]
    assert final.done and "⏹️ Stopped" in final.status
    assert "storyboard" not in final.results


def test_the_status_line_says_which_task_runs_for_how_long_and_how_fast(studio, scenarios):
    retail = scenarios["retail"]
    lives = []
    for state in run_scenario(studio, retail, {}, seed=6):
        lives.append(state.lines[-1])
        final = state
    copy, image = (retail.task(name).title.en for name in ("copy", "hero_image"))
    running = [line for line in lives if line.startswith(f"⏳ {copy} (task 1 of 4)")]
    assert running and any(" tokens" in line and "/s" in line and "s left" in line for line in running)
    assert any(line.startswith(f"⏳ {image} (task 2 of 4)") for line in lives)
    assert final.done and final.lines[-1].startswith("⏱️ Finished in") and f" s · seed {final.seed} " in final.lines[-1]


def test_the_status_line_speaks_the_page_language(studio, scenarios):
    """A Chinese page reads the status in Chinese, tasks named by their Chinese titles."""
    retail = scenarios["retail"]
    lives = [state.lines[-1] for state in run_scenario(studio, retail, {"language": "en"}, seed=6, ui_language="zh")]
    copy = retail.task("copy").title.zh
    assert any(line.startswith(f"⏳ {copy}（第 1/4 项）· 已用") for line in lives)
    assert lives[-1].startswith("⏱️ 全部完成") and not any("task" in line or " s " in line for line in lives)


def test_a_structured_task_streams_markdown_and_records_it(studio, scenarios, monkeypatch):
    """The tiny model cannot follow a schema: its text is shown as it is. A JSON answer (as
    llama.cpp gives) is shown as the parts' Markdown while it streams and when recorded."""
    from aigc_demo.core.types import GenerationResult

    medical = scenarios["medical"]
    answer = '{"findings": ["Small nodule, right upper lobe."], "impression": ["Small nodule."], "recommendations": ["CT in 6 months."]}'
    backend = studio.backend("text")

    def stream(model, request, **kwargs):
        # the parts reach the backend as a schema; the patient summary has its own
        text = answer if '"findings"' in request.response_schema else '{"summary": "A small spot was seen."}'
        for end in (20, 60, len(text)):
            yield text[:end]
        yield GenerationResult("text", "tiny", request.seed, {}, text=text)

    monkeypatch.setattr(backend, "stream", stream)
    states = list(run_scenario(studio, medical, {}, seed=1))
    partial = next(s.text["report"] for s in states if s.text.get("report", "").startswith("**Examination**"))
    assert "**Findings**" in partial
    report = states[-1].text["report"]
    assert report.startswith("**Examination**\n\nCT, Chest") and "- Small nodule, right upper lobe." in report
    record = studio.store.get_record(states[-1].results["report"][0].record_id)
    assert record.output_text == report
