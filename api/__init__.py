"""The HTTP server: a FastAPI app with the JSON/NDJSON API, an OpenAI-compatible
endpoint, a login page, and the Gradio UI mounted at `/`, every route behind one gate."""
