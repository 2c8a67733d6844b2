"""A run to share and keep: one run id for a scenario run, its zip (outputs, sidecars, run.json,
an offline HTML summary), the page's opening values, and media buttons without Spaces' share."""

from __future__ import annotations

import json
from html import escape
import sqlite3
import zipfile
from html.parser import HTMLParser
from pathlib import PurePosixPath

import pytest

from aigc_demo.core.text import AI_LABEL
from aigc_demo.core.types import ValidationError
from aigc_demo.industries import load_scenarios
from aigc_demo.record import ReviewStore, migrate, provenance
from aigc_demo.record.bundle import RunText, bundle_path, check_run_id, write_bundle
from aigc_demo.record.schema import MIGRATIONS
from aigc_demo.scenarios.replay import example_values, recorded_state, run_text
from aigc_demo.scenarios.runner import run_scenario

from conftest import new_studio


@pytest.fixture(scope="module")
def scenarios():
    return {s.id: s for s in load_scenarios()}


@pytest.fixture(scope="module")
def studio(tmp_path_factory, tiny_cache):
    studio = new_studio(tmp_path_factory.mktemp("share-data"), tiny_cache)
    yield studio
    studio.manager.close()


@pytest.fixture(scope="module")
def retail_run(studio, scenarios):
    """A real retail run on the tiny preset (text, image, audio, video), one output rated."""
    final = list(run_scenario(studio, scenarios["retail"], {}, seed=11))[-1]
    records = studio.store.run_records(final.run_id)
    studio.store.submit_review(records[0].id, 4, ["great"], "Clear & short <b>copy</b>", "guest-test")
    return final, records


class Links(HTMLParser):
    """Every src/href of a page, and whether it has a script."""

    def __init__(self) -> None:
        super().__init__()
        self.refs: list[str] = []
        self.tags: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.refs += [value or "" for name, value in attrs if name in ("src", "href")]


def test_every_output_of_a_scenario_run_shares_one_run_id(retail_run, scenarios):
    final, records = retail_run
    ids = [r.record_id for results in final.results.values() for r in results]
    assert sorted(r.id for r in records) == sorted(ids)
    assert {r.run_id for r in records} == {final.run_id}
    assert {r.modality for r in records} == {"text", "image", "audio", "video"}
    # the id travels into each file's provenance, too
    assert all(provenance.read(p)["run_id"] == final.run_id for r in records for p in r.file_paths)


def test_the_run_zip_holds_every_output_its_sidecar_and_a_summary_that_opens_offline(studio, retail_run, scenarios):
    final, records = retail_run
    reviews = {r.id: studio.store.get_reviews(r.id) for r in records}
    path = write_bundle(records, reviews, studio.outputs_dir, run_text(scenarios["retail"], records))
    assert path == bundle_path(studio.outputs_dir, final.run_id) and path.is_file()
    with zipfile.ZipFile(path) as archive:
        assert archive.testzip() is None
        names = set(archive.namelist())
        files = [p for r in records for p in r.file_paths]
        assert len(files) >= 3
        for file in files:
            name = f"outputs/{PurePosixPath(file).name}"
            assert name in names and f"{name}.json" in names
            assert archive.read(name) == open(file, "rb").read()
            assert json.loads(archive.read(f"{name}.json"))["run_id"] == final.run_id
        data = json.loads(archive.read("run.json"))
        page = archive.read("index.html").decode("utf-8")
    assert sorted(item["id"] for item in data) == sorted(r.id for r in records)
    assert all(not PurePosixPath(p).is_absolute() for item in data for p in item["file_paths"])  # no server paths
    assert next(item for item in data if item["id"] == records[0].id)["reviews"][0]["rating"] == 4

    links = Links()
    links.feed(page)
    assert "script" not in links.tags
    assert {"img", "audio", "video"} <= set(links.tags)
    assert links.refs and all(ref in names for ref in links.refs)  # only files inside the zip
    retail = scenarios["retail"]
    for shown in (retail.title["en"], AI_LABEL.en, retail.field("product_name").label["en"],
                  retail.defaults()["product_name"]):  # the title, the AI label, the form
        assert escape(shown) in page
    assert records[0].model_ref in page and "★★★★☆" in page
    assert "Clear &amp; short &lt;b&gt;copy&lt;/b&gt;" in page  # a comment is text, never markup


