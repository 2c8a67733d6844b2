"""The offline preset, as a new user meets it with no network: real text (Qwen2.5-Coder-0.5B
through llama.cpp) answers the industry scenarios' worked examples in the asked language,
without echoing the prompt or looping, in parts that parse. Slow: real model, real CPU."""

from __future__ import annotations

import re

import pytest

from aigc_demo.backends import create
from aigc_demo.core.quality import FLAG, echoed_span, repeated_run
from aigc_demo.industries import load_scenarios
from aigc_demo.scenarios.runner import run_scenario
from aigc_demo.settings import from_env
from aigc_demo.studio import Studio

offline_text = create("text", "gguf:qwen2.5-coder-0.5b-instruct")
pytestmark = [pytest.mark.slow, pytest.mark.skipif(bool(offline_text.missing()), reason=offline_text.missing() or "")]
INVENTED = re.compile(r"fracture|pneumothorax|metasta|carcinoma|cancer|tumou?r|embolism|lymphoma", re.I)


@pytest.fixture(scope="module")
def studio(tmp_path_factory):
    env = {"AIGC_PRESET": "offline", "AIGC_DATA_DIR": str(tmp_path_factory.mktemp("offline")), "AIGC_THREADS": "1"}
    studio = Studio(from_env(env))
    yield studio
    studio.manager.close()


@pytest.fixture(scope="module")
def scenarios():
    return {s.id: s for s in load_scenarios()}


def run(studio, scenario, language="en", checked=None):
    """The worked example, run once; every text task in ``checked`` (default: all) is free of
    echo and loops, by the app's own flags and by the checks themselves."""
    values = {} if language == "en" else next(e for e in scenario.examples if e.get("language") == "zh")
    final = list(run_scenario(studio, scenario, values, seed=1))[-1]
    texts = {t.name: final.text[t.name] for t in scenario.tasks if t.generator == "text"}
    for task in scenario.tasks:
        if task.generator != "text" or (checked is not None and task.name not in checked):
            continue
        result = final.results[task.name][0]
        assert not [n for n in result.notes if n.startswith(FLAG)], (task.name, result.notes, texts[task.name])
        prompt = scenario.render(task, values, final.text)
        body = scenario.strip_finish(texts[task.name])
        assert echoed_span(prompt, body) is None and repeated_run(body) is None, (task.name, body)
    return final, texts


def cjk_share(text: str) -> float:
    letters = [ch for ch in text if ch.isalpha()]
    return sum("\u4e00" <= ch <= "\u9fff" for ch in letters) / max(len(letters), 1)


def test_medical_report_restates_the_dictated_findings_and_adds_none(studio, scenarios):
    final, texts = run(studio, scenarios["medical"])
    report = texts["report"]
    assert report.startswith("**Examination**") and "**Findings**" in report and "**Impression**" in report
    for finding in ("nodule", "8 mm", "emphysema"):
        assert finding in report, finding
    assert not INVENTED.search(report) and not INVENTED.search(texts["patient_summary"])
    assert cjk_share(report) < 0.05 and final.files["spoken_summary"]


def test_retail_copy_in_chinese_has_its_four_parts(studio, scenarios):
    final, texts = run(studio, scenarios["retail"], "zh")
    copy = texts["copy"]
    for heading in ("**商品标题**", "**商品描述**", "**核心卖点**", "**广告标语**"):
        assert heading in copy
    assert cjk_share(copy) > 0.8 and final.files["voiceover"]


def test_market_brief_quotes_the_computed_figures(studio, scenarios):
    final, texts = run(studio, scenarios["market"])
    figures = final.computed["market_figures"].variables["figures"]
    quoted = [number for number in re.findall(r"[-+]?\d+\.\d+%?", figures) if number in texts["brief"]]
    assert len(quoted) >= 2 and "not investment advice" in texts["brief"].lower()


def test_maintenance_plan_parses_into_its_task_table(studio, scenarios):
    final, _ = run(studio, scenarios["maintenance"], checked={"plan"})
    parsed = final.parsed["plan"]
    assert parsed.ok and 3 <= len(parsed.value) <= 5
    assert {row.priority for row in parsed.value} <= {"High", "Medium", "Low"}
