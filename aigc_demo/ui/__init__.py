"""The thin Gradio layer: built from scenario data and the studio, wired to stable API names."""

from .app import build_app, launch_kwargs

__all__ = ["build_app", "launch_kwargs"]