def test_the_summary_is_in_the_runs_language(studio, scenarios):
    market = scenarios["market"]
    zh = example_values(market, "zh")
    final = list(run_scenario(studio, market, zh, seed=3))[-1]
    records = studio.store.run_records(final.run_id)
    text = run_text(market, records)
    assert text.language == "zh" and text.title == market.title["zh"]
    path = write_bundle(records, {}, studio.outputs_dir, text)
    with zipfile.ZipFile(path) as archive:
        page = archive.read("index.html").decode("utf-8")
    assert 'lang="zh-CN"' in page and "尚未评审" in page and escape(market.disclaimer["zh"]) in page


def test_a_recorded_run_is_rebuilt_from_its_records(retail_run, scenarios):
    final, records = retail_run
    state = recorded_state(scenarios["retail"], records)
    assert state.done and state.run_id == final.run_id
    assert state.text["copy"] == final.text["copy"]
    assert state.files == final.files
    assert {t: state.record_ids(t) for t in state.results} == {t: final.record_ids(t) for t in final.results}


def test_run_ids_are_checked_and_an_empty_run_has_no_zip(studio):
    assert check_run_id(" abc_DEF-12 ") == "abc_DEF-12"
    for bad in ("", "../etc/passwd", "x" * 65, "a b", None, 12):
        with pytest.raises(ValidationError):
            check_run_id(bad)
    with pytest.raises(ValidationError):
        write_bundle([], {}, studio.outputs_dir, RunText())


def test_zh_defaults_come_from_the_chinese_worked_example(scenarios):
    for scenario in scenarios.values():
        values = example_values(scenario, "zh")
        assert values is not None and values[scenario.language_field.name] == "zh"
    retail = example_values(scenarios["retail"], "zh")
    assert retail["product_name"] == next(e for e in scenarios["retail"].examples if e.get("language") == "zh")["product_name"]


def test_the_run_id_migration_gives_older_outputs_runs_of_their_own(tmp_path):
    conn = sqlite3.connect(tmp_path / "reviews.sqlite3", isolation_level=None)
    migrate(conn, target=len(MIGRATIONS) - 1)
    conn.execute("INSERT INTO records (id, created_at, scenario, modality) VALUES ('old1', '2026-01-01T00:00:00+00:00', 'retail', 'text')")
    conn.close()
    with ReviewStore(tmp_path) as store:
        assert [r.id for r in store.run_records("old1")] == ["old1"]
        assert store.report.orphans == []


def test_run_zips_are_not_orphans(studio, retail_run):
    assert bundle_path(studio.outputs_dir, retail_run[0].run_id).is_file()
    assert all("bundles" not in p.parts for p in studio.store.check_files().orphans)


def test_media_buttons_offer_share_on_spaces_only(monkeypatch):
    from aigc_demo.ui.hosting import media_buttons

    monkeypatch.delenv("SPACE_ID", raising=False)
    assert all("share" not in media_buttons(kind) for kind in ("image", "gallery", "audio", "video"))
    assert "download" in media_buttons("audio")
    monkeypatch.setenv("SPACE_ID", "someone/studio")
    assert "share" in media_buttons("video")


def test_the_page_language_follows_accept_language():
    from types import SimpleNamespace

    from aigc_demo.ui.share import page_language

    def request(header: str) -> SimpleNamespace:
        return SimpleNamespace(headers={"accept-language": header})

    assert page_language(request("zh-CN,zh;q=0.9,en;q=0.8")) == "zh"
    assert page_language(request("en-US,en;q=0.9,zh-CN;q=0.8")) == "en"
    assert page_language(request("en;q=0.5,zh-TW;q=0.9")) == "zh"
    assert page_language(request("")) == "en" and page_language(None) == "en"


def test_text_from_people_and_models_stays_text_in_the_banner():
    import markdown_it

    from aigc_demo.ui.share import plain, shown_id

    html = markdown_it.MarkdownIt().render(plain("![pixel](http://tracker/x.png) [click](http://evil) <b>bold</b> *a*"))
    assert "<img" not in html and "<a" not in html and "<b>" not in html and "<em>" not in html
    assert "pixel" in html and "click" in html
    assert shown_id("[evil](http://x)") == "?evil??http???x?"


def test_no_media_output_of_the_app_offers_spaces_share_off_spaces(studio, monkeypatch):
    import gradio as gr

    from aigc_demo.ui.app import build_app

    monkeypatch.delenv("SPACE_ID", raising=False)
    demo = build_app(studio)
    media = [b for b in demo.blocks.values() if isinstance(b, (gr.Image, gr.Audio, gr.Video, gr.Gallery))]
    assert len(media) >= 10  # every industry's media outputs, the playground's and the review previews
    assert all("share" not in (b.buttons or []) for b in media)
    assert all("download" in (b.buttons or []) for b in media if isinstance(b, (gr.Audio, gr.Video)))
    assert "/download_run" in demo.get_api_info()["named_endpoints"]
