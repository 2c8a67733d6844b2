"""Raw errors never reach users (issue 16, item 9): each place the issue names, a full disk,
and the one handler that turns any other error into a plain message and one log line."""

from __future__ import annotations

import logging
import shutil
import subprocess
from pathlib import Path

import gradio as gr
import pytest

from aigc_demo.core.types import AudioRequest, DiskFull, ImageRequest, TextRequest, ValidationError, VideoRequest
from aigc_demo.industries import load_scenarios, market
from aigc_demo.ui.errors import as_user_error, user_errors
from aigc_demo.ui.review_tab import ReviewTab


def _review_tab(studio) -> ReviewTab:
    return ReviewTab(studio, None, [])  # type: ignore[arg-type]


# ---------------------------------------------------------------- the one handler


def test_an_unexpected_error_is_a_plain_message_and_one_log_line(caplog):
    @user_errors
    def handler() -> None:
        raise RuntimeError("cannot open /srv/app/data/outputs/x.png\nsecond line")

    with caplog.at_level(logging.ERROR, logger="aigc_demo"), pytest.raises(gr.Error) as caught:
        handler()
    message = caught.value.message
    assert "Something went wrong" in message and "/srv" not in message and "RuntimeError" not in message
    [line] = [r.getMessage() for r in caplog.records if r.name == "aigc_demo"]
    reference = message.split("reference ")[1].split(")")[0]
    assert reference in line and "RuntimeError: cannot open /srv/app/data/outputs/x.png | second line" in line
    assert "\n" not in line and "Traceback" not in line and " at " in line  # where, in one line
    assert caught.value.print_exception is False  # Gradio prints no traceback either


def test_generators_are_guarded_too_and_explained_errors_pass_as_they_are():
    @user_errors
    def stream():
        yield "partial"
        raise KeyError("params")

    gen = stream()
    assert next(gen) == "partial"
    with pytest.raises(gr.Error, match="Something went wrong"):
        next(gen)
    assert as_user_error(ValidationError("width", "must be between 64 and 2048")).message == "width: must be between 64 and 2048"


def test_every_handler_of_the_app_is_guarded(studio):
    from aigc_demo.ui.app import build_app

    demo = build_app(studio)
    unguarded = [f.name for f in demo.fns.values() if f.fn is not None and not getattr(f.fn, "__user_errors__", False)]
    assert unguarded == []
    assert len(demo.fns) > 50


# ---------------------------------------------------------------- each place the issue names


@pytest.mark.parametrize("filters", [{"until": "9999-12-31"}, {"since": "9999-12-31", "until": "9999-12-31"}])
def test_date_overflow_in_the_review_filters_is_explained(studio, filters):
    with pytest.raises(gr.Error) as caught:
        _review_tab(studio).list_outputs(**filters)
    assert "until: must be a date" in caught.value.message and "Overflow" not in caught.value.message
    assert _review_tab(studio).list_outputs(until="9999-12-30") == []


def test_lone_surrogates_in_review_fields_and_prompts_are_removed(studio):
    record_id = studio.store.add_record(modality="text", prompt="x")
    review = _review_tab(studio).submit_review(record_id, 4, tags=["ok\ud800"], comment="fine \udc80 really")
    assert (review["comment"], review["tags"]) == ("fine  really", ["ok"])
    assert studio.store.submit_review(record_id, 3, reviewer="ann\udfff").reviewer == "ann"
    request, _ = studio.prepare("text", TextRequest("hi \ud800 there", system_prompt="Be \udfff brief."))
    assert (request.prompt, request.system_prompt) == ("hi  there", "Be  brief.")
    result = studio.run("text", TextRequest("hi \ud800", system_prompt="Be \udfff brief.", max_new_tokens=2, seed=1))
    assert studio.store.get_record(result.record_id).params["system_prompt"] == "Be  brief."
    # a record written by other code is stored too (the surrogate cannot be UTF-8, so it is replaced)
    other = studio.store.add_record(modality="text", prompt="a\ud800b", inputs={"note": "c\udc00"})
    assert studio.store.get_record(other).prompt == "a?b"


def test_a_csv_cell_over_the_field_size_limit_is_explained(tmp_path):
    huge = tmp_path / "prices.csv"
    huge.write_text("date,close\n2024-01-01," + "1" * 200_000 + "\n2024-01-02,5\n", encoding="utf-8")
    with pytest.raises(ValidationError, match=r"prices: line \d: cannot be read as CSV \(a cell is longer than"):
        market.load_prices(str(huge))
    maintenance = next(s for s in load_scenarios() if s.id == "maintenance")
    with pytest.raises(ValidationError, match="readings: cannot be read as a table"):
        maintenance.validate_values({"readings": "sensor,value\nvibration," + '"' + "x" * 200_000 + '"'})


@pytest.mark.parametrize("prices", [["1e300", "1e-300", "5"], ["1e-320", "1e308", "1"], ["0.0000001", "3"]])
def test_extreme_prices_are_refused_by_line(prices):
    text = "date,close\n" + "".join(f"2024-01-0{i + 1},{value}\n" for i, value in enumerate(prices))
    with pytest.raises(ValidationError, match=r"prices: line \d \(2024-01-0\d\): price .* is outside 1e-06 to 1e\+12"):
        market.load_prices(text)


def test_prices_at_the_edges_of_the_range_give_finite_figures():
    figures = market.compute_figures(market.load_prices("date,close\n2024-01-01,1e12\n2024-01-02,1e-6\n2024-01-03,1e12\n"))
    assert figures.volatility is not None and figures.volatility > 0 and figures.max_drawdown == pytest.approx(-1)
    market.figures_panels(figures, "en")


# ---------------------------------------------------------------- a disk that is really full


@pytest.fixture
def small_disk(tmp_path):
    """A 4 MB tmpfs: a real disk that fills up. Skipped where mounting is not allowed."""
    mount = tmp_path / "disk"
    mount.mkdir()
    if shutil.which("mount") is None or subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(mount)], capture_output=True
    ).returncode != 0:
        pytest.skip("cannot mount a small tmpfs here (needs root)")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def _fill(disk: Path, leave: int = 8192) -> Path:
    filler = disk / "filler"
    with open(filler, "wb") as handle:
        handle.write(b"\0" * max(0, shutil.disk_usage(disk).free - leave))
    return filler


REQUESTS = {
    "image": ImageRequest("a cup", width=64, height=64, num_inference_steps=1, seed=1),
    "audio": AudioRequest("hello there", seed=1),
    "video": VideoRequest("a cup", width=64, height=64, num_frames=5, num_inference_steps=1, seed=1),
}


def test_a_full_disk_is_said_plainly_and_leaves_no_file_or_record(make_studio, small_disk):
    studio = make_studio(data_dir=small_disk / "data", min_free_disk_mb=0)
    assert studio.store.list_outputs() == []  # the database is open, the models loaded, before the disk fills
    for modality in REQUESTS:
        studio.load(modality)
    filler = _fill(small_disk)
    for modality, request in REQUESTS.items():
        with pytest.raises(DiskFull) as caught:
            studio.run(modality, request)
        shown = as_user_error(caught.value).message
        assert shown.startswith("The server's disk is full") and "ffmpeg" not in shown and str(small_disk) not in shown
    outputs = small_disk / "data" / "outputs"
    assert [p.name for p in outputs.rglob("*")] == []  # no orphan, not even a 0-byte file or a staging folder
    assert studio.store.list_outputs() == []
    filler.unlink()  # space again: the same studio works
    assert studio.run("image", REQUESTS["image"]).record_id
