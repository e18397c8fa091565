"""On-prem assistant core: settings, model backends, embeddings, store, retrieval, answering."""

from assistant import offline as _offline  # noqa: F401  (must run before chromadb/gradio import)

__version__ = "0.1.0"
