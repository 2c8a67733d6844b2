"""The app's page made once per address (``aigc_demo.ui.page_cache``), in front of a real Gradio
app: later visits and HEAD get Gradio's page without it being made again (compressed for
browsers), visitors arriving while it is made wait for that one, another address or a new config
gets a page of its own, and with a login nothing is kept."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Iterator

import gradio as gr
import gradio.route_utils
import httpx
import pytest
from starlette.middleware import Middleware

from aigc_demo.ui.page_cache import PageCache
from conftest import free_port


@pytest.fixture
def pages_made(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The root URL of every page Gradio makes (its ``main`` puts it into each page it makes)."""
    made: list[str] = []
    update = gradio.route_utils.update_root_in_config

    def counted(config: Any, root: str) -> Any:
        made.append(root)
        return update(config, root)

    monkeypatch.setattr(gradio.route_utils, "update_root_in_config", counted)
    return made


def _launch(**options: Any) -> gr.Blocks:
    with gr.Blocks(title="first title") as demo:
        box, out = gr.Textbox(), gr.Textbox()
        box.submit(str.upper, box, out, api_name="shout")
    demo.launch(server_name="127.0.0.1", server_port=free_port(), prevent_thread_lock=True, quiet=True,
                app_kwargs={"middleware": [Middleware(PageCache)]}, **options)
    return demo


@pytest.fixture
def served() -> Iterator[gr.Blocks]:
    demo = _launch()
    try:
        yield demo
    finally:
        demo.close()


def test_later_visits_and_head_get_the_page_made_once(served: gr.Blocks, pages_made: list[str]):
    url = served.local_url
    first = httpx.get(url)
    again = httpx.get(url)
    head = httpx.head(url)
    assert first.status_code == again.status_code == head.status_code == 200
    assert again.content == first.content and b"first title" in first.content
    assert head.content == b"" and head.headers["content-length"] == first.headers["content-length"]
    assert head.headers["content-type"] == first.headers["content-type"]
    assert pages_made == []  # launch() asked for the page (HEAD) before these: made then, once
    assert httpx.get(url + "gradio_api/info").status_code == 200  # other routes pass through
    # A browser's visit: the same page, brotli-compressed once (Gradio sends its page uncompressed).
    for _ in range(2):
        browser = httpx.get(url, headers={"accept-encoding": "gzip, deflate, br, zstd"})
        assert browser.headers["content-encoding"] == "br" and browser.headers["vary"] == "Accept-Encoding"
        assert int(browser.headers["content-length"]) < len(first.content) / 2
        assert browser.content == first.content  # decoded by httpx
    plain = httpx.get(url, headers={"accept-encoding": "identity"})
    assert "content-encoding" not in plain.headers and plain.content == first.content
    assert pages_made == []


def test_visitors_arriving_while_the_page_is_made_get_that_page(served: gr.Blocks, pages_made: list[str],
                                                                 monkeypatch: pytest.MonkeyPatch):
    counted = gradio.route_utils.update_root_in_config

    def slowly(config: Any, root: str) -> Any:
        time.sleep(0.5)  # a page of ~800 blocks takes 0.1-0.3 s to make on 2 cores
        return counted(config, root)

    monkeypatch.setattr(gradio.route_utils, "update_root_in_config", slowly)
    url = f"http://localhost:{served.server_port}/"  # an address launch() has not asked for
    with ThreadPoolExecutor(4) as pool:
        pages = list(pool.map(lambda method: httpx.request(method, url, timeout=30), ["GET", "GET", "HEAD", "GET"]))
    assert [page.status_code for page in pages] == [200] * 4
    assert pages[0].content == pages[1].content == pages[3].content and pages[2].content == b""
    assert len(pages_made) == 1


def test_another_address_or_a_new_config_gets_a_page_of_its_own(served: gr.Blocks, pages_made: list[str]):
    port = served.server_port
    local = httpx.get(f"http://localhost:{port}/")
    assert f"http://localhost:{port}".encode() in local.content and len(pages_made) == 1
    proxied = httpx.get(served.local_url, headers={"x-forwarded-host": "studio.example.org"})
    assert b"http://studio.example.org" in proxied.content and len(pages_made) == 2
    assert httpx.get(f"http://localhost:{port}/").content == local.content and len(pages_made) == 2
    served.title = "second title"
    served.config = served.get_config_file()  # as Gradio does when it reloads an app
    assert b"second title" in httpx.get(f"http://localhost:{port}/").content and len(pages_made) == 3


def test_nothing_is_kept_when_visitors_log_in(pages_made: list[str]):
    demo = _launch(auth=("reviewer", "a long passphrase"))
    try:
        page = httpx.get(demo.local_url)
        assert page.status_code == 200 and b"auth_required" in page.content  # the login page
        with httpx.Client() as client:
            login = client.post(demo.local_url + "login", data={"username": "reviewer", "password": "a long passphrase"})
            assert login.status_code == 200
            pages = [client.get(demo.local_url) for _ in range(2)]
        assert all(b'"username":"reviewer"' in page.content.replace(b" ", b"") for page in pages)
        assert len(pages_made) == 2  # made for each visit: the page names who is logged in
    finally:
        demo.close()
