"""Switch off every phone-home path before Chroma, Gradio or Hugging Face code is imported.

Imported first by `assistant/__init__.py`, so any entry point (CLI, UI, tests) is covered.
These libraries read the variables at import time; setting them later is too late.
"""

import os

# setdefault would let a stray shell variable re-enable telemetry: force the values.
OFFLINE_ENV: dict[str, str] = {
    "ANONYMIZED_TELEMETRY": "False",  # Chroma (posthog)
    "GRADIO_ANALYTICS_ENABLED": "False",
    "GRADIO_TELEMETRY_ENABLED": "False",
    "HF_HUB_OFFLINE": "1",
    "HF_HUB_DISABLE_TELEMETRY": "1",
    "HF_HUB_DISABLE_IMPLICIT_TOKEN": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "HF_DATASETS_OFFLINE": "1",
    "DO_NOT_TRACK": "1",
    "LANGSMITH_TRACING": "false",
    "LANGCHAIN_TRACING_V2": "false",
    # FastAPI (0.16x) and Chroma carry OpenTelemetry; one variable would make FastAPI
    # export every request's span, log and metric to an OTLP endpoint.
    "FASTAPI_OTEL_AUTO_CONFIGURE": "false",
    "OTEL_SDK_DISABLED": "true",
    # ONNX Runtime (1.32, the embedder) reports to Microsoft's 1DS collector from native
    # code, on Linux too: every process that loads it looked up
    # mobile.events.data.microsoft.com. Read as the library starts; its Python switch
    # (`disable_telemetry_events`) does not stop that.
    "ORT_DISABLE_TELEMETRY": "1",
}


def enforce() -> dict[str, str]:
    """Set the offline variables in this process (and so its children); return them."""
    os.environ.update(OFFLINE_ENV)
    return dict(OFFLINE_ENV)


enforce()
