"""AIGC Industry Studio - entry point.

    python app.py [--preset auto|gpu|cpu|offline|tiny] [--host H] [--port P] [--share]
                  [--auth user:password | --auth FILE] [--allow-public-share] [--data-dir DIR]
                  [--database-url postgresql://...] [--mcp]

Every flag has an AIGC_* environment variable (see README). The page is served before any
model library is imported; models load on the first request that needs them. ``--share``
without ``--auth`` is refused unless ``--allow-public-share`` is given too. Secrets such as
HF_TOKEN are redacted from everything this process prints.
"""

from __future__ import annotations

import gc
import os
import sys
from typing import Sequence

# Offline-safe defaults: no analytics, no telemetry, no version check. Set before gradio loads.
for _name, _value in (
    ("GRADIO_ANALYTICS_ENABLED", "False"),
    ("HF_HUB_DISABLE_TELEMETRY", "1"),
    ("DO_NOT_TRACK", "1"),
):
    os.environ.setdefault(_name, _value)


def main(argv: Sequence[str] | None = None) -> int:
    from aigc_demo.security import UnsafeSharing, install_log_redaction, sharing_warnings

    install_log_redaction()  # before anything can print or create a log handler
    from aigc_demo.settings import from_args

    try:
        settings = from_args(argv)
        warnings = sharing_warnings(settings.share, settings.auth, settings.allow_public_share, settings.host)
    except (ValueError, OSError) as error:
        print(f"[aigc] configuration error: {error}", file=sys.stderr)
        return 2
    except UnsafeSharing as error:
        print(f"[aigc] {error}", file=sys.stderr)
        return 2
    for note in settings.notes:
        print(f"[aigc] {note}", file=sys.stderr)
    for warning in warnings:
        banner = "!" * 78
        print(f"{banner}\n[aigc] {warning}\n{banner}", file=sys.stderr)

    from aigc_demo.record.health import self_check

    health = self_check(settings.data_dir, settings.min_free_disk_mb, clean=True, database_url=settings.database_url)
    if not health.ok:  # a data directory or database that would fail every request
        print(f"[aigc] cannot start: {health.problem}", file=sys.stderr)
        return 2
    for item in health.store.quarantined if health.store else []:  # found (and moved aside) just now
        print(f"[aigc] quarantined a damaged {item['kind']} {item['key']}: {item['reason']}", file=sys.stderr)
    if health.cleaned:
        print(f"[aigc] removed {health.cleaned} leftover file(s) under outputs/", file=sys.stderr)

    from aigc_demo.studio import Studio
    from aigc_demo.ui import build_app, launch_kwargs
    from aigc_demo.ui.hosting import on_zero_gpu

    gc.freeze()  # the imported libraries' ~170k objects stay for good: full collections skip them
    studio = Studio(settings, store=health.store)
    demo = build_app(studio)
    if on_zero_gpu():  # ZeroGPU wants models loaded (and .to("cuda")) at start-up
        for modality in ("text", "image", "audio", "video"):
            if settings.model_for(modality):
                studio.load(modality)
    print(f"[aigc] preset {settings.preset}; serving on http://{settings.host}:{settings.port}", file=sys.stderr)
    try:
        demo.launch(**launch_kwargs(settings, demo))
    except OSError as error:  # port taken, host unknown: one line, not a traceback
        print(f"[aigc] cannot serve on {settings.host}:{settings.port}: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
