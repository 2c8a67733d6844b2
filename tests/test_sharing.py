"""Sharing safely: no open share link by accident, logins, files served only as generated
outputs, sessions kept apart, and secrets (HF_TOKEN...) never in errors, logs, records or exports."""

from __future__ import annotations

import http.client
import json
import os
import subprocess
import sys
import threading
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from aigc_demo.core.types import ImageRequest, VideoRequest
from aigc_demo.security import (
    REDACTED,
    RedactingStream,
    UnsafeSharing,
    redact,
    redact_data,
    secret_values,
    session_key,
    sharing_warnings,
)
from aigc_demo.settings import from_args, from_env, load_auth
from aigc_demo.studio import RunContext

from conftest import free_port, running_app

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "hf_FakeTokenForTests0123456789abcdefXYZ"  # the shape of a real token, fake value
API_KEY = "sk-test-7d1e4f0a9b2c"  # any *_API_KEY variable is a secret too
USERS = {"ann": "amber-kettle-42", "bob": "blue-lantern-17", "cat": "cobalt-teapot-99"}


def _app_env(**extra: str) -> dict[str, str]:
    return {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONUNBUFFERED": "1", **extra}


# ---------------------------------------------------------------- --share needs --auth


@pytest.mark.parametrize("how", [["--share"], ["AIGC_SHARE=1"]], ids=["flag", "env"])
@pytest.mark.slow
def test_share_without_auth_refuses_to_start(how, tmp_path):
    args = [a for a in how if a.startswith("--")]
    env = _app_env(**dict(a.split("=") for a in how if "=" in a))
    env.pop("AIGC_AUTH", None)
    process = subprocess.run([sys.executable, "app.py", "--preset", "tiny", "--data-dir", str(tmp_path), *args],
                             cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert process.returncode == 2
    assert "Refusing to create a public share link" in process.stderr
    assert "--auth" in process.stderr and "--allow-public-share" in process.stderr
    assert not (tmp_path / "reviews.sqlite3").exists()  # nothing was started


@pytest.mark.slow
def test_allow_public_share_starts_with_a_loud_warning(tmp_path):
    process = subprocess.Popen(
        [sys.executable, "app.py", "--preset", "tiny", "--share", "--allow-public-share", "--port", str(free_port()),
         "--data-dir", str(tmp_path)],
        cwd=ROOT, env=_app_env(), stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True,
    )
    try:
        lines = [process.stderr.readline() for _ in range(3)]
    finally:
        process.kill()
        process.wait(timeout=10)
    assert lines[0].startswith("!!!!") and lines[2].startswith("!!!!")
    assert "WARNING: public share link WITHOUT a login" in lines[1]


def test_sharing_rules():
    with pytest.raises(UnsafeSharing):
        sharing_warnings(share=True, auth=None, allow_public_share=False)
    assert sharing_warnings(share=True, auth=("ann", "pw-123456"), allow_public_share=False) == []
    assert "WITHOUT a login" in sharing_warnings(share=True, auth=None, allow_public_share=True)[0]
    assert "without a login" in sharing_warnings(share=False, auth=None, allow_public_share=False, host="0.0.0.0")[0]
    assert sharing_warnings(share=False, auth=None, allow_public_share=False) == []  # localhost only


# ---------------------------------------------------------------- --auth forms


def test_auth_accepts_a_pair_a_file_or_the_environment(tmp_path):
    assert load_auth("ann:pw:with:colons") == ("ann", "pw:with:colons")
    users = tmp_path / "users.txt"
    users.write_text("# reviewers\nann:amber-kettle-42\n\n  bob:blue-lantern-17  \n", encoding="utf-8")
    assert load_auth(str(users)) == (("ann", "amber-kettle-42"), ("bob", "blue-lantern-17"))
    settings = from_env({"AIGC_PRESET": "tiny", "AIGC_AUTH": str(users)})
    assert settings.auth_users() == [("ann", "amber-kettle-42"), ("bob", "blue-lantern-17")]
    assert from_args(["--preset", "tiny", "--auth", "carol:c-secret-9"], env={}).auth_users() == [("carol", "c-secret-9")]
    # passwords read from a file are secrets from now on
    assert redact("login blue-lantern-17 failed") == f"login {REDACTED} failed"


def test_bad_auth_is_explained_without_echoing_passwords(tmp_path):
    users = tmp_path / "users.txt"
    users.write_text("ann:amber-kettle-42\nbob-without-password-zzz\n", encoding="utf-8")
    with pytest.raises(ValueError, match="line 2 is not user:password") as caught:
        load_auth(str(users))
    assert "bob-without-password-zzz" not in str(caught.value)
    with pytest.raises(ValueError, match="user:password or the path"):
        load_auth("no-such-file-and-no-colon")
    users.write_text("ann:one-password\nann:another-password\n", encoding="utf-8")
    with pytest.raises(ValueError, match="repeats user 'ann'"):
        load_auth(str(users))


# ---------------------------------------------------------------- secrets


def test_redaction_covers_tokens_secret_variables_and_nested_data(monkeypatch):
    monkeypatch.setenv("HF_TOKEN", TOKEN)
    monkeypatch.setenv("MY_SERVICE_API_KEY", API_KEY)
    monkeypatch.setenv("SHORT_TOKEN", "1")  # too short to hide: would mangle ordinary text
    assert TOKEN in secret_values() and API_KEY in secret_values() and "1" not in secret_values()
    text = f"GET https://x/{TOKEN}?k={API_KEY} 1 hf_AnotherTokenNotInEnv1234567890"
    assert redact(text) == f"GET https://x/{REDACTED}?k={REDACTED} 1 {REDACTED}"
    assert json.dumps(redact_data({"a": [TOKEN, {"b": (API_KEY,)}]})).count(REDACTED) == 2

    class Sink(list):
        def write(self, text):
            self.append(text)

        def flush(self):
            pass

    sink = Sink()
    RedactingStream(sink).write(f"Traceback: cannot open /models/{TOKEN}/x\n")
    assert TOKEN not in "".join(sink) and REDACTED in "".join(sink)


def test_records_and_exports_never_hold_a_secret(tmp_path, studio, monkeypatch):
    monkeypatch.setenv("HF_TOKEN", TOKEN)
    result = studio.run("image", ImageRequest(f"a bottle, token {TOKEN}", width=64, height=64, num_inference_steps=1),
                        context=RunContext("playground", "image", "s", inputs={"note": TOKEN}))
    record = studio.store.get_record(result.record_id)
    assert TOKEN not in json.dumps(record.to_dict()) and REDACTED in record.prompt
    for path in studio.store.export(tmp_path / "exports"):
        assert TOKEN not in path.read_text(encoding="utf-8-sig")
    from aigc_demo.record import provenance

    assert TOKEN not in json.dumps(provenance.read(result.files[0]))  # nor inside the PNG


def test_load_errors_and_status_never_show_a_secret(make_studio, monkeypatch):
    monkeypatch.setenv("HF_TOKEN", TOKEN)
    studio = make_studio(models={"video": f"/models/{TOKEN}/wan"})
    with pytest.raises(Exception) as caught:
        studio.run("video", VideoRequest("waves"))
    assert TOKEN not in str(caught.value) and REDACTED in str(caught.value)
    assert TOKEN not in json.dumps(studio.status())
    with pytest.raises(Exception) as again:  # the remembered failure (cooldown) too
        studio.load("video")
    assert TOKEN not in str(again.value)


# ---------------------------------------------------------------- sessions


def test_each_session_sees_only_its_own_runs(studio):
    small = dict(width=64, height=64, num_inference_steps=1)
    a, b = session_key("browser-a-hash"), session_key("browser-b-hash")
    assert a != b and a == session_key("browser-a-hash") and "browser-a-hash" not in a
    mine = {studio.run("image", ImageRequest(f"a{i}", **small), context=RunContext("playground", "image", a)).record_id
            for i in range(2)}
    theirs = studio.run("image", ImageRequest("b", **small), context=RunContext("playground", "image", b)).record_id
    assert {r["id"] for r in studio.session_runs(a)} == mine
    assert {r["id"] for r in studio.session_runs(b)} == {theirs}
    assert studio.session_runs("") == []  # an unknown session sees nothing, not everything


def test_one_user_cannot_stop_another_users_run(studio):
    from aigc_demo.ui.runs import SessionRuns

    runs = SessionRuns()
    token_a = runs.start("session-a", "video")
    assert runs.stop("session-b", "video") is False  # b has no run there; a's is untouched
    token_b = runs.start("session-b", "video")
    started, results = threading.Event(), []
    request = VideoRequest("a's video", width=64, height=64, num_frames=9, num_inference_steps=30)
    worker = threading.Thread(target=lambda: results.append(studio.run(
        "video", request, cancel=token_a, context=RunContext("playground", "video", "session-a"),
        progress=lambda step, total, desc: step > 0 and desc == "denoising" and started.set())))
    worker.start()
    assert started.wait(60)
    assert runs.stop("session-b", "video")  # b stops b's own slot...
    worker.join(60)
    assert token_b.cancelled and not token_a.cancelled  # ...and a's run goes on to the end
    assert results and not results[0].cancelled and results[0].files


# ---------------------------------------------------------------- the app with logins and a secret


@pytest.fixture(scope="module")
def locked_app(tmp_path_factory, app_cache):
    """The app behind a login (a file of two users), with HF_TOKEN set and a video model path
    that contains the token, so that its load error would show the token if nothing hid it."""
    work = tmp_path_factory.mktemp("locked")
    data, users, log_path = work / "data", work / "users.txt", work / "server.log"
    users.write_text("".join(f"{u}:{p}\n" for u, p in USERS.items()), encoding="utf-8")
    env = _app_env(AIGC_CACHE_DIR=str(app_cache), AIGC_AUTH=str(users), HF_TOKEN=TOKEN,
                   MY_SERVICE_API_KEY=API_KEY, AIGC_VIDEO_MODEL=str(work / "models" / TOKEN / API_KEY / "wan"))
    with running_app(data, log_path, env) as (url, _):
        yield {"url": url, "port": urllib.parse.urlsplit(url).port, "data": data, "log": log_path}


def _client(app, user: str | None = "ann"):
    from gradio_client import Client

    auth = (user, USERS[user]) if user else None
    return Client(app["url"], auth=auth, analytics_enabled=False, verbose=False)


def _login_cookie(app) -> str:
    body = urllib.parse.urlencode({"username": "ann", "password": USERS["ann"]})
    conn = http.client.HTTPConnection("127.0.0.1", app["port"], timeout=10)
    conn.request("POST", "/login", body, {"Content-Type": "application/x-www-form-urlencoded"})
    response = conn.getresponse()
    response.read()
    assert response.status == 200, response.status
    return "; ".join(c.split(";")[0] for c in response.headers.get_all("set-cookie"))


def _get(app, path: str, cookie: str = "") -> int:
    """GET a raw path (no client-side normalisation of '..'); returns the status code."""
    conn = http.client.HTTPConnection("127.0.0.1", app["port"], timeout=10)
    conn.request("GET", path, headers={"Cookie": cookie} if cookie else {})
    response = conn.getresponse()
    response.read()
    return response.status


@pytest.mark.slow
def test_login_is_required_and_checked(locked_app):
    with pytest.raises(Exception):
        _client(locked_app, user=None).predict(prompt="hi", max_new_tokens=2, api_name="/generate_text")
    from gradio_client import Client

    with pytest.raises(Exception):
        Client(locked_app["url"], auth=("ann", "wrong-password"), analytics_enabled=False, verbose=False)
    text, _, details = _client(locked_app, "bob").predict(prompt="hello", max_new_tokens=2, api_name="/generate_text")
    assert details["record_id"]
    assert _get(locked_app, "/config") in (401, 403)


@pytest.mark.slow
def test_files_are_served_only_as_generated_outputs(locked_app):
    _, _, details = _client(locked_app).predict(prompt="a bottle", width=64, height=64, num_inference_steps=1,
                                                api_name="/generate_image")
    data = Path(locked_app["data"]).resolve()
    output = next((data / "outputs").glob("image-*.png"))
    (data / "notes.txt").write_text("not an output")
    (data / "outputs" / "db-link.png").symlink_to(data / "reviews.sqlite3")
    cookie = _login_cookie(locked_app)
    file = lambda p: f"/gradio_api/file={urllib.parse.quote(str(p), safe='/')}"  # noqa: E731

    assert _get(locked_app, file(output), cookie) == 200  # a generated output, logged in
    assert _get(locked_app, file(output)) in (401, 403)  # ...but not without a login
    refused = {
        "database": file(data / "reviews.sqlite3"),
        "database WAL": file(data / "reviews.sqlite3-wal"),
        "file beside the outputs": file(data / "notes.txt"),
        "file outside the data": file("/etc/passwd"),
        "dot-dot": f"/gradio_api/file={data}/outputs/../reviews.sqlite3",
        "encoded dot-dot": f"/gradio_api/file={data}/outputs/%2e%2e/reviews.sqlite3",
        "dot-dot to /etc": f"/gradio_api/file={data}/outputs/../../../../../../etc/passwd",
        "symlink out of outputs": file(data / "outputs" / "db-link.png"),
    }
    statuses = {name: _get(locked_app, path, cookie) for name, path in refused.items()}
    assert all(status in (403, 404) for status in statuses.values()), statuses


@pytest.mark.slow
def test_a_request_cannot_make_the_app_read_a_server_file(locked_app, tmp_path):
    """A raw API request naming a server path as a file input is refused by Gradio (only
    uploaded files pass). gradio_client would upload a local path first, so this uses HTTP."""
    api = _client(locked_app).view_api(return_format="dict", print_info=False)["named_endpoints"]
    targets = [(name, info["parameters"]) for name, info in api.items()
               if any("filepath" in json.dumps([p.get("type"), p.get("python_type")]).lower() for p in info["parameters"])]
    if not targets:
        pytest.skip("no public endpoint takes a file")
    server_file = tmp_path / "server-only.csv"
    server_file.write_text("date,close\n2026-01-02,10\n2026-01-05,11\n2026-01-06,12\n", encoding="utf-8")
    import httpx

    is_file = lambda p: "filepath" in json.dumps([p.get("type"), p.get("python_type")]).lower()  # noqa: E731
    with httpx.Client(base_url=locked_app["url"], headers={"Cookie": _login_cookie(locked_app)}, timeout=60) as http:
        uploaded = http.post("/gradio_api/upload", files={"files": (server_file.name, server_file.read_bytes())}).json()[0]

        def call(endpoint: str, parameters: list, path: str) -> str:
            data = [{"path": path, "meta": {"_type": "gradio.FileData"}} if is_file(p) else p.get("parameter_default")
                    for p in parameters]
            event_id = http.post(f"/gradio_api/call{endpoint}", json={"data": data}).json()["event_id"]
            return http.get(f"/gradio_api/call{endpoint}/{event_id}").text

        for endpoint, parameters in targets:
            refused = call(endpoint, parameters, str(server_file))
            assert "event: error" in refused and "event: complete" not in refused, (endpoint, refused[:300])
            assert "event: complete" in call(endpoint, parameters, uploaded)  # the same file, uploaded: fine


@pytest.mark.slow
def test_sessions_are_recorded_by_a_key_that_is_not_their_session_hash(locked_app):
    ann, bob = _client(locked_app, "ann"), _client(locked_app, "bob")
    ids = {}
    for name, client in (("ann", ann), ("bob", bob)):
        ids[name] = client.predict(prompt=f"{name}'s bottle", width=64, height=64, num_inference_steps=1,
                                   api_name="/generate_image")[2]["record_id"]
    rows = {row["id"]: row for row in ann.predict(api_name="/list_outputs")}
    recorded = {name: rows[ids[name]]["session_id"] for name in ids}
    assert recorded["ann"] and recorded["bob"] and recorded["ann"] != recorded["bob"]
    # what other users can read (records, /list_outputs, exports) cannot be used to act as the session
    assert recorded["ann"] != ann.session_hash and ann.session_hash not in json.dumps(list(rows.values()))


@pytest.mark.slow
def test_secrets_never_reach_errors_status_page_records_exports_or_logs(locked_app):
    from gradio_client.exceptions import AppError

    client = _client(locked_app)
    with pytest.raises(AppError) as caught:  # the video model's path contains the token
        client.predict(prompt="waves", api_name="/generate_video")
    message = str(caught.value)
    assert "Cannot load model" in message and REDACTED in message
    assert TOKEN not in message and API_KEY not in message

    client.predict(prompt=f"remember {TOKEN} and {API_KEY}", max_new_tokens=2, api_name="/generate_text")
    seen = [json.dumps(client.predict(api_name="/system_status")),
            json.dumps(client.predict(api_name="/list_outputs"))]
    for exported in client.predict(api_name="/export_reviews"):
        seen.append(Path(exported["path"] if isinstance(exported, dict) else exported).read_text(encoding="utf-8-sig"))
    conn = http.client.HTTPConnection("127.0.0.1", locked_app["port"], timeout=10)
    conn.request("GET", "/config", headers={"Cookie": _login_cookie(locked_app)})
    seen.append(conn.getresponse().read().decode("utf-8", "replace"))  # the page itself
    for store_file in Path(locked_app["data"]).glob("reviews.sqlite3*"):
        seen.append(store_file.read_bytes().decode("utf-8", "replace"))
    log = Path(locked_app["log"]).read_text(encoding="utf-8", errors="replace")
    assert "preset tiny" in log  # the log is there and is being written
    seen.append(log)
    for secret in (TOKEN, API_KEY, *USERS.values()):
        assert [i for i, text in enumerate(seen) if secret in text] == [], secret


@pytest.mark.slow
def test_logged_in_reviewers_are_their_login_and_edit_only_their_own_review(locked_app):
    ann, bob = _client(locked_app, "ann"), _client(locked_app, "bob")
    _, _, details = ann.predict(prompt="a cup", max_new_tokens=2, seed=6, api_name="/generate_text")
    record_id = details["record_id"]
    assert ann.predict(record_id=record_id, rating=5, api_name="/submit_review")["reviewer"] == "ann"
    assert bob.predict(record_id=record_id, rating=1, api_name="/submit_review")["reviewer"] == "bob"
    again = _client(locked_app, "ann").predict(record_id=record_id, rating=2, api_name="/submit_review")  # a new session
    assert again["reviewer"] == "ann"  # the login, not the session: ann edits her review from anywhere
    row = next(r for r in bob.predict(api_name="/list_outputs") if r["id"] == record_id)
    assert row["review_count"] == 2 and row["mean_rating"] == 1.5
    with pytest.raises((TypeError, ValueError)):
        bob.predict(record_id=record_id, rating=5, reviewer="ann", api_name="/submit_review")


# ---------------------------------------------------------------- the security model (README)


def test_login_guard_throttles_wrong_passwords_per_user():
    from aigc_demo.security import LoginGuard

    now = [0.0]
    guard = LoginGuard(USERS.items(), max_failures=5, window=300, clock=lambda: now[0])
    assert guard("ann", USERS["ann"]) and not guard("ann", "wrong") and guard("ann", USERS["ann"])  # a success resets
    for _ in range(5):
        assert not guard("ann", "guess")
    assert guard.locked("ann") and not guard("ann", USERS["ann"])  # locked: the right password too
    assert guard("bob", USERS["bob"])  # others are not affected
    for _ in range(5):
        assert not guard("nobody", "guess")
    assert guard.locked("nobody")  # unknown names are counted alike
    now[0] += 301
    assert guard("ann", USERS["ann"])  # the window passed


@pytest.mark.slow
def test_login_throttling_through_the_app(locked_app):
    from gradio_client import Client

    def login(user: str, password: str) -> bool:
        try:
            Client(locked_app["url"], auth=(user, password), analytics_enabled=False, verbose=False)
            return True
        except Exception:  # gradio_client raises on a refused login
            return False

    for _ in range(5):
        assert not login("cat", "wrong-password")
    assert not login("cat", USERS["cat"])  # throttled for the next 5 minutes
    assert login("bob", USERS["bob"])


OPEN_WITHOUT_LOGIN = {  # what answers without a login (README: Security model); everything else is 401
    ("GET", "/"): 200,  # the login page
    ("GET", "/gradio_api/startup-events"): 200,
    ("GET", "/theme.css"): 200,
    ("GET", "/manifest.json"): 200,
    ("GET", "/favicon.ico"): 200,
    ("GET", "/robots.txt"): 200,
    ("GET", "/openapi.json"): 200,  # FastAPI's route list: names of Gradio's routes, no app data
    ("POST", "/gradio_api/cancel"): 200,  # acts only with a secret session hash and event id
    ("POST", "/gradio_api/reset"): 200,  # a no-op in Gradio 6
}
CLOSED_WITHOUT_LOGIN = [
    ("GET", "/config"), ("GET", "/gradio_api/info"), ("GET", "/gradio_api/openapi.json"), ("GET", "/monitoring"),
    ("GET", "/gradio_api/queue/data?session_hash=abc"), ("GET", "/gradio_api/file=outputs/x.png"),
    ("POST", "/gradio_api/queue/join"), ("POST", "/gradio_api/upload"), ("POST", "/gradio_api/call/system_status"),
    ("POST", "/gradio_api/call/unload_all"), ("POST", "/gradio_api/call/list_outputs"), ("POST", "/gradio_api/run/predict"),
]


@pytest.mark.slow
def test_which_routes_answer_without_a_login(locked_app):
    body = json.dumps({"session_hash": "abc", "fn_index": 0, "event_id": "x", "data": []})

    def status(method: str, path: str) -> int:
        conn = http.client.HTTPConnection("127.0.0.1", locked_app["port"], timeout=10)
        conn.request(method, path, body if method == "POST" else None, {"Content-Type": "application/json"})
        code = conn.getresponse().status
        conn.close()
        return code

    assert {key: status(*key) for key in OPEN_WITHOUT_LOGIN} == OPEN_WITHOUT_LOGIN
    assert {key: status(*key) for key in CLOSED_WITHOUT_LOGIN} == {key: 401 for key in CLOSED_WITHOUT_LOGIN}
    conn = http.client.HTTPConnection("127.0.0.1", locked_app["port"], timeout=10)  # an open SSE stream
    conn.request("GET", "/gradio_api/heartbeat/abc")
    assert conn.getresponse().status == 200  # keeps a connection, holds no data
    conn.close()


def test_loading_and_unloading_models_needs_a_login_when_others_can_reach_the_app(make_studio):
    from types import SimpleNamespace

    from aigc_demo.core.types import StudioError
    from aigc_demo.ui.system_tab import SystemTab

    def tab(**settings):
        return SystemTab(make_studio(**settings), None)  # type: ignore[arg-type]

    anonymous, ann = SimpleNamespace(username=None), SimpleNamespace(username="ann")
    assert tab().may_manage(anonymous)  # 127.0.0.1, no share: the person at this machine
    for exposed in (dict(host="0.0.0.0"), dict(share=True, allow_public_share=True)):
        with pytest.raises(StudioError, match="needs a login"):
            tab(**exposed).check_may_manage(anonymous)
        chinese = SimpleNamespace(username=None, headers={"accept-language": "zh-CN,zh;q=0.9"})
        with pytest.raises(StudioError, match="需要登录"):
            tab(**exposed).check_may_manage(chinese)
    logged_in = tab(host="0.0.0.0", auth=("ann", USERS["ann"]))
    assert logged_in.may_manage(ann) and not logged_in.may_manage(anonymous)
