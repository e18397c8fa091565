"""The Gradio web UI: `build_app` makes the page, `serve` runs it; `Uploads` switches the
upload box on (the caller injects how files are ingested)."""

from ui.app import build_app, launch_options, serve
from ui.uploads import Uploads

__all__ = ["Uploads", "build_app", "launch_options", "serve"]
