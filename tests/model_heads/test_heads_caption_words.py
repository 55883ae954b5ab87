"""Caption-word prediction: the training-only loss that asks the video vector to name its caption's words."""
from __future__ import annotations

import pytest
import torch

from engine.model.heads.caption_words import CaptionWordHead, CaptionWordsConfig

CAPTIONS = ["a big red circle moves left", "a small blue square moves right",
            "a big green star grows", "a small red triangle shrinks"]


def _mask(token_ids: torch.Tensor) -> torch.Tensor:
    from engine.model.backbone import word_mask

    class _Tower:  # argmax pooling: end-of-text is the largest id, as in CLIP's tokenizer
        text_pool_type = "argmax"
    return word_mask(_Tower(), token_ids)


def test_the_loss_falls_to_its_floor_when_the_video_side_learns_the_words(tokenize):
    torch.manual_seed(0)
    ids = tokenize(CAPTIONS)
    embedding = torch.randn(int(ids.max()) + 1, 64)
    video = torch.nn.Parameter(torch.randn(len(CAPTIONS), 8))
    head = CaptionWordHead(8, 64)
    optimizer = torch.optim.Adam([video, *head.parameters()], lr=0.05)
    first = float(head(video, ids, _mask(ids), embedding).detach())
    for _ in range(300):
        loss = head(video, ids, _mask(ids), embedding)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    # the floor is the entropy of the uniform target: log(words per caption), here log 6 or log 5
    floor = sum(torch.log(torch.tensor(float(len(c.split())))) for c in CAPTIONS) / len(CAPTIONS)
    assert first > floor + 0.5
    assert float(loss.detach()) < floor + 0.05


def test_start_and_end_of_text_and_padding_are_not_words(tokenize):
    ids = tokenize(["a red circle"])
    embedding = torch.zeros(int(ids.max()) + 1, 4)
    head = CaptionWordHead(4, 4)
    # with all-zero classifiers every candidate word is equally likely: the loss is log(candidates)
    loss = head(torch.randn(1, 4), ids, _mask(ids), embedding)
    assert float(loss.detach()) == pytest.approx(float(torch.log(torch.tensor(3.0))), abs=1e-5)


def test_a_batch_without_words_gives_a_zero_loss_that_still_backpropagates(tokenize):
    ids = tokenize([""])
    video = torch.randn(1, 4, requires_grad=True)
    loss = CaptionWordHead(4, 4)(video, ids, _mask(ids), torch.zeros(int(ids.max()) + 1, 4))
    loss.backward()
    assert float(loss.detach()) == 0.0 and video.grad is not None


def test_an_unknown_source_is_refused():
    with pytest.raises(ValueError, match="caption_words.source"):
        CaptionWordsConfig(enabled=True, source="audio")


@pytest.mark.parametrize("source", ["video", "frames"])
def test_the_stack_adds_the_loss_and_trains_the_frame_side_through_it(make_model, tokenize, frames_of, source):
    model = make_model("stack_full", caption_words=CaptionWordsConfig(enabled=True, weight=1.0, source=source))
    features = frames_of(4, width=model.width).requires_grad_(True)
    batch = {"frame_features": features, "frame_mask": torch.ones(4, features.shape[1]),
             "token_ids": tokenize(CAPTIONS), "video_ids": torch.arange(4)}
    losses = model.losses(batch)
    assert torch.isfinite(losses["caption_words"]) and float(losses["caption_words"].detach()) > 0
    losses["caption_words"].backward()
    assert features.grad is not None and float(features.grad.abs().sum()) > 0


def test_off_by_default_and_kept_in_the_stack_config(make_model):
    from engine.model.stack import StackConfig

    assert not hasattr(make_model("stack_full"), "caption_words")
    with_words = make_model("stack_full", caption_words=CaptionWordsConfig(enabled=True, source="frames"))
    again = StackConfig.from_dict(with_words.cfg.to_dict())
    assert again.caption_words == CaptionWordsConfig(enabled=True, source="frames")
