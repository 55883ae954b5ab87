"""VTC: video-text cluster (methods.md §3): caption bank, Sweeper, VTC-Att and their losses.

Per query (inside the text encoder graph): cosine against a constant caption bank, TopK of Kc
neighbours + gather -> cluster [q; n_1..n_Kc]; the Sweeper gives each member a gate g_k (g_0 = 1
for the query); the stage-1 query is the expanded vector normalize(Σ g_k n_k).
Per pair (reranker): VTC-Att lets each frame of a video attend over the gated members,
A = softmax(F W_Q (N W_K)^T / √d + log g); t̂ = mean_t A N; score = cos(t̂, mean frame token).

Choices where the sources are silent (each is a config value):
- The bank's "own small ANN" is an exact cosine + TopK over the (small) bank tensor: it is a
  constant in the graph, so it exports to ONNX with a fixed Kc. A bank smaller than Kc is padded
  with masked rows; a bank member that equals the query (cos > ``self_match_cos``) is masked, so a
  training caption never returns itself as its own neighbour.
- The reranker cannot receive the cluster through the fixed graph contract, so VTC-Att rebuilds the
  cluster from the (expanded) text vector with the same bank and Sweeper; training uses the same
  function, so train and export agree exactly.
- The Sweeper sees each member plus its cosine to the query (an explicit relatedness feature) and
  is supervised with BCE: a member is "clean" when its caption belongs to the query's video (when
  the bank has video ids) or else when it is at least as close to the query's positive video as
  the query itself, minus ``clean_margin``.
- Clustering triplet L_C uses SimCSE-style dropout positives. open_clip text towers have no
  dropout, so the two views apply independent dropout (``dropout``) to the raw sentence vector;
  the negative is another caption of the batch (in-corpus), never one of the same video.
- InfoNCE with cross-batch negatives: a FIFO memory queue of past (detached) video vectors adds
  negatives to the text-to-video direction.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from engine.model.heads.layers import NEG, AttentionBlock, heads_for, masked_mean, masked_softmax, unit
from engine.model.heads.losses import multi_positive_nce, symmetric_nce


@dataclass
class VtcConfig:
    enabled: bool = True
    cluster_size: int = 8              # Kc bank neighbours per query (methods.md proposes 8–16)
    sweeper_layers: int = 1            # transformer blocks of the Sweeper over the Kc+1 members
    head_width: int = 32               # attention head width; heads = D // head_width
    self_match_cos: float = 0.999      # bank members this close to the query are the query itself
    clean_margin: float = 0.05         # Sweeper label without video ids (see module docstring)
    margin: float = 0.2                # γ of the clustering triplet loss (cosine distance)
    dropout: float = 0.1               # SimCSE-style dropout making the triplet's positive view
    queue_size: int = 256              # cross-batch negative memory (video vectors)
    logit_scale: float = 50.0          # 1/temperature of the VTC-Att and queue InfoNCE
    cluster_weight: float = 0.5        # loss weights
    sweeper_weight: float = 0.5
    queue_weight: float = 0.5
    att_weight: float = 1.0


@dataclass
class QueryCluster:
    members: torch.Tensor      # [N, Kc+1, D] unit vectors, the query first
    member_mask: torch.Tensor  # [N, Kc+1] 1 for real members
    gates: torch.Tensor        # [N, Kc+1] Sweeper gates in [0, 1], 1 for the query, 0 on padding
    gate_logits: torch.Tensor  # [N, Kc+1] before the sigmoid (for the Sweeper loss)
    bank_index: torch.Tensor   # [N, Kc] index of each neighbour in the bank


class CaptionBank(nn.Module):
    """Caption embeddings [M, D] as buffers (constants in the exported graphs) and their captions."""

    def __init__(self, width: int, cluster_size: int):
        super().__init__()
        self.cluster_size = cluster_size
        self.register_buffer("embeddings", torch.zeros(cluster_size, width), persistent=False)
        self.register_buffer("valid", torch.zeros(cluster_size), persistent=False)
        self.register_buffer("video_ids", torch.full((cluster_size,), -1, dtype=torch.long), persistent=False)
        self.captions: list[str] = []

    @property
    def size(self) -> int:
        return len(self.captions)

    def set(self, embeddings: torch.Tensor, captions: list[str], video_ids: torch.Tensor | None = None) -> None:
        count, width = embeddings.shape
        if count != len(captions):
            raise ValueError(f"caption bank: {count} embeddings but {len(captions)} captions")
        rows = max(count, self.cluster_size)  # TopK needs at least Kc rows; pad with masked zeros
        device = self.embeddings.device
        bank = torch.zeros(rows, width, device=device)
        bank[:count] = unit(embeddings.detach().to(device, torch.float32))
        valid = torch.zeros(rows, device=device)
        valid[:count] = 1.0
        ids = torch.full((rows,), -1, dtype=torch.long, device=device)
        if video_ids is not None:
            ids[:count] = video_ids.to(device)
        self.embeddings, self.valid, self.video_ids = bank, valid, ids
        self.captions = list(captions)

    def neighbours(self, query: torch.Tensor, self_match_cos: float) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """query [N, D] unit -> (members [N,Kc,D], mask [N,Kc], index [N,Kc])."""
        # bank @ query^T, not query @ bank^T: exported, the bank is a constant, and a transposed constant
        # would be folded into a second copy of it in the graph
        cos = (self.embeddings @ query.t()).t()  # [N, M]
        usable = (self.valid > 0) & (cos < self_match_cos)
        scored = torch.where(usable, cos, torch.full_like(cos, 2 * NEG))
        top, index = scored.topk(self.cluster_size, dim=1)
        members = self.embeddings[index]  # [N, Kc, D]
        return members, (top > NEG).to(query.dtype), index


class Sweeper(nn.Module):
    """Gates the members of a query cluster: noisy (unrelated) captions get gates near 0."""

    def __init__(self, width: int, cfg: VtcConfig):
        super().__init__()
        self.relatedness = nn.Linear(1, width)
        self.blocks = nn.ModuleList(
            AttentionBlock(width, heads_for(width, cfg.head_width)) for _ in range(cfg.sweeper_layers))
        self.ln = nn.LayerNorm(width)
        self.gate = nn.Linear(width, 1)
        self.cos_weight = nn.Parameter(torch.tensor(5.0))  # direct path from relatedness to the gate
        self.cos_bias = nn.Parameter(torch.tensor(-2.5))

    def forward(self, members: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """members [N, C, D] (query first), mask [N, C] -> gate logits [N, C]."""
        cos = torch.einsum("nd,ncd->nc", members[:, 0], members)  # [N, C]
        x = members + self.relatedness(cos.unsqueeze(-1))
        for block in self.blocks:
            x = block(x, mask)
        return self.gate(self.ln(x)).squeeze(-1) + self.cos_weight * cos + self.cos_bias


class QueryClusterer(nn.Module):
    """Query vector -> gated cluster of bank captions, and the expanded stage-1 query."""

    def __init__(self, width: int, cfg: VtcConfig):
        super().__init__()
        self.cfg = cfg
        self.bank = CaptionBank(width, cfg.cluster_size)
        self.sweeper = Sweeper(width, cfg)

    def cluster(self, query: torch.Tensor) -> QueryCluster:
        query = unit(query)
        neighbours, neighbour_mask, index = self.bank.neighbours(query, self.cfg.self_match_cos)
        members = torch.cat([query.unsqueeze(1), neighbours], dim=1)  # [N, Kc+1, D]
        mask = torch.cat([torch.ones_like(neighbour_mask[:, :1]), neighbour_mask], dim=1)
        logits = self.sweeper(members, mask)
        is_query = torch.zeros_like(mask)
        is_query[:, 0] = 1.0
        gates = (torch.sigmoid(logits) * (1.0 - is_query) + is_query) * mask
        return QueryCluster(members, mask, gates, logits, index)

    def expand(self, cluster: QueryCluster) -> torch.Tensor:
        return unit(torch.einsum("nc,ncd->nd", cluster.gates, cluster.members))


class VtcAttention(nn.Module):
    """VTC-Att: each frame of a video weights the members of a query's cluster -> [Nt, Nv] scores."""

    def __init__(self, width: int):
        super().__init__()
        self.ln_frames = nn.LayerNorm(width)
        self.ln_members = nn.LayerNorm(width)
        self.q = nn.Linear(width, width)
        self.k = nn.Linear(width, width)

    def forward(self, cluster: QueryCluster, frames: torch.Tensor, frame_mask: torch.Tensor) -> torch.Tensor:
        q = self.q(self.ln_frames(frames))  # [Nv, T, D]
        k = self.k(self.ln_members(cluster.members))  # [Nt, C, D]
        logits = torch.einsum("vtd,ncd->nvtc", q, k) / math.sqrt(q.shape[-1])
        logits = logits + torch.log(cluster.gates.clamp_min(1e-4))[:, None, None, :]
        attention = masked_softmax(logits, cluster.member_mask[:, None, None, :], dim=3)  # [Nt, Nv, T, C]
        per_member = masked_mean(attention, frame_mask[None, :, :, None], dim=2)  # [Nt, Nv, C]
        refined = unit(torch.einsum("nvc,ncd->nvd", per_member, cluster.members))
        video = unit(masked_mean(unit(frames), frame_mask.unsqueeze(-1), dim=1))  # [Nv, D]
        return (refined * video.unsqueeze(0)).sum(dim=-1)


