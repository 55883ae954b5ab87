"""Caption-word prediction: an auxiliary training loss that asks the video side to name its caption's words.

A contrastive loss teaches an attribute only through the batch's captions that differ in it, and only as
much as the rest of the score leaves room for; on the shapes world the shape word stayed near chance
(benchmarks/RESULTS.md, "Which attribute is missed"). This loss gives every clip a direct signal for
every word of its caption, in the spirit of the word/tag prediction objectives of video–language
pre-training.

The classifier of a word is the text tower's own token embedding, so no vocabulary-sized layer is added:
    logits[b, v] = s cos(W video[b], E[token v])     over the tokens v found in this batch's captions
    loss = mean_b  -sum_v q[b, v] log softmax(logits[b])[v],   q[b] uniform over caption b's words
with a fixed scale s: the embeddings start at std 0.02, and a plain dot product stayed at the uniform
loss through a whole pilot. Start- and end-of-text and padding are not words. Training only: nothing of it is
exported.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

SOURCES = ("video", "frames")


@dataclass
class CaptionWordsConfig:
    enabled: bool = False
    weight: float = 1.0
    source: str = "video"   # "video": the stage-1 video vector; "frames": the mean of the frame features
    logit_scale: float = 20.0

    def __post_init__(self):
        if self.source not in SOURCES:
            raise ValueError(f"caption_words.source must be one of {SOURCES}, not {self.source!r}")


class CaptionWordHead(nn.Module):
    def __init__(self, width: int, text_width: int, logit_scale: float = 20.0):
        super().__init__()
        self.project = nn.Linear(width, text_width)
        self.logit_scale = logit_scale

    def forward(self, video: torch.Tensor, token_ids: torch.Tensor, word_mask: torch.Tensor,
                token_embedding: torch.Tensor) -> torch.Tensor:
        """video [B,D], token_ids [B,L], word_mask [B,L] (1 from start- to end-of-text), embedding [V,W]."""
        inner = word_mask.clone()
        inner[:, 0] = 0                                     # start-of-text
        last = word_mask.sum(dim=1).long() - 1              # end-of-text position
        inner[torch.arange(inner.shape[0]), last.clamp(min=0)] = 0
        words = token_ids[inner > 0]
        if words.numel() == 0:
            return video.sum() * 0.0
        vocab, index = torch.unique(words, return_inverse=True)
        targets = torch.zeros(token_ids.shape[0], vocab.shape[0], device=video.device, dtype=video.dtype)
        rows = torch.nonzero(inner > 0, as_tuple=True)[0]
        targets[rows, index] = 1.0
        has_words = targets.sum(dim=1) > 0
        targets = targets[has_words] / targets[has_words].sum(dim=1, keepdim=True)
        logits = self.logit_scale * (F.normalize(self.project(video[has_words]), dim=-1)
                                     @ F.normalize(token_embedding[vocab], dim=-1).t())
        return -(targets * F.log_softmax(logits, dim=1)).sum(dim=1).mean()
