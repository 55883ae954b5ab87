"""The loaded tiny bundle: preprocessing, encoders, batching, and a rerank that ignores padding."""
from __future__ import annotations

import numpy as np
import pytest

from engine.runtime import load_model
from engine.runtime.model import FRAME_BATCH, TextEmbedding, preprocess_frames


@pytest.fixture(scope="module")
def model(runtime_bundle):
    return load_model(runtime_bundle, device="cpu")


def frames(n: int, h: int = 48, w: int = 80, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, size=(n, h, w, 3), dtype=np.uint8)


def test_info_and_providers(model):
    assert model.info.name == "clipseek-tiny-random"
    assert (model.info.embed_dim, model.info.frames_per_clip, model.info.image_size) == (64, 4, 64)
    assert model.providers == ["CPUExecutionProvider"]


def test_preprocess_resizes_short_side_and_center_crops():
    frame = np.zeros((100, 200, 3), dtype=np.uint8)
    frame[:, 50:150] = 255  # the centre square is white, the sides black
    out = preprocess_frames([frame], 50, mean=(0.5, 0.5, 0.5), std=(0.5, 0.5, 0.5))
    assert out.shape == (1, 3, 50, 50) and out.dtype == np.float32
    assert np.allclose(out[0, :, :, 3:-3], 1.0, atol=1e-2)  # (1 - 0.5) / 0.5 inside the white square


def test_preprocess_of_exact_size_is_pure_normalisation():
    frame = frames(1, 64, 64)[0]
    out = preprocess_frames([frame], 64, mean=(0.1, 0.2, 0.3), std=(0.5, 0.25, 0.2))
    want = (frame.astype(np.float32) / 255 - [0.1, 0.2, 0.3]) / [0.5, 0.25, 0.2]
    assert np.allclose(out[0], want.transpose(2, 0, 1), atol=1e-6)


def test_preprocess_refuses_non_rgb():
    with pytest.raises(ValueError, match="RGB uint8"):
        preprocess_frames([np.zeros((8, 8), np.uint8)], 8, (0, 0, 0), (1, 1, 1))


def test_encode_frames_batches_internally(model):
    batch = frames(FRAME_BATCH + 5)
    features = model.encode_frames(batch)
    assert features.shape == (FRAME_BATCH + 5, 64) and features.dtype == np.float32
    assert np.allclose(np.linalg.norm(features, axis=1), 1.0, atol=1e-5)
    one_by_one = np.concatenate([model.encode_frames(batch[i:i + 1]) for i in (0, FRAME_BATCH + 4)])
    assert np.allclose(one_by_one, features[[0, FRAME_BATCH + 4]], atol=1e-5)
    assert model.encode_frames(frames(0)).shape == (0, 64)


def test_encode_frames_accepts_frames_of_different_sizes(model):
    out = model.encode_frames([frames(1, 30, 40)[0], frames(1, 90, 60)[0]])
    assert out.shape == (2, 64)


def test_encode_clips_masked_mean(model):
    features = model.encode_frames(frames(8)).reshape(2, 4, 64)
    mask = np.array([[1, 1, 1, 1], [1, 1, 0, 0]], dtype=np.float32)
    clips = model.encode_clips(features, mask)
    assert clips.vector.shape == (2, 64) and clips.clip_tokens.shape == (2, 1, 64)
    assert clips.frame_tokens.shape == (2, 4, 64)
    mean = features[1, :2].mean(0)
    assert np.allclose(clips.vector[1], mean / np.linalg.norm(mean), atol=1e-5)
    with pytest.raises(ValueError, match=r"frame_features \[B,4,64\]"):
        model.encode_clips(features[:, :3], mask[:, :3])


def test_encode_text(model):
    query = model.encode_text(["a dog on the beach", "two cats"])
    assert isinstance(query, TextEmbedding) and len(query) == 2
    # The tiny bundle's causal text encoder takes the batch's longest text at its own length (7 of 32).
    assert model.info.variable_text_length
    assert query.word_tokens.shape == (2, 7, 64) and query.phrase_tokens.shape == (2, 1, 64)
    assert query.word_mask.shape == (2, 7)
    assert query.word_mask[1].sum() == 4  # start, "two", "cats", end
    assert np.allclose(np.linalg.norm(query.vector, axis=1), 1.0, atol=1e-5)
    assert np.allclose(model.encode_text(["two cats"]).vector, query.vector[1], atol=1e-5)


