"""all-MiniLM-L6-v2 on ONNX Runtime, from the int8 model shipped in `minilm/`.

Chroma's own ONNX MiniLM function does the tokenising, pooling and normalising; we only
point it at our files and forbid its download fallback. `export_onnx.py` made the files.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from chromadb.utils.embedding_functions.onnx_mini_lm_l6_v2 import ONNXMiniLM_L6_V2

from assistant.errors import AssistantError

MODEL_DIR = Path(__file__).resolve().parent / "minilm"


class _PackagedMiniLM(ONNXMiniLM_L6_V2):
    DOWNLOAD_PATH = MODEL_DIR.parent
    EXTRACTED_FOLDER_NAME = MODEL_DIR.name

    def _download_model_if_not_exists(self) -> None:
        missing = [f for f in ("model.onnx", "tokenizer.json") if not (MODEL_DIR / f).is_file()]
        if missing:
            raise AssistantError(
                f"{MODEL_DIR}: embedding model files missing ({', '.join(missing)});"
                " reinstall the package or re-run `python -m assistant.embeddings.export_onnx`"
            )


class OnnxMiniLM:
    name = "onnx:all-MiniLM-L6-v2-int8"

    def __init__(self) -> None:
        self._fn = _PackagedMiniLM(preferred_providers=["CPUExecutionProvider"])

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        if not texts:
            return []
        return [vector.tolist() for vector in self._fn(list(texts))]
