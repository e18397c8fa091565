"""The Gradio web UI: `build_app` makes the page, `serve` runs it."""

from ui.app import build_app, launch_options, serve

__all__ = ["build_app", "launch_options", "serve"]
