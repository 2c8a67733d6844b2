"""Scenario files, their checks at load time, template rendering and the scene splitter."""

from __future__ import annotations

import copy
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from aigc_demo.core.types import ValidationError
from aigc_demo.industries import load_scenarios
from aigc_demo.scenarios import (
    AI_LABEL,
    DEFAULT_FOLDER,
    ScenarioError,
    load_scenario,
    split,
    split_paragraphs,
    split_scenes,
)


@pytest.fixture(scope="module")
def scenarios():
    return {s.id: s for s in load_scenarios()}


def fake_outputs(scenario, scenes: int = 3) -> dict[str, str]:
    """Text outputs for every text task, shaped like a screenplay so splitters find items."""
    body = "\n\n".join(f"Scene {i}: INT. ROOM {i} - NIGHT\nAction {i}.\nMEI: Line {i}." for i in range(1, scenes + 1))
    return {t.name: body for t in scenario.tasks if t.generator == "text"}


# ---------------------------------------------------------------- the shipped files


def test_three_files_load_in_order(scenarios):
    loaded = load_scenarios()
    assert [s.api_name for s in loaded][:3] == ["retail_copy", "medical_report", "film_script"]
    assert [s.order for s in loaded] == sorted(s.order for s in loaded)
    for s in loaded:
        assert s.title.en and s.title.zh and s.description.en and s.description.zh
        assert len(s.examples) >= 2
        assert s.review_tags and all(t.label.en and t.label.zh for t in s.review_tags)
        assert s.language_field is not None


def test_task_shapes(scenarios):
    retail, medical, film = scenarios["retail"], scenarios["medical"], scenarios["film"]
    assert [(t.name, t.generator) for t in retail.tasks] == [
        ("copy", "text"), ("hero_image", "image"), ("voiceover", "audio"), ("promo_clip", "video")
    ]
    assert {t.generator for t in medical.tasks} == {"text", "audio"}
    assert medical.task("patient_summary").uses == ("report",)
    assert medical.disclaimer is not None and medical.label_outputs
    assert film.task("storyboard").for_each == "scenes:screenplay"
    assert film.task("storyboard").limit == "num_scenes"
    assert film.field("num_scenes").minimum == 1 and film.field("num_scenes").maximum == 6


def test_defaults_and_examples_validate(scenarios):
    for s in scenarios.values():
        defaults = s.defaults()
        assert s.validate_values(defaults) == defaults
        assert s.validate_values({}) == defaults
        for example in s.examples:
            s.validate_values(example)
        assert len(s.example_rows()) == len(s.examples)
        assert all(len(row) == len(s.fields) for row in s.example_rows())
    assert any(ex.get("language") == "zh" for s in scenarios.values() for ex in s.examples)


@pytest.mark.parametrize("language", ["en", "zh"])
def test_render_fills_every_variable(scenarios, language):
    for s in scenarios.values():
        values = {"language": language}
        outputs = fake_outputs(s)
        for task in s.tasks:
            if task.for_each:
                items = s.task_items(task, outputs, values)
                assert items and len(items) <= (s.item_limit(task, values) or len(items))
                prompts = [s.render(task, values, outputs, item=it, index=i) for i, it in enumerate(items, 1)]
            else:
                prompts = [s.render(task, values, outputs)]
            system = s.system_prompt(task, language)
            for text in prompts + ([system] if system else []):
                assert text.strip() and "$" not in text, (s.id, task.name, text)
            params = s.task_params(task, language)
            if task.generator == "audio":
                assert params["voice_preset"].startswith(f"v2/{language}_")