class VideoQueue(nn.Module):
    """FIFO memory of past video vectors for cross-batch negatives (not saved with the weights)."""

    def __init__(self, width: int, size: int):
        super().__init__()
        self.register_buffer("vectors", torch.zeros(0, width), persistent=False)
        self.size = size

    @torch.no_grad()
    def push(self, vectors: torch.Tensor) -> None:
        self.vectors = torch.cat([vectors.detach(), self.vectors], dim=0)[: self.size]


def cluster_triplet_loss(raw_vectors: torch.Tensor, video_ids: torch.Tensor | None, cfg: VtcConfig) -> torch.Tensor:
    """L_C = mean max(0, U(a, p) - U(a, n) + γ), U = 1 - cos; p = dropout view, n = another caption."""
    batch = raw_vectors.shape[0]
    if batch < 2:
        return raw_vectors.sum() * 0.0
    anchor = unit(F.dropout(raw_vectors, cfg.dropout, training=True))
    positive = unit(F.dropout(raw_vectors, cfg.dropout, training=True))
    offset = int(torch.randint(1, batch, (1,)))
    negative_index = (torch.arange(batch, device=raw_vectors.device) + offset) % batch
    negative = unit(raw_vectors)[negative_index]
    distance_pos = 1.0 - (anchor * positive).sum(-1)
    distance_neg = 1.0 - (anchor * negative).sum(-1)
    loss = F.relu(distance_pos - distance_neg + cfg.margin)
    if video_ids is not None:
        loss = loss * (video_ids != video_ids[negative_index]).to(loss.dtype)
    return loss.mean()


