"""all-MiniLM-L6-v2 on ONNX Runtime, from the int8 model shipped in `minilm/`.

Chroma's own ONNX MiniLM function loads the tokenizer and the ONNX session; we point it at our
files, forbid its download fallback, and replace its forward pass: Chroma pads every text to
256 tokens, so a 10-word question cost as much as a full chunk (44 ms instead of ~4 ms). Here a
batch is padded only to its longest text, texts are batched by length, and pad positions are
masked out of attention and pooling, so the vectors are the same. `export_onnx.py` made the files.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from chromadb.utils.embedding_functions.onnx_mini_lm_l6_v2 import ONNXMiniLM_L6_V2

from assistant.errors import AssistantError

MODEL_DIR = Path(__file__).resolve().parent / "minilm"
MAX_TOKENS = 256  # what sentence-transformers uses for this model; longer text is truncated
BATCH = 32


class _PackagedMiniLM(ONNXMiniLM_L6_V2):
    DOWNLOAD_PATH = MODEL_DIR.parent
    EXTRACTED_FOLDER_NAME = MODEL_DIR.name

    def _download_model_if_not_exists(self) -> None:
        missing = [f for f in ("model.onnx", "tokenizer.json") if not (MODEL_DIR / f).is_file()]
        if missing:
            raise AssistantError(
                f"{MODEL_DIR}: embedding model files missing ({', '.join(missing)});"
                " reinstall the package or re-run `python scripts/export_onnx.py`"
            )

    @cached_property
    def model(self) -> Any:
        return self._session(threads=0)  # 0: ONNX Runtime's default, one per core

    @cached_property
    def one_thread(self) -> Any:
        """For a single text (a question): spreading it over the cores saves ~1 ms and costs
        ~2 ms more CPU, which the question's searches, run beside it, need more."""
        return self._session(threads=1)

    def _session(self, threads: int) -> Any:
        """Chroma's session, but with idle worker threads that sleep: by default they spin
        for a while after every run, and a question's other work (its searches, run at
        the same time) then waits for a core the spinning holds."""
        options = self.ort.SessionOptions()
        options.log_severity_level = 3
        options.graph_optimization_level = self.ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        options.intra_op_num_threads = threads
        return self.ort.InferenceSession(
            str(MODEL_DIR / "model.onnx"), providers=self._preferred_providers, sess_options=options
        )

    @cached_property
    def tokenizer(self) -> Any:
        tokenizer = self.Tokenizer.from_file(str(MODEL_DIR / "tokenizer.json"))
        tokenizer.enable_truncation(max_length=MAX_TOKENS)
        tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")  # to the batch's longest only
        return tokenizer

    def _forward(self, documents: list[str], batch_size: int = BATCH) -> npt.NDArray[np.float32]:
        session = self.one_thread if len(documents) == 1 else self.model
        # Similar lengths in a batch keep padding (wasted compute) small.
        order = sorted(range(len(documents)), key=lambda i: len(documents[i]))
        out = np.empty((len(documents), 384), dtype=np.float32)
        for start in range(0, len(order), batch_size):
            rows = order[start : start + batch_size]
            encoded = self.tokenizer.encode_batch([documents[i] for i in rows])
            ids = np.array([e.ids for e in encoded], dtype=np.int64)
            mask = np.array([e.attention_mask for e in encoded], dtype=np.int64)
            feed = {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
            hidden = session.run(None, feed)[0]
            weights = mask[:, :, None].astype(np.float32)
            pooled = (hidden * weights).sum(axis=1) / np.clip(weights.sum(axis=1), 1e-9, None)
            out[rows] = self._normalize(pooled)
        return out


class OnnxMiniLM:
    name = "onnx:all-MiniLM-L6-v2-int8"

    def __init__(self) -> None:
        self._fn = _PackagedMiniLM(preferred_providers=["CPUExecutionProvider"])
        self._fn._download_model_if_not_exists()  # here: names the missing files, if any

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        """Straight to the forward pass: Chroma's `__call__` around it checks the model
        files again, copies every vector and validates them, on every question."""
        if not texts:
            return []
        vectors: list[list[float]] = self._fn._forward(list(texts)).tolist()
        return vectors
