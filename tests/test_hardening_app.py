"""Issue 16 against the running app (tiny preset, 127.0.0.1): exports, raw errors, reviewers,
the self-check in /system_status, uploads."""

from __future__ import annotations

import csv
import json
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from conftest import running_app

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def hard_app(tmp_path_factory, app_cache):
    """The app with its own temporary folder (so its leftovers can be counted)."""
    root = tmp_path_factory.mktemp("hard")
    (root / "tmp").mkdir()
    env = {"AIGC_CACHE_DIR": str(app_cache), "TMPDIR": str(root / "tmp"), "AIGC_MAX_UPLOAD_MB": "1"}
    with running_app(root / "data", root / "server.log", env) as (url, _):
        yield url, root


def _client(url: str, **kwargs):
    from gradio_client import Client

    return Client(url, analytics_enabled=False, verbose=False, **kwargs)


def call(url: str, api_name: str, *data) -> tuple[str, object]:
    """POST /gradio_api/call/<api_name> as a browser would (JSON with \\u escapes, so lone
    surrogates can be sent); returns the final SSE event and its data."""
    import urllib.request

    body = json.dumps({"data": list(data)}).encode()  # ensure_ascii: "\\ud800" stays an escape
    request = urllib.request.Request(f"{url}gradio_api/call/{api_name}", body, {"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=60) as response:
        event_id = json.loads(response.read())["event_id"]
    with urllib.request.urlopen(f"{url}gradio_api/call/{api_name}/{event_id}", timeout=120) as response:
        lines = response.read().decode().splitlines()
    event = [line[7:] for line in lines if line.startswith("event: ")][-1]
    payload = [line[6:] for line in lines if line.startswith("data: ")][-1]
    return event, json.loads(payload)


def test_export_is_safe_and_leaves_no_folder(hard_app):
    url, root = hard_app
    client = _client(url)
    _, _, details = client.predict(prompt="=HYPERLINK(\"http://x\")", max_new_tokens=2, seed=3, api_name="/generate_text")
    client.predict(record_id=details["record_id"], rating=2, comment="@SUM(A1)", api_name="/submit_review")
    for _ in range(2):
        files = client.predict(api_name="/export_reviews")
    paths = [Path(f["path"] if isinstance(f, dict) else f) for f in files]
    table = next(p for p in paths if p.suffix == ".csv")
    with open(table, encoding="utf-8-sig", newline="") as handle:
        rows = [row for row in csv.DictReader(handle) if row["id"] == details["record_id"]]
    assert rows[0]["prompt"].startswith("'=HYPERLINK") and rows[0]["comment"] == "'@SUM(A1)"
    text = table.read_text(encoding="utf-8-sig") + next(p for p in paths if p.suffix == ".jsonl").read_text(encoding="utf-8")
    assert str(root) not in text
    assert [p.name for p in (root / "tmp").iterdir() if p.name.startswith("aigc-export-")] == []
    listed = client.predict(api_name="/list_outputs")
    assert listed and str(root) not in json.dumps(listed)


def test_outputs_are_served_from_where_they_are_recorded(hard_app):
    """The page's link is the recorded file itself: Gradio's cache (under TMPDIR) gets no copy."""
    from aigc_demo.core.params import PARAMS

    url, root = hard_app
    image = PARAMS["image"].request_type(prompt="a red bottle", width=64, height=64, num_inference_steps=1)
    event, (gallery, _, details, _) = call(url, "generate_image", *[getattr(image, n) for n in PARAMS["image"]], "")
    assert event == "complete", gallery
    (shown,) = gallery
    served = Path(shown["image"]["path"])
    assert served.parent == (root / "data" / "outputs").resolve() and served.name.startswith("image-")
    with urllib.request.urlopen(urllib.parse.urljoin(url, shown["image"]["url"]), timeout=30) as response:
        assert response.read() == served.read_bytes()
    assert list((root / "tmp").rglob("image-*.png")) == []


def test_raw_errors_do_not_reach_api_callers(hard_app):
    from gradio_client.exceptions import AppError

    url, root = hard_app
    client = _client(url)
    with pytest.raises(AppError) as caught:
        client.predict(until="9999-12-31", api_name="/list_outputs")
    assert "until: must be a date" in str(caught.value) and "Overflow" not in str(caught.value)
    event, (text, _, details, _) = call(url, "generate_text", "hi \ud800", "Be \udfff brief.", 2, 0.7, 0.9, 4, "", 1.1, "")
    assert event == "complete" and details["params"]["system_prompt"] == "Be  brief."
    event, [review] = call(url, "submit_review", details["record_id"], 4, ["ok\ud800"], "fine \udc80")
    assert event == "complete" and review["comment"] == "fine" and review["tags"] == ["ok"], review
    log = (root / "server.log").read_text(errors="replace")
    assert "Traceback" not in log


def test_anonymous_reviewers_are_browsers_and_edit_only_their_own_review(hard_app):
    url, _ = hard_app
    ann, bob = _client(url), _client(url)
    _, _, details = ann.predict(prompt="a cup", max_new_tokens=2, seed=5, api_name="/generate_text")
    record_id = details["record_id"]
    first = ann.predict(record_id=record_id, rating=5, api_name="/submit_review")
    theirs = bob.predict(record_id=record_id, rating=1, comment="no", api_name="/submit_review")
    assert first["reviewer"].startswith("guest-") and theirs["reviewer"].startswith("guest-")
    assert first["reviewer"] != theirs["reviewer"]  # blank names no longer collide
    again = ann.predict(record_id=record_id, rating=3, comment="on reflection", api_name="/submit_review")
    assert again["reviewer"] == first["reviewer"] and again["created_at"] == first["created_at"]
    row = next(r for r in ann.predict(api_name="/list_outputs") if r["id"] == record_id)
    assert row["review_count"] == 2 and row["mean_rating"] == 2  # ann's 3 (edited) and bob's 1, unchanged
    params = [p["parameter_name"] for p in ann.view_api(print_info=False, return_format="dict")["named_endpoints"]["/submit_review"]["parameters"]]
    assert params == ["record_id", "rating", "tags", "comment"]  # no reviewer the client could set


def test_system_status_reports_the_self_check(hard_app):
    url, root = hard_app
    status = _client(url).predict(api_name="/system_status")
    status = json.loads(status) if isinstance(status, str) else status
    assert status["health"]["ok"] and status["health"]["quarantined"] == []
    assert set(status["health"]["checks"]) == {"data_dir", "disk", "database", "integrity", "schema"}
    assert str(root) not in json.dumps(status["health"])


def _upload(url: str, name: str, size: int) -> tuple[int, str]:
    import urllib.error
    import urllib.request
    import uuid

    boundary = uuid.uuid4().hex
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"files\"; filename=\"{name}\"\r\n"
            "Content-Type: text/csv\r\n\r\n").encode() + b"1" * size + f"\r\n--{boundary}--\r\n".encode()
    request = urllib.request.Request(f"{url}gradio_api/upload", body,
                                     {"Content-Type": f"multipart/form-data; boundary={boundary}"})
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def test_uploads_over_the_size_limit_are_refused_and_not_kept(hard_app):
    url, root = hard_app
    status, text = _upload(url, "big.csv", 2_000_000)  # AIGC_MAX_UPLOAD_MB=1
    assert status == 413, (status, text)
    kept = [p for p in (root / "tmp").rglob("big.csv")]
    assert kept == []
    status, text = _upload(url, "small.csv", 1000)
    assert status == 200 and "small.csv" in text
