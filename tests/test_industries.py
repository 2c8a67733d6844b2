"""Industry plugins: discovered and registered once, each step with its panels; the loader
checks every compute step and parser a YAML names; a new industry is one module + one YAML."""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from aigc_demo import industries
from aigc_demo.core.text import Bilingual
from aigc_demo.scenarios import (
    COMPUTE_STEPS,
    DEFAULT_FOLDER,
    PARSERS,
    Panels,
    PanelSpec,
    ScenarioError,
    register_compute,
    register_parser,
)

# A whole new industry: this module dropped into aigc_demo/industries/ and the YAML below.
BAKERY_PLUGIN = '''
"""Bakery: loaves to bake for the day's orders, and the shopping list read out of the plan."""

from aigc_demo.core.text import Bilingual
from aigc_demo.scenarios import Computed, PanelSpec, Parsed, register_compute, register_parser


def stock_panels(loaves, language):
    return [{"headers": ["Loaves"], "data": [[loaves]]}, f"**{loaves}**"]


@register_compute(
    "bakery_stock", inputs=("orders",), variables=("loaves",),
    panels=(PanelSpec("table", Bilingual(en="Stock", zh="库存")), PanelSpec("markdown", Bilingual(en="Note", zh="说明"))),
    view=stock_panels,
)
def bakery_stock(inputs, language):
    loaves = int(inputs["orders"]) * 2
    return Computed({"loaves": str(loaves)}, data=loaves)


@register_parser("bakery_list", panels=(PanelSpec("markdown", Bilingual(en="List", zh="清单")),),
                 view=lambda parsed, language: [f"{parsed.value} items"])
def bakery_list(text):
    items = [line for line in text.splitlines() if line.startswith("- ")]
    return Parsed(bool(items), len(items), "" if items else "no list")
'''


def bakery_yaml() -> dict:
    return {
        "id": "bakery", "api_name": "bakery_plan", "order": 5,
        "title": {"en": "Bakery", "zh": "烘焙"}, "description": {"en": "Loaves.", "zh": "面包。"},
        "compute": [{"step": "bakery_stock", "inputs": {"orders": "orders"}}],
        "fields": [
            {"name": "orders", "kind": "number", "label": {"en": "Orders", "zh": "订单"}, "default": 10,
             "minimum": 1, "maximum": 100},
            {"name": "language", "kind": "language", "label": {"en": "Language", "zh": "语言"}},
        ],
        "tasks": [{"name": "plan", "generator": "text", "title": {"en": "Plan", "zh": "计划"}, "parse": "bakery_list",
                   "prompt": {"en": "Bake $loaves loaves.", "zh": "烤 $loaves 个面包。"}}],
    }


def write(folder: Path, data: dict, name: str = "bakery.yaml") -> Path:
    path = folder / name
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


@pytest.fixture
def bakery_plugin(tmp_path, monkeypatch):
    """The bakery module placed in the industries package (a second folder on its path)."""
    folder = tmp_path / "plugins"
    folder.mkdir()
    (folder / "zz_bakery.py").write_text(BAKERY_PLUGIN, encoding="utf-8")
    monkeypatch.setattr(industries, "__path__", [*industries.__path__, str(folder)])
    yield "aigc_demo.industries.zz_bakery"
    sys.modules.pop("aigc_demo.industries.zz_bakery", None)
    vars(industries).pop("zz_bakery", None)
    COMPUTE_STEPS.pop("bakery_stock", None)
    PARSERS.pop("bakery_list", None)


# ---------------------------------------------------------------- the shipped plugins


def test_plugins_are_discovered_and_registered_once():
    names = industries.load_plugins()
    assert {"aigc_demo.industries.market", "aigc_demo.industries.maintenance", "aigc_demo.industries.sensors",
            "aigc_demo.industries.service"} <= set(names)
    steps, parsers = dict(COMPUTE_STEPS), dict(PARSERS)
    assert industries.load_plugins() == names  # a second call imports and registers nothing again
    assert COMPUTE_STEPS == steps and PARSERS == parsers
    assert {"market_figures", "sensor_check", "faq_context"} <= set(steps) and "maintenance_table" in parsers


def test_every_shipped_step_and_parser_has_its_panels():
    for scenario in industries.load_scenarios():
        sources = [use.step for use in scenario.pre_steps] + [t.name for t in scenario.tasks if t.parse]
        assert [source for source, _ in scenario.panels()] == sources
        assert all(panels.specs for _, panels in scenario.panels())


