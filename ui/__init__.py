"""The Gradio web UI: `build_app` makes the page that `api.app` mounts; uploads are on when
it gets an `assistant.uploads.Uploads` (the caller injects how files are ingested)."""

from ui.app import build_app

__all__ = ["build_app"]