def sweeper_loss(cluster: QueryCluster, bank: CaptionBank, positive_video: torch.Tensor,
                 video_ids: torch.Tensor | None, cfg: VtcConfig) -> torch.Tensor:
    """BCE on the neighbours' gates against clean/noisy labels (module docstring)."""
    mask = cluster.member_mask[:, 1:]
    if float(mask.sum()) == 0.0:
        return cluster.gate_logits.sum() * 0.0
    bank_ids = bank.video_ids[cluster.bank_index]  # [N, Kc]
    if video_ids is not None and bool((bank_ids >= 0).any()):
        clean = bank_ids == video_ids[:, None]
    else:
        video = unit(positive_video.detach())
        query_cos = (cluster.members[:, 0] * video).sum(-1, keepdim=True)
        member_cos = torch.einsum("ncd,nd->nc", cluster.members[:, 1:], video)
        clean = member_cos >= query_cos - cfg.clean_margin
    bce = F.binary_cross_entropy_with_logits(cluster.gate_logits[:, 1:], clean.to(mask.dtype), reduction="none")
    return (bce * mask).sum() / mask.sum()


def queue_nce(stage1: torch.Tensor, text_vectors: torch.Tensor, queue: VideoQueue, positives: torch.Tensor,
              logit_scale: float) -> torch.Tensor:
    """Text-to-video InfoNCE whose negatives include the memory queue; video-to-text as usual."""
    if queue.vectors.shape[0] == 0:
        return symmetric_nce(stage1, positives, logit_scale)
    extra = unit(text_vectors) @ queue.vectors.t()  # [B, Q]
    logits = torch.cat([stage1, extra], dim=1) * logit_scale
    extended = torch.cat([positives, torch.zeros_like(extra, dtype=torch.bool)], dim=1)
    t2v = multi_positive_nce(logits, extended)
    v2t = multi_positive_nce(stage1.t() * logit_scale, positives.t())
    return 0.5 * (t2v + v2t)