def test_short_texts_encode_as_the_full_context_does(runtime_bundle):
    """The graph takes the whole context length too; cutting the padding changes no output."""
    short = load_model(runtime_bundle, device="cpu", graphs=("text_encoder", "reranker"))
    full = load_model(runtime_bundle, device="cpu", graphs=("text_encoder", "reranker"))
    full.text_encoder.variable_length = False
    texts = ["a dog on the beach", "two cats", "a red square moving left while a blue circle grows"]
    cut, whole = short.encode_text(texts), full.encode_text(texts)
    width = cut.word_tokens.shape[1]
    assert whole.word_tokens.shape[1] == 32 and width == int(whole.word_mask.sum(axis=1).max()) < 32
    np.testing.assert_allclose(cut.vector, whole.vector, atol=1e-5)
    np.testing.assert_allclose(cut.phrase_tokens, whole.phrase_tokens, atol=1e-5)
    np.testing.assert_array_equal(cut.word_mask, whole.word_mask[:, :width])
    np.testing.assert_allclose(cut.word_tokens * cut.word_mask[..., None],
                               whole.word_tokens[:, :width] * whole.word_mask[:, :width, None], atol=1e-5)
    clip_tokens = np.random.default_rng(1).normal(size=(5, 1, 64)).astype(np.float32)
    frame_tokens = np.random.default_rng(2).normal(size=(5, 4, 64)).astype(np.float32)
    mask = np.ones((5, 4), np.float32)
    for i in range(len(texts)):
        np.testing.assert_allclose(short.rerank(cut.row(i), clip_tokens, frame_tokens, mask),
                                   full.rerank(whole.row(i), clip_tokens, frame_tokens, mask), atol=1e-5)


def test_batches_of_different_lengths_join(runtime_bundle, monkeypatch):
    import engine.runtime.model as runtime_model

    monkeypatch.setattr(runtime_model, "TEXT_BATCH", 2)
    model = load_model(runtime_bundle, device="cpu", graphs=("text_encoder",))
    texts = ["a cat", "a dog", "a long sentence about a small dog that runs along a beach"]
    joined = model.encode_text(texts)
    alone = model.encode_text(texts[2:])
    assert joined.word_tokens.shape[1] == alone.word_tokens.shape[1]
    np.testing.assert_allclose(joined.vector[2], alone.vector[0], atol=1e-5)
    assert joined.word_mask[0].sum() == 4 and not joined.word_mask[0, 4:].any()


def reference_max_mean(words, word_mask, frame_tokens, frame_mask):
    w = words[word_mask > 0]
    w = w / np.linalg.norm(w, axis=1, keepdims=True)
    scores = []
    for tokens, mask in zip(frame_tokens, frame_mask):
        f = tokens[mask > 0]
        f = f / np.linalg.norm(f, axis=1, keepdims=True)
        sim = w @ f.T
        scores.append(0.5 * (sim.max(1).mean() + sim.max(0).mean()))
    return np.array(scores)


def test_rerank_is_max_mean_and_ignores_padding(model):
    features = model.encode_frames(frames(12, seed=3)).reshape(3, 4, 64)
    mask = np.array([[1, 1, 1, 1], [1, 1, 1, 0], [1, 0, 0, 0]], dtype=np.float32)
    clips = model.encode_clips(features, mask)
    query = model.encode_text(["a red ball"])
    scores = model.rerank(query, clips.clip_tokens, clips.frame_tokens, mask)
    assert scores.shape == (3,) and scores.dtype == np.float32
    want = reference_max_mean(query.word_tokens[0], query.word_mask[0], clips.frame_tokens, mask)
    assert np.allclose(scores, want, atol=1e-5)
    noisy = clips.frame_tokens.copy()
    noisy[mask == 0] = np.random.default_rng(9).normal(size=(int((mask == 0).sum()), 64))
    assert np.allclose(model.rerank(query, clips.clip_tokens, noisy, mask), scores, atol=1e-6)
    assert model.rerank(query, clips.clip_tokens[:0], noisy[:0], mask[:0]).shape == (0,)


def test_rerank_takes_one_query(model):
    query = model.encode_text(["a", "b"])
    with pytest.raises(ValueError, match="one query"):
        model.rerank(query, np.zeros((1, 1, 64)), np.zeros((1, 4, 64)), np.ones((1, 4)))
    assert model.rerank(query.row(1), np.ones((2, 1, 64)), np.ones((2, 4, 64)), np.ones((2, 4))).shape == (2,)


def test_tokenizer_from_bundle(runtime_bundle, model):
    from engine.runtime import Tokenizer

    tokenizer = Tokenizer.from_bundle(runtime_bundle)
    ids = tokenizer.encode(["hello world"])
    assert ids.shape == (1, 32) and ids.dtype == np.int64
    assert ids[0, 0] == 49406 and ids[0, 3] == 49407 and not ids[0, 4:].any()
    cut = tokenizer.encode(["hello world", "a"], pad_to_longest=True)
    assert cut.shape == (2, 4) and (cut[0] == ids[0, :4]).all() and cut[1].tolist() == [49406, 320, 49407, 0]
    assert tokenizer.encode([" ".join(["word"] * 50)], pad_to_longest=True).shape == (1, 32)