def test_choice_labels_follow_output_language(scenarios):
    retail = scenarios["retail"]
    zh = retail.render("copy", {"language": "zh", "tone": "friendly", "channel": "tmall"}, {})
    en = retail.render("copy", {"language": "en", "tone": "friendly", "channel": "tmall"}, {})
    assert "亲切" in zh and "天猫 / 淘宝" in zh and "简体中文" in zh
    assert "Friendly" in en and "Tmall / Taobao" in en and "friendly" not in en.replace("Friendly", "")
    # image prompts are English whatever the output language
    assert retail.render("hero_image", {"language": "zh"}, {}) == retail.render("hero_image", {"language": "en"}, {})
    medical = scenarios["medical"]
    report_zh = medical.render("report", {"language": "zh", "exam_type": "mri", "sex": "female"}, {})
    assert "磁共振（MRI）" in report_zh and "，女。" in report_zh
    report = next(t for t in medical.tasks if t.name == "report")
    assert [p.label["zh"] for p in report.structure] == ["检查项目", "检查所见", "印象", "建议"]
    assert [p.label["en"] for p in report.structure] == ["Examination", "Findings", "Impression", "Recommendations"]
    assert medical.fixed_parts("report", {"language": "zh", "exam_type": "mri"}) == {"examination": "磁共振（MRI），胸部"}
    assert "58-year-old" in medical.render("report", {}, {})


def test_validate_values_coerces_and_rejects(scenarios):
    film = scenarios["film"]
    assert film.validate_values({"num_scenes": "4"})["num_scenes"] == 4
    assert film.validate_values({"num_scenes": 5.0})["num_scenes"] == 5
    assert film.validate_values({"genre": "科幻"})["genre"] == "sci_fi"  # a label maps to its value
    assert film.validate_values({"language": "Chinese"})["language"] == "zh"
    assert film.language({"language": "zh"}) == "zh" and film.language({}) == "en"
    bad = [
        ({"num_scenes": 7}, "num_scenes"),
        ({"num_scenes": 2.5}, "num_scenes"),
        ({"num_scenes": "many"}, "num_scenes"),
        ({"genre": "western"}, "genre"),
        ({"title": "   "}, "title"),
        ({"title": "x" * 301}, "title"),
        ({"language": "fr"}, "language"),
        ({"budget": 1}, "budget"),
    ]
    for values, name in bad:
        with pytest.raises(ValidationError) as info:
            film.validate_values(values)
        assert info.value.field == name


def test_mapping_views_for_the_ui(scenarios):
    retail = scenarios["retail"]
    assert dict(retail.title) == {"en": retail.title.en, "zh": retail.title.zh}
    assert dict(retail.field("tone").label) == {"en": "Tone", "zh": "语气风格"}
    assert retail.field("tone").choice_pairs("zh")[0] == ("亲切", "friendly")
    assert retail.field("tone").choice_pairs()[0] == ("Friendly · 亲切", "friendly")
    assert retail.field("language").choice_pairs("en") == [("English", "en"), ("Chinese", "zh")]
    assert retail.system_prompt("copy", "zh").startswith("你是") and retail.system_prompt("hero_image", "en") is None


def test_task_params_merge_language_overrides(scenarios):
    film = scenarios["film"]
    assert film.task_params("storyboard", "en")["width"] == 768
    assert film.task_params("narration", "zh")["voice_preset"].startswith("v2/zh_")
    assert scenarios["retail"].task_params("copy", "zh")["max_new_tokens"] == 450


def test_for_each_limit_follows_field(scenarios):
    film = scenarios["film"]
    outputs = fake_outputs(film, scenes=5)
    assert len(film.task_items("storyboard", outputs, {"num_scenes": 2})) == 2
    assert len(film.task_items("storyboard", outputs, {"num_scenes": 6})) == 5
    assert len(film.task_items("shot", outputs, {})) == 1
    prompt = film.render("storyboard", {}, outputs, item="Scene 2: EXT. PIER - DAY", index=2)
    assert prompt.endswith("Scene 2: EXT. PIER - DAY") and prompt.startswith("storyboard frame")
    with pytest.raises(ScenarioError, match="screenplay"):
        film.task_items("storyboard", {}, {})


def test_finish_text_is_idempotent(scenarios):
    medical, film, retail = scenarios["medical"], scenarios["film"], scenarios["retail"]
    for language in ("en", "zh"):
        once = medical.finish_text("Impression: normal.", language)
        assert medical.disclaimer[language] in once and AI_LABEL[language] in once
        assert medical.finish_text(once, language) == once
        assert once.count(medical.disclaimer[language]) == 1
        assert medical.strip_finish(once) == "Impression: normal."
    assert film.finish_text("FADE OUT.", "en") == "FADE OUT."  # no disclaimer, no label
    labelled = retail.finish_text("## Product title\nLamp", "zh")
    assert labelled.endswith(AI_LABEL.zh) and retail.finish_text(labelled, "zh") == labelled
    # earlier outputs reach later prompts without their footer
    summary = medical.render("patient_summary", {}, {"report": medical.finish_text("Findings: none.", "en")})
    assert "Findings: none." in summary and medical.disclaimer.en not in summary


