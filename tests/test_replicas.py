"""Two app processes (replicas) sharing one PostgreSQL database and one data folder."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

CLIENTS_PER_APP = 5
RECORDS = 20  # 2 apps x 5 clients x 20 records = 200 review submissions
GENERATIONS_PER_APP = 4


def _client(url: str):
    from gradio_client import Client

    return Client(url, analytics_enabled=False, verbose=False, httpx_kwargs={"timeout": 300})  # a busy machine


@pytest.mark.slow
def test_two_replicas_share_reviews_and_record_outputs_without_conflict(tmp_path, postgres, app_cache):
    from conftest import running_app

    from aigc_demo.record import ReviewStore

    database_url = postgres.new_database()
    data = tmp_path / "shared-data"  # one data folder, as on shared storage
    env = {"AIGC_DATABASE_URL": database_url, "AIGC_CACHE_DIR": str(app_cache)}
    with running_app(data, tmp_path / "a.log", env) as (url_a, _), \
            running_app(data, tmp_path / "b.log", env) as (url_b, _):
        a, b = _client(url_a), _client(url_b)

        # a review submitted through one replica is listed by the other
        _, _, details = a.predict(prompt="a bamboo bottle", width=64, height=64, seed=3, api_name="/generate_image")
        first = details["record_id"]
        review = a.predict(record_id=first, rating=4, tags=["great"], comment="从 A 提交", api_name="/submit_review")
        row = next(r for r in b.predict(modality="image", api_name="/list_outputs") if r["id"] == first)
        assert (row["rating"], row["tags"], row["comment"], row["reviewer"]) == (4, ["great"], "从 A 提交", review["reviewer"])

        # both replicas generate at once into the shared folder: every output recorded, no file clobbered
        def generate(client, n: int) -> str:
            _, _, info = client.predict(prompt=f"cup {n}", width=64, height=64, seed=n, api_name="/generate_image")
            return info["record_id"]

        jobs = [(_client(url), n) for n, url in enumerate([url_a, url_b] * GENERATIONS_PER_APP)]
        with ThreadPoolExecutor(len(jobs)) as pool:
            made = {f.result() for f in [pool.submit(generate, c, n) for c, n in jobs]}
        assert len(made) == len(jobs)

        # 200 review submissions at once, spread over both replicas: none lost
        with ReviewStore(data, database_url=database_url) as store:  # a third writer, on the same folder
            targets = [store.add_record(modality="text", prompt=f"p{i}", output_text=f"o{i}") for i in range(RECORDS)]
        clients = [_client(url) for url in [url_a, url_b] for _ in range(CLIENTS_PER_APP)]
        start = threading.Barrier(len(clients))

        def submit_all(client) -> list[str]:
            start.wait()
            return [client.predict(record_id=rid, rating=1 + i % 5, comment=f"c{i}", api_name="/submit_review")["reviewer"]
                    for i, rid in enumerate(targets)]

        with ThreadPoolExecutor(len(clients)) as pool:
            reviewers = [f.result() for f in [pool.submit(submit_all, c) for c in clients]]
        assert all(len(set(names)) == 1 for names in reviewers)  # each client is one reviewer
        assert len({names[0] for names in reviewers}) == len(clients)

    with ReviewStore(data, database_url=database_url) as store:
        placeholders = ", ".join("?" * len(targets))
        count = store.query(f"SELECT COUNT(*) FROM reviews WHERE record_id IN ({placeholders})", targets)[0][0]
        assert count == len(clients) * RECORDS == 200
        for rid in targets:
            assert len(store.get_reviews(rid)) == len(clients)
        images = {r["id"]: r for r in store.list_outputs(modality="image", limit=1000)}
        assert made | {first} <= set(images)
        paths = [Path(p) for rid in made | {first} for p in images[rid]["file_paths"]]
        assert len(set(paths)) == len(paths) and all(p.is_file() and p.parent == data.resolve() / "outputs" for p in paths)
        assert all(images[rid]["status"] == "ok" for rid in made)
        assert store.check_files().missing == []


def test_start_up_cleaning_leaves_a_running_job_of_another_replica_alone(tmp_path):
    import os
    import time

    from aigc_demo.core.files import staging_dir
    from aigc_demo.record import ReviewStore
    from aigc_demo.record.health import STAGING_MIN_AGE_SECONDS, remove_leftovers, self_check

    with ReviewStore(tmp_path / "data") as store:
        running = staging_dir(store.outputs_dir)  # another replica's run, still writing
        (running / "video-part.mp4").write_bytes(b"x")
        crashed = staging_dir(store.outputs_dir)  # a run that died long ago
        left = crashed / "image-half.png"
        left.write_bytes(b"y")
        old = time.time() - 2 * STAGING_MIN_AGE_SECONDS
        os.utime(left, (old, old))
        assert remove_leftovers(store) == 1
    assert running.is_dir() and not crashed.exists()

    # replicas starting at once on one folder (in containers they may even share a pid)
    results: list[bool] = []

    def start_one() -> None:
        health = self_check(tmp_path / "data", 1)
        results.append(health.ok)
        health.store.close()

    threads = [threading.Thread(target=start_one) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == [True] * 8
    assert not list((tmp_path / "data").glob(".write-check-*"))
