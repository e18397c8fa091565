"""The packaged all-MiniLM-L6-v2 (int8 ONNX): real vectors, no download, no torch."""

import sys

import numpy as np

from assistant.embeddings.onnx import MODEL_DIR, OnnxMiniLM


def test_vectors_are_unit_length_and_384_wide():
    vectors = np.array(OnnxMiniLM().embed(["Llama 2 was released in July 2023.", "Hi"]))
    assert vectors.shape == (2, 384)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-3)


def test_related_texts_are_closer_than_unrelated_ones():
    q, related, unrelated = np.array(
        OnnxMiniLM().embed(
            [
                "Under what licence was Llama 2 released?",
                "LLaMA 2 was released with a commercially permissive license.",
                "Napoleon's army retreated from Russia in the winter of 1812.",
            ]
        )
    )
    assert q @ related > 0.5
    assert q @ related > q @ unrelated + 0.3


def test_a_text_gets_the_same_vector_alone_or_in_a_batch():
    # Padding to the longest text in a batch, and batching by length, must not change any
    # vector or its order; a text over the 256-token limit is truncated, not refused.
    texts = [
        "a much longer sentence about open weights and on-prem inference " * 5,
        "short",
        "word " * 600,
        "a medium sentence about Llama",
    ]
    embedder = OnnxMiniLM()
    batch = np.array(embedder.embed(texts))
    alone = np.array([embedder.embed([t])[0] for t in texts])
    assert np.allclose(batch, alone, atol=1e-5)


def test_model_ships_with_licence_and_provenance_and_needs_no_torch():
    for name in ("model.onnx", "tokenizer.json", "LICENSE", "PROVENANCE.md"):
        assert (MODEL_DIR / name).is_file(), name
    assert (MODEL_DIR / "model.onnx").stat().st_size < 60 * 2**20
    OnnxMiniLM().embed(["loaded"])
    assert "torch" not in sys.modules
