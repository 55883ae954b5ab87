"""VTC: caption bank neighbours, Sweeper gating, VTC-Att, clustering triplet, queue InfoNCE."""
from __future__ import annotations

import torch

from engine.model.heads.layers import unit
from engine.model.heads.losses import positive_matrix, symmetric_nce
from engine.model.heads.vtc import (
    QueryClusterer, VideoQueue, VtcAttention, VtcConfig, cluster_triplet_loss, queue_nce, sweeper_loss)


def _clusterer(cluster_size: int = 4) -> QueryClusterer:
    torch.manual_seed(0)
    return QueryClusterer(16, VtcConfig(cluster_size=cluster_size))


def test_neighbours_skip_the_query_itself_and_pad_small_banks():
    clusterer = _clusterer(4)
    bank = unit(torch.randn(3, 16))
    clusterer.bank.set(bank, ["a", "b", "c"])
    cluster = clusterer.cluster(bank[:1])  # the query is caption "a" itself
    assert cluster.members.shape == (1, 5, 16)
    assert cluster.member_mask.tolist() == [[1, 1, 1, 0, 0]]  # query + b + c; two padded slots
    assert set(cluster.bank_index[0, :2].tolist()) == {1, 2}
    assert torch.all(cluster.gates[0, 3:] == 0) and cluster.gates[0, 0] == 1


def test_empty_bank_expands_to_the_query():
    clusterer = _clusterer()
    query = unit(torch.randn(2, 16))
    assert torch.allclose(clusterer.expand(clusterer.cluster(query)), query, atol=1e-6)


def test_sweeper_gate_falls_on_an_injected_unrelated_caption():
    """Related captions lie near their query; one caption of another video is injected into every cluster.
    After a few steps on the Sweeper loss its gate is low and the related gates are high."""
    torch.manual_seed(0)
    cfg = VtcConfig(cluster_size=4)
    clusterer = QueryClusterer(16, cfg)
    queries = torch.eye(16)[:8]  # unrelated to one another
    related = unit(queries.repeat_interleave(3, 0) + 0.1 * torch.randn(24, 16))
    unrelated = unit(queries.mean(dim=0, keepdim=True))  # near enough to be retrieved by every query
    bank = torch.cat([related, unrelated])
    video_ids = torch.cat([torch.arange(8).repeat_interleave(3), torch.tensor([99])])
    clusterer.bank.set(bank, [f"c{i}" for i in range(25)], video_ids)
    optimiser = torch.optim.Adam(clusterer.sweeper.parameters(), lr=1e-2)
    for _ in range(40):
        cluster = clusterer.cluster(queries)
        loss = sweeper_loss(cluster, clusterer.bank, queries, torch.arange(8), cfg)
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
    cluster = clusterer.cluster(queries)
    injected = cluster.bank_index == 24  # 3 related + the unrelated one fill each 4-member cluster
    assert injected.sum(dim=1).eq(1).all()
    gates = cluster.gates[:, 1:]
    assert gates[injected].max() < 0.3
    assert gates[~injected].min() > 0.7
    expanded = clusterer.expand(cluster)
    assert ((expanded * unrelated).sum(-1) < (queries * unrelated).sum(-1) + 0.05).all()


def test_vtc_attention_ignores_padded_frames_and_masked_members():
    clusterer = _clusterer(4)
    clusterer.bank.set(unit(torch.randn(6, 16)), [str(i) for i in range(6)])
    attention = VtcAttention(16)
    cluster = clusterer.cluster(unit(torch.randn(2, 16)))
    frames = unit(torch.randn(3, 5, 16))
    mask = torch.ones(3, 5)
    mask[0, 3:] = 0
    scores = attention(cluster, frames, mask)
    assert scores.shape == (2, 3)
    noisy = frames.clone()
    noisy[0, 3:] = 4.0
    assert torch.allclose(attention(cluster, noisy, mask), scores, atol=1e-5)
    cluster.members[:, 1:] = torch.where(cluster.member_mask[:, 1:, None] > 0, cluster.members[:, 1:], 3.0)
    assert torch.allclose(attention(cluster, frames, mask), scores, atol=1e-5)


def test_cluster_triplet_pushes_other_captions_apart():
    cfg = VtcConfig(margin=0.2, dropout=0.0)
    same = unit(torch.ones(4, 16) + 0.01 * torch.randn(4, 16))  # all captions nearly identical
    spread = unit(torch.eye(16)[:4])  # orthogonal captions: U(a, n) = 1 > margin
    assert cluster_triplet_loss(same, None, cfg) > 0.15
    assert cluster_triplet_loss(spread, None, cfg) == 0
    assert cluster_triplet_loss(same, torch.zeros(4, dtype=torch.long), cfg) == 0  # one video: no negatives


def test_queue_adds_cross_batch_negatives():
    queue = VideoQueue(16, size=5)
    text = unit(torch.randn(3, 16))
    video = text.clone()
    stage1 = text @ video.t()
    positives = positive_matrix(3, None, torch.device("cpu"))
    empty = queue_nce(stage1, text, queue, positives, 10.0)
    assert torch.isclose(empty, symmetric_nce(stage1, positives, 10.0))
    queue.push(unit(text + 0.1 * torch.randn(3, 16)))  # confusable past videos
    queue.push(unit(torch.randn(4, 16)))
    assert queue.vectors.shape == (5, 16)
    assert queue_nce(stage1, text, queue, positives, 10.0) > empty