def test_without_plugins_the_loader_says_how_to_load_them():
    code = ("import aigc_demo.scenarios as s\n"
            "try:\n    s.load_scenario(s.DEFAULT_FOLDER / 'market.yaml')\n"
            "except s.ScenarioError as error:\n    print(error)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert "market.yaml: compute[0].step" in out and "none is registered" in out, out


def test_scenarios_and_industries_are_small_modules_below_the_ui():
    """Under 600 lines each; no Gradio or torch; the scenarios package never imports the plugins."""
    root = Path(__file__).resolve().parent.parent / "aigc_demo"
    for package in ("scenarios", "industries"):
        for path in sorted((root / package).glob("*.py")):
            text = path.read_text(encoding="utf-8")
            assert len(text.splitlines()) <= 600, path
            nodes = list(ast.walk(ast.parse(text)))
            imported = {alias.name for node in nodes if isinstance(node, ast.Import) for alias in node.names}
            imported |= {node.module for node in nodes if isinstance(node, ast.ImportFrom) and node.module}
            assert not {m.split(".")[0] for m in imported} & {"gradio", "torch"}, path
            assert package == "industries" or not any("industries" in m for m in imported), path


# ---------------------------------------------------------------- names checked at load


@pytest.mark.parametrize(("change", "key", "message"), [
    (lambda d: d["compute"][0].update(step="crystal_ball"), "compute[0].step", "unknown compute step 'crystal_ball'"),
    (lambda d: d["compute"][0].update(step=["market_figures"]), "compute[0].step", "unknown compute step"),
    (lambda d: d["tasks"][0].update(parse="tea_leaves"), "tasks.plan.parse", "unknown parser 'tea_leaves'"),
])
def test_an_unknown_step_or_parser_fails_at_load_with_file_and_key(tmp_path, bakery_plugin, change, key, message):
    data = bakery_yaml()
    change(data)
    with pytest.raises(ScenarioError) as info:
        industries.load_scenario(write(tmp_path, data))
    assert f"bakery.yaml: {key}: {message}" in str(info.value)


def test_the_yaml_fails_at_load_when_its_plugin_module_is_missing(tmp_path):
    with pytest.raises(ScenarioError, match=r"bakery\.yaml: compute\[0\]\.step: unknown compute step 'bakery_stock'"):
        industries.load_scenario(write(tmp_path, bakery_yaml()))


# ---------------------------------------------------------------- a new industry


def test_a_new_industry_is_one_module_and_one_yaml(tmp_path, bakery_plugin):
    for path in DEFAULT_FOLDER.glob("*.yaml"):
        shutil.copy(path, tmp_path)
    write(tmp_path, bakery_yaml())
    loaded = industries.load_scenarios(tmp_path)
    assert bakery_plugin in sys.modules and loaded[0].id == "bakery"
    bakery = loaded[0]
    panels = dict(bakery.panels())
    assert [(source, [spec.kind for spec in p.specs]) for source, p in bakery.panels()] == [
        ("bakery_stock", ["table", "markdown"]), ("plan", ["markdown"])]
    computed = bakery.compute({"orders": 7, "language": "zh"})
    assert bakery.render("plan", {"orders": 7, "language": "zh"}, computed=computed) == "烤 14 个面包。"
    assert panels["bakery_stock"].values(computed["bakery_stock"].data, "zh") == [
        {"headers": ["Loaves"], "data": [[14]]}, "**14**"]
    assert panels["plan"].values(bakery.parse_output("plan", "- rye\n- spelt"), "en") == ["2 items"]


def test_the_app_draws_a_new_industrys_panels(tmp_path, bakery_plugin):
    pytest.importorskip("gradio")
    from aigc_demo.settings import preset_settings
    from aigc_demo.studio import Studio
    from aigc_demo.ui import build_app

    bakery = industries.load_scenario(write(tmp_path, bakery_yaml()))
    studio = Studio(preset_settings("tiny", data_dir=tmp_path / "data", cache_dir=tmp_path / "cache"))
    demo = build_app(studio, [bakery])
    drawn = {block.elem_id: type(block).__name__ for block in demo.blocks.values() if getattr(block, "elem_id", None)}
    assert drawn["bakery-bakery_stock-0"] == "Dataframe" and drawn["bakery-bakery_stock-1"] == "Markdown"
    assert drawn["bakery-plan-0"] == "Markdown"


# ---------------------------------------------------------------- registration


def test_a_step_cannot_be_registered_without_its_panels():
    note = PanelSpec("markdown", Bilingual(en="Note", zh="说明"))
    with pytest.raises(TypeError):
        register_compute("no_panels", inputs=(), variables=())  # type: ignore[call-arg]
    with pytest.raises(ValueError, match="one or more PanelSpec"):
        register_parser("empty_panels", panels=(), view=lambda data, language: [])
    with pytest.raises(ValueError, match="needs a view"):
        register_parser("no_view", panels=(note,), view=None)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="unknown panel kind 'pie'"):
        PanelSpec("pie", Bilingual(en="Pie", zh="饼图"))
    with pytest.raises(ValueError, match="needs x and y"):
        PanelSpec("line", Bilingual(en="Line", zh="折线"))
    with pytest.raises(ValueError, match="2 values for 1 panels"):
        Panels((note,), lambda data, language: ["a", "b"]).values(None, "en")
    assert "no_panels" not in COMPUTE_STEPS and not {"empty_panels", "no_view"} & set(PARSERS)


def test_a_name_is_registered_once():
    industries.load_plugins()
    with pytest.raises(ValueError, match="'market_figures' is already registered"):
        register_compute("market_figures", (), (), panels=(PanelSpec("markdown", Bilingual(en="N", zh="N")),),
                         view=lambda data, language: [""])(lambda inputs, language: None)