def test_import_does_not_load_model_libraries():
    code = ("import sys, aigc_demo.industries as i; i.load_scenarios(); "
            "print(sorted(m for m in ('torch','transformers','diffusers','gradio') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_scenarios_package_does_not_import_the_plugins():
    """Layering: industries sit above scenarios; importing scenarios registers nothing."""
    code = ("import sys, aigc_demo.scenarios as s; "
            "print(sorted(m for m in sys.modules if m.startswith('aigc_demo.industries')), len(s.COMPUTE_STEPS))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[] 0"


# ---------------------------------------------------------------- errors at load time


def minimal() -> dict:
    return {
        "id": "demo",
        "api_name": "demo_task",
        "title": {"en": "Demo", "zh": "演示"},
        "description": {"en": "A demo.", "zh": "演示。"},
        "fields": [
            {"name": "topic", "kind": "text", "label": {"en": "Topic", "zh": "主题"}, "default": "tea"},
            {
                "name": "tone",
                "kind": "choice",
                "label": {"en": "Tone", "zh": "语气"},
                "default": "warm",
                "choices": [{"value": "warm", "en": "Warm", "zh": "温暖"}, "plain"],
            },
            {"name": "count", "kind": "number", "label": {"en": "Count", "zh": "数量"}, "default": 2, "minimum": 1, "maximum": 4},
            {"name": "language", "kind": "language", "label": {"en": "Language", "zh": "语言"}},
        ],
        "tasks": [
            {"name": "draft", "generator": "text", "title": {"en": "Draft", "zh": "草稿"},
             "prompt": {"en": "Write about $topic in a $tone tone.", "zh": "用$tone的语气写$topic。"}},
            {"name": "picture", "generator": "image", "title": {"en": "Picture", "zh": "图片"},
             "prompt": "a picture of $topic: $item ($index)", "for_each": "paragraphs:draft", "limit": "count"},
        ],
        "examples": [{"topic": "coffee"}, {"topic": "茶", "language": "zh"}],
    }


def write(folder: Path, data: dict | str, name: str = "demo.yaml") -> Path:
    path = folder / name
    path.write_text(data if isinstance(data, str) else yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


def test_minimal_scenario_loads_and_renders(tmp_path):
    s = load_scenario(write(tmp_path, minimal()))
    assert s.render("draft", {"language": "zh"}, {}) == "用温暖的语气写tea。"
    assert s.field("tone").choice_label("plain", "zh") == "plain"
    items = s.task_items("picture", {"draft": "One.\n\nTwo.\n\nThree."}, {"count": 2})
    assert items == ["One.\n\nTwo.", "Three."]
    assert s.render("picture", {}, {"draft": "x"}, item=items[1], index=2) == "a picture of tea: Three. (2)"


def mutate(path: tuple, value=None, delete: bool = False):
    def apply(data: dict) -> dict:
        data = copy.deepcopy(data)
        target = data
        for step in path[:-1]:
            target = target[step]
        if delete:
            del target[path[-1]]
        else:
            target[path[-1]] = value
        return data

    return apply


ERROR_CASES = {
    "unknown top key": (mutate(("colour",), "red"), "colour"),
    "missing required key": (mutate(("tasks",), delete=True), "tasks"),
    "unknown field key": (mutate(("fields", 0, "colour"), "red"), "fields.topic.colour"),
    "missing label language": (mutate(("fields", 0, "label"), {"en": "Topic"}), "label.zh"),
    "missing default": (mutate(("fields", 0, "default"), delete=True), "fields.topic.default"),
    "bad kind": (mutate(("fields", 0, "kind"), "slider"), "fields.topic.kind"),
    "choices on text": (mutate(("fields", 0, "choices"), ["a"]), "fields.topic.choices"),
    "default not a choice": (mutate(("fields", 1, "default"), "angry"), "fields.tone.default"),
    "default out of range": (mutate(("fields", 2, "default"), 9), "fields.count.default"),
    "duplicate field": (lambda d: {**d, "fields": d["fields"] + [d["fields"][0]]}, "fields.topic"),
    "duplicate task": (lambda d: {**d, "tasks": d["tasks"] + [d["tasks"][0]]}, "tasks.draft.name"),
    "task named like a field": (mutate(("tasks", 0, "name"), "topic"), "tasks.topic.name"),
    "variable in system prompt": (mutate(("tasks", 0, "system_prompt"), {"en": "Be $tone.", "zh": "x"}),
                                  "tasks.draft.system_prompt.en"),
    "unknown task key": (mutate(("tasks", 0, "temperature"), 0.5), "tasks.draft.temperature"),
    "unknown generator": (mutate(("tasks", 0, "generator"), "music"), "tasks.draft.generator"),
    "unknown template variable": (mutate(("tasks", 0, "prompt", "zh"), "写$nope"), "tasks.draft.prompt.zh"),
    "bad dollar": (mutate(("tasks", 0, "prompt", "en"), "costs 5$ ok"), "tasks.draft.prompt.en"),
    "item without for_each": (mutate(("tasks", 0, "prompt", "en"), "$item"), "tasks.draft.prompt.en"),
    "uses a later task": (mutate(("tasks", 0, "uses"), ["picture"]), "tasks.draft.uses"),
    "uses an unknown task": (mutate(("tasks", 1, "uses"), ["ghost"]), "tasks.picture.uses"),
    "uses a non-text task": (
        lambda d: {**d, "tasks": d["tasks"] + [{"name": "more", "generator": "text", "title": {"en": "M", "zh": "M"},
                                                "prompt": "$picture", "uses": ["picture"]}]},
        "tasks.more.uses",
    ),
    "unknown splitter": (mutate(("tasks", 1, "for_each"), "chapters:draft"), "tasks.picture.for_each"),
    "limit not a number field": (mutate(("tasks", 1, "limit"), "tone"), "tasks.picture.limit"),
    "unknown param": (mutate(("tasks", 1, "params"), {"steps": 4}), "tasks.picture.params.steps"),
    "param of another generator": (mutate(("tasks", 0, "params"), {"width": 512}), "tasks.draft.params.width"),
    "bad params language": (mutate(("tasks", 0, "params_by_language"), {"fr": {}}), "tasks.draft.params_by_language.fr"),
    "system prompt on image": (mutate(("tasks", 1, "system_prompt"), {"en": "x", "zh": "x"}), "tasks.picture.system_prompt"),
    "example with unknown field": (mutate(("examples", 0, "bogus"), 1), "examples[0].bogus"),
    "example out of range": (mutate(("examples", 1, "count"), 99), "examples[1].count"),
    "bad id": (mutate(("id",), "Demo Scenario"), "id"),
}


@pytest.mark.parametrize("case", sorted(ERROR_CASES))
def test_bad_files_raise_scenario_error(tmp_path, case):
    change, key = ERROR_CASES[case]
    path = write(tmp_path, change(minimal()))
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    assert isinstance(info.value, ValueError)
    assert key in str(info.value) and "demo.yaml" in str(info.value), str(info.value)


def test_duplicate_yaml_key_and_bad_yaml(tmp_path):
    text = yaml.safe_dump(minimal(), allow_unicode=True) + "id: again\n"
    with pytest.raises(ScenarioError, match=r"demo\.yaml.*id"):
        load_scenario(write(tmp_path, text))
    with pytest.raises(ScenarioError, match="YAML"):
        load_scenario(write(tmp_path, "id: [unclosed\n"))


def test_adding_an_industry_is_adding_a_file(tmp_path):
    for path in DEFAULT_FOLDER.glob("*.yaml"):
        shutil.copy(path, tmp_path)
    extra = minimal() | {"order": 5}
    write(tmp_path, extra, "zz_demo.yaml")
    loaded = load_scenarios(tmp_path)
    assert loaded[0].id == "demo" and len(loaded) == len(list(DEFAULT_FOLDER.glob("*.yaml"))) + 1
    write(tmp_path, extra | {"id": "other"}, "zz_other.yaml")  # same api_name twice
    with pytest.raises(ScenarioError, match="api_name"):
        load_scenarios(tmp_path)


# ---------------------------------------------------------------- scene splitting

MESSY_SCREENPLAYS = {
    "clean": ("Scene 1: INT. OFFICE - DAY\nMei types.\nMEI: Hello.\n\nScene 2: EXT. STREET - NIGHT\nRain.\n\n"
              "Scene 3: INT. TRAIN - NIGHT\nJin sits.", 3),
    "markdown with preamble": ("Here is your screenplay:\n\n## Scene 1\n**INT. OFFICE - DAY**\nMei types.\n\n"
                               "## Scene 2\n**EXT. STREET - NIGHT**\nRain falls.\n", 2),
    "caps headings on their own line": ("SCENE 1:\nINT. KITCHEN - NIGHT\nA kettle.\n\nSCENE 2:\nEXT. YARD - DAY\nDogs.\n\n"
                                        "SCENE 3:\nINT. ATTIC\nDust.\n\nSCENE 4:\nEXT. ROOF\nWind.", 4),
    "numbered": ("1. INT. OFFICE - DAY\nMei types. She stops.\n\n2. EXT. STREET - NIGHT\nRain.\n3. The Chase\nThey run.", 3),
    "slug lines only": ("FADE IN:\n\nINT. OFFICE - DAY\nMei types.\n\nEXT. STREET - NIGHT\nRain.\n\nFADE OUT.", 2),
    "missing numbers": ("Scene: INT. OFFICE\nMei types.\n\nScene: EXT. STREET\nRain.\n\nScene:\nThe end.", 3),
    "forgotten first heading": ("Mei sits alone in the cab, watching the rain streak the windows as the last train "
                                "pulls out.\n\nScene 2: INT. CARRIAGE - NIGHT\nJin waits.\n\nScene 3: EXT. PLATFORM\nGone.", 3),
    "words and roman numerals": ("**Scene One** - INT. A\nx\n**Scene Two** - INT. B\ny\nSCENE III\nz", 3),
    "one-line scenes": ("Scene 1: Mei enters.\nScene 2: Jin leaves.\nScene 3: They meet.", 3),
    "chinese 场景": ("场景一：内景 咖啡馆 - 夜\n阿珍推门进来。\n阿珍：有人吗？\n\n场景二：外景 码头 - 夜\n风很大。\n\n"
                   "场景3：内景 灯塔 - 夜\n老陈点灯。", 3),
    "chinese 第N场 with prose": ("第1场 码头 夜\n第一场雪落在码头上。\n第2场 灯塔 夜\n老陈点灯。\n第3场 海边 日\n船回来了。", 3),
    "chinese bold 第一场": ("**第一场**\n内景 邮局 - 日\n信。\n\n**第二场**\n外景 码头 - 夜\n雨。", 2),
    "chinese slugs": ("内景 邮局 - 日\n阿珍分拣信件。\n\n外景 码头 - 夜\n雨越下越大。", 2),
}


@pytest.mark.parametrize("name", sorted(MESSY_SCREENPLAYS))
def test_split_scenes_messy_inputs(name):
    text, expected = MESSY_SCREENPLAYS[name]
    scenes = split_scenes(text, expected=3)
    assert len(scenes) == expected, scenes
    assert all(scene.strip() == scene and scene for scene in scenes)
    assert not any("**" in scene or scene.startswith("#") for scene in scenes)


def test_split_scenes_without_headings():
    prose = "\n\n".join(f"Paragraph {i}." for i in range(1, 8))
    assert len(split_scenes(prose, expected=3)) == 3
    assert split_scenes(prose) == [prose]  # no count asked for: the whole text is one scene
    assert split_scenes("Just one line.", expected=4) == ["Just one line."]
    assert split_scenes("  \n\n ") == [] and split("scenes", "") == []
    assert len(split_scenes("一段。\n\n二段。\n\n三段。\n\n四段。", expected=2)) == 2


def test_split_paragraphs():
    text = "A.\n\n\nB.\n  \nC.\n\nD."
    assert split_paragraphs(text) == ["A.", "B.", "C.", "D."]
    assert split_paragraphs(text, expected=2) == ["A.\n\nB.", "C.\n\nD."]
    with pytest.raises(KeyError):
        split("chapters", text)
