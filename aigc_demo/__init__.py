"""AIGC Industry Studio: generative AI for traditional industries, in one Gradio app."""

__version__ = "0.1.0"
