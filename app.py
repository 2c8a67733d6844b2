"""AIGC Industry Studio - entry point.

    python app.py [--preset auto|gpu|cpu|offline|tiny] [--host H] [--port P] [--share]
                  [--auth user:password] [--data-dir DIR]

Every flag has an AIGC_* environment variable (see README). The page is served before any
model library is imported; models load on the first request that needs them.
"""

from __future__ import annotations

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
    from aigc_demo.settings import from_args

    settings = from_args(argv)
    for note in settings.notes:
        print(f"[aigc] {note}", file=sys.stderr)

    from aigc_demo.studio import Studio
    from aigc_demo.ui import build_app, launch_kwargs
    from aigc_demo.ui.hosting import on_zero_gpu

    studio = Studio(settings)
    demo = build_app(studio)
    if on_zero_gpu():  # ZeroGPU wants models loaded (and .to("cuda")) at start-up
        for modality in ("text", "image", "audio", "video"):
            if settings.model_for(modality):
                studio.load(modality)
    print(f"[aigc] preset {settings.preset}; serving on http://{settings.host}:{settings.port}", file=sys.stderr)
    demo.launch(**launch_kwargs(settings, demo))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
