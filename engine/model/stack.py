"""The composite text–video model: an open_clip backbone with the five method heads and their fusion.

Built by ``build_model(StackConfig)`` (never touches disk); weights are loaded separately. The model
implements ``ExportableModel`` (four graph modules with the I/O of docs/architecture.md) and gives the
trainer ``encode_*``, ``stage1_scores``, ``stage2_scores`` and ``losses``.

Where each method lives (the export constraint):
- frame encoder: backbone image tower, with VoP visual prompts inside;
- clip encoder (per segment, from its T frame features): HCMI temporal self-attention with frame
  positions -> T frame tokens, adaptive clustering -> K clip tokens, video token -> stage-1 vector;
- text encoder (from token ids): backbone text tower with VoP text prompts -> word tokens, HCMI
  phrase pooling -> P phrase tokens, end-of-text sentence vector, VTC expansion (caption bank is a
  constant: cosine + TopK + gather + Sweeper) -> stage-1 query;
- reranker (one query vs N candidates' stored tokens): HCMI levels, VTC-Att, DMAE, HBCI, fused.
  The video vector it needs is recomputed from the stored clip tokens, so the reranker's score is
  exactly the stage-2 score of training.
The graph modules share this model's weights (no copies); the model has no dropout or batch norm,
so their outputs do not depend on train/eval mode. ``losses`` in training mode also pushes the batch's
video vectors into the VTC cross-batch queue.
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields, is_dataclass
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import open_clip
import torch
from torch import nn

from engine.errors import BundleError
from engine.model import backbone
from engine.model.exportable import ExportSpec
from engine.model.heads.caption_words import CaptionWordHead, CaptionWordsConfig
from engine.model.heads.dmae import DmaeConfig, DmaeInteraction, TpmCl, neg_nce
from engine.model.heads.fusion import FusionConfig, ScoreFusion
from engine.model.heads.hbci import HbciConfig, HbciHead, hbci_losses
from engine.model.heads.hcmi import (
    FrameClusterer, HcmiConfig, HcmiScorer, PhrasePooler, TemporalFrameEncoder, VideoPool, hcmi_losses,
    latent_positives, token_max_mean)
from engine.model.heads.layers import masked_mean, prior_pool, unit
from engine.model.heads.layout import FrameLayout, LayoutConfig
from engine.model.heads.losses import distill_kl, positive_matrix, symmetric_nce
from engine.model.heads.reversal import ReversalConfig, reversal_loss, reverse_frames
from engine.model.heads.vop import TextPrompts, VisionPrompts, VopConfig
from engine.model.heads.vtc import (
    QueryClusterer, VideoQueue, VtcAttention, VtcConfig, cluster_triplet_loss, queue_nce, sweeper_loss)

CONFIG_DIR = Path(__file__).parent / "configs"
HEADS = ("hcmi", "vtc", "dmae", "hbci", "vop")


class StackConfigError(BundleError):
    """A stack configuration cannot be found or does not describe a model."""


@dataclass
class StackConfig:
    name: str = "clipseek-stack"       # bundle name
    backbone: str = "clipseek-tiny"    # open_clip model name
    frames_per_clip: int = 12          # T frames per segment
    clip_tokens: int = 4               # K clip tokens per segment
    phrase_tokens: int = 4             # P phrase tokens per query
    stage1_weight: float = 1.0         # loss weight of the stage-1 InfoNCE (text vector vs video vector)
    resize: str = "center_crop"        # frame preprocessing: "center_crop" (pretrained CLIP) or "squash"
    hcmi: HcmiConfig = field(default_factory=HcmiConfig)
    vtc: VtcConfig = field(default_factory=VtcConfig)
    dmae: DmaeConfig = field(default_factory=DmaeConfig)
    hbci: HbciConfig = field(default_factory=HbciConfig)
    vop: VopConfig = field(default_factory=VopConfig)
    fusion: FusionConfig = field(default_factory=FusionConfig)
    layout: LayoutConfig = field(default_factory=LayoutConfig)  # frame vectors that say where things are
    caption_words: CaptionWordsConfig = field(default_factory=CaptionWordsConfig)  # training-only word loss
    reversal: ReversalConfig = field(default_factory=ReversalConfig)  # training-only time-reversal negatives

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "StackConfig":
        return _dataclass_from_dict(cls, data, "stack config")

    @classmethod
    def from_json(cls, path_or_name: str | Path) -> "StackConfig":
        """A JSON file path, or the name of one of engine/model/configs/{stack,method}_*.json."""
        path = Path(path_or_name)
        if not path.is_file():
            path = CONFIG_DIR / f"{path_or_name}.json"
        if not path.is_file():
            raise StackConfigError(f"no stack config {str(path_or_name)!r}; pass a JSON file or one of: "
                                   f"{', '.join(stack_config_names())}")
        try:
            data = json.loads(path.read_text())
        except json.JSONDecodeError as exc:
            raise StackConfigError(f"{path}: not valid JSON ({exc}); fix the file") from exc
        return cls.from_dict(data)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def enabled_heads(self) -> list[str]:
        return [name for name in HEADS if getattr(self, name).enabled]


def stack_config_names() -> list[str]:
    return sorted(p.stem for p in CONFIG_DIR.glob("*.json") if p.stem.startswith(("stack_", "method_")))


def _dataclass_from_dict(cls: type, data: dict[str, Any], where: str):
    known = {f.name: f for f in fields(cls)}
    unknown = sorted(set(data) - set(known))
    if unknown:
        raise StackConfigError(f"{where}: unknown keys {unknown}; known keys: {sorted(known)}")
    values = {}
    defaults = cls()
    for key, value in data.items():
        current = getattr(defaults, key)
        if is_dataclass(current):
            if not isinstance(value, dict):
                raise StackConfigError(f"{where}.{key}: expected an object, got {value!r}")
            value = _dataclass_from_dict(type(current), value, f"{where}.{key}")
        values[key] = value
    return cls(**values)


@dataclass
class VideoOut:
    vector: torch.Tensor        # [B, D] L2-normalised stage-1 video vector (the ANN vector)
    clip_tokens: torch.Tensor   # [B, K, D]
    frame_tokens: torch.Tensor  # [B, T, D], zero on padded frames


@dataclass
class TextOut:
    vector: torch.Tensor         # [N, D] L2-normalised stage-1 query (VTC-expanded when VTC is on)
    word_tokens: torch.Tensor    # [N, L, D]
    phrase_tokens: torch.Tensor  # [N, P, D]
    word_mask: torch.Tensor      # [N, L] float 0/1
    raw_vector: torch.Tensor     # [N, D] L2-normalised end-of-text vector before expansion


class Stage2(NamedTuple):
    fused: torch.Tensor                 # [Nt, Nv]
    heads: dict[str, torch.Tensor]      # component name -> [Nt, Nv] (see heads/fusion.py COMPONENTS)


class VideoTextModel(nn.Module):
    def __init__(self, cfg: StackConfig, clip: nn.Module, mean: tuple[float, float, float],
                 std: tuple[float, float, float], weights: str = "random"):
        super().__init__()
        self.cfg = cfg
        self.clip = clip
        self.mean, self.std, self.weights_source = mean, std, weights
        self.width = width = backbone.embed_dim(clip)
        self.context_length = int(backbone.text_tower(clip).context_length)
        t, k, p = cfg.frames_per_clip, cfg.clip_tokens, cfg.phrase_tokens
        if cfg.vop.enabled:
            self.vision_prompts = VisionPrompts(clip.visual, t, cfg.vop)
            self.text_prompts = TextPrompts(clip, cfg.vop)
        if cfg.layout.enabled:
            self.layout = FrameLayout(clip.visual.class_embedding.shape[0], backbone.patch_grid_cells(clip),
                                      width, cfg.layout)
        if cfg.hcmi.enabled:
            self.temporal = TemporalFrameEncoder(width, t, cfg.hcmi)
            self.frame_clusterer = FrameClusterer(width, k, cfg.hcmi)
            self.video_pool = VideoPool(width)
            self.phrase_pooler = PhrasePooler(width, p, self.context_length, cfg.hcmi)
            self.hcmi = HcmiScorer(p, k, cfg.hcmi)
        if cfg.vtc.enabled:
            self.query_clusterer = QueryClusterer(width, cfg.vtc)
            self.vtc_attention = VtcAttention(width)
            self.video_queue = VideoQueue(width, cfg.vtc.queue_size)
        if cfg.dmae.enabled:
            self.dmae = DmaeInteraction(width, cfg.dmae)
            self.tpm = TpmCl(width, self.context_length, t, cfg.dmae)
        if cfg.hbci.enabled:
            self.hbci = HbciHead(width, cfg.hbci)
        if cfg.caption_words.enabled:
            self.caption_words = CaptionWordHead(width, backbone.text_tower(clip).token_embedding.weight.shape[1],
                                                 cfg.caption_words.logit_scale)
        active = ["stage1", "max_mean"] + [h for h in ("hcmi", "vtc", "dmae", "hbci") if getattr(cfg, h).enabled]
        self.fusion = ScoreFusion(active, cfg.fusion)
        self.prompt_only = cfg.vop.enabled and cfg.vop.prompt_only
        self._apply_trainability()

    # --- trainability -------------------------------------------------------------------------

    def set_prompt_only(self, enabled: bool) -> None:
        """Prompt-tuning mode: only the VoP prompts (and VoP^F frame positions) require grad."""
        if enabled and not self.cfg.vop.enabled:
            raise StackConfigError("prompt-only training needs VoP prompts; set vop.enabled to true")
        self.prompt_only = enabled
        self._apply_trainability()

    def _trainable(self, name: str) -> bool:
        if self.prompt_only:
            return name.startswith(("vision_prompts.", "text_prompts."))
        if name.startswith("clip."):
            return not (self.cfg.vop.enabled and self.cfg.vop.freeze_backbone)
        if name == "fusion.weights":
            return self.cfg.fusion.learnable
        return True

    def _apply_trainability(self) -> None:
        for name, parameter in self.named_parameters():
            parameter.requires_grad_(self._trainable(name))

    def trainable_parameter_count(self) -> int:
        return sum(p.numel() for p in self.parameters() if p.requires_grad)

    def param_groups(self, lr_backbone: float, lr_heads: float, weight_decay: float = 0.2) -> list[dict[str, Any]]:
        """AdamW groups: backbone weights at lr_backbone, heads and prompts at lr_heads."""
        groups = {"backbone": [], "heads": []}
        for name, parameter in self.named_parameters():
            if parameter.requires_grad:
                groups["backbone" if name.startswith("clip.") else "heads"].append(parameter)
        lrs = {"backbone": lr_backbone, "heads": lr_heads}
        return [{"name": g, "params": ps, "lr": lrs[g], "weight_decay": weight_decay}
                for g, ps in groups.items() if ps]

    # --- encoders -----------------------------------------------------------------------------

    def encode_frames(self, pixels: torch.Tensor) -> torch.Tensor:
        """pixels [N,3,S,S] -> L2-normalised frame features [N,D]."""
        if not self.cfg.layout.enabled:
            if self.cfg.vop.enabled:
                return unit(self.vision_prompts.encode_frames(self.clip.visual, pixels))
            return backbone.frame_features(self.clip, pixels)
        if self.cfg.vop.enabled:
            embeddings, patches = self.vision_prompts.encode_frames_with_patches(self.clip.visual, pixels)
        else:
            embeddings, patches = backbone.image_embedding_and_patches(self.clip, pixels)
        return unit(embeddings + self.layout(patches))

    def encode_video_pixels(self, pixels: torch.Tensor, frame_mask: torch.Tensor) -> torch.Tensor:
        """pixels [B,T,3,S,S] -> frame features [B,T,D] (VoP^F mixes the frames of a segment)."""
        if self.cfg.vop.enabled and self.cfg.vop.variant == "function":
            embeddings, patches = self.vision_prompts.encode_video_with_patches(self.clip.visual, pixels, frame_mask)
            if self.cfg.layout.enabled:
                embeddings = embeddings + self.layout(patches).reshape(embeddings.shape)
            features = unit(embeddings)
        else:
            features = self.encode_frames(pixels.flatten(0, 1)).reshape(*pixels.shape[:2], -1)
        return features * frame_mask.unsqueeze(-1).to(features.dtype)

    def video_vector(self, clip_tokens: torch.Tensor, frame_tokens: torch.Tensor,
                     frame_mask: torch.Tensor) -> torch.Tensor:
        """Stage-1 video vector from the stored tokens (the reranker recomputes it the same way)."""
        if self.cfg.hcmi.enabled:
            return self.video_pool(clip_tokens)
        return unit(masked_mean(frame_tokens, frame_mask.unsqueeze(-1), dim=1))

    def encode_video(self, frame_features: torch.Tensor, frame_mask: torch.Tensor) -> VideoOut:
        mask = frame_mask.to(frame_features.dtype)
        frames = unit(frame_features) * mask.unsqueeze(-1)
        if self.cfg.hcmi.enabled:
            frame_tokens = self.temporal(frames, mask)
            clip_tokens = self.frame_clusterer(frame_tokens, mask)
        else:
            frame_tokens = frames
            clip_tokens = prior_pool(frames, mask, self.cfg.clip_tokens)
        return VideoOut(self.video_vector(clip_tokens, frame_tokens, mask), clip_tokens, frame_tokens)

    def encode_text(self, token_ids: torch.Tensor) -> TextOut:
        words = self._words(token_ids)
        mask = backbone.word_mask(self.clip, token_ids)
        raw = self._sentence(words, token_ids)
        if self.cfg.hcmi.enabled:
            phrases = self.phrase_pooler(words, mask)
        else:
            phrases = prior_pool(words, mask, self.cfg.phrase_tokens)
        vector = raw
        if self.cfg.vtc.enabled:  # with an empty bank the expansion returns the raw vector
            vector = self.query_clusterer.expand(self.query_clusterer.cluster(raw))
        return TextOut(vector, words, phrases, mask, raw)

    def sentence_vectors(self, token_ids: torch.Tensor) -> torch.Tensor:
        """encode_text's raw_vector alone: what the caption bank holds. Without the query expansion,
        which would compare every bank caption with the whole bank."""
        return self._sentence(self._words(token_ids), token_ids)

    def _words(self, token_ids: torch.Tensor) -> torch.Tensor:
        if self.cfg.vop.enabled:
            hidden = self.text_prompts.hidden(self.clip, token_ids)
        else:
            hidden = backbone.text_hidden(self.clip, token_ids)
        return backbone.project_text(self.clip, hidden)  # [N, L, D]

    def _sentence(self, words: torch.Tensor, token_ids: torch.Tensor) -> torch.Tensor:
        rows = torch.arange(words.shape[0], device=words.device)
        return unit(words[rows, backbone.eot_positions(self.clip, token_ids)])

    # --- scores -------------------------------------------------------------------------------

    def stage1_scores(self, text: TextOut, video: VideoOut) -> torch.Tensor:
        return unit(text.vector) @ unit(video.vector).t()

    def stage2_scores(self, text: TextOut, video: VideoOut, frame_mask: torch.Tensor,
                      drop_heads: set[str] | frozenset[str] = frozenset()) -> Stage2:
        fused, heads, _ = self._stage2(text, video, frame_mask, frozenset(drop_heads))
        return Stage2(fused, heads)

    def _stage2(self, text: TextOut, video: VideoOut, frame_mask: torch.Tensor, drop: frozenset[str]):
        cfg = self.cfg
        fmask = frame_mask.to(video.frame_tokens.dtype)
        sentence, words, wmask, phrases = text.vector, text.word_tokens, text.word_mask, text.phrase_tokens
        clips, frames = video.clip_tokens, video.frame_tokens
        active = [name for name in self.fusion.active if name not in drop]
        heads: dict[str, torch.Tensor] = {}
        extras: dict[str, Any] = {}
        if "stage1" in active:
            heads["stage1"] = unit(sentence) @ self.video_vector(clips, frames, fmask).t()
        if "max_mean" in active:
            heads["max_mean"] = token_max_mean(words, wmask, frames, fmask)
        if "hcmi" in active:
            video_vector = self.video_vector(clips, frames, fmask)
            heads["hcmi"], extras["hcmi_levels"] = self.hcmi(sentence, words, wmask, phrases, video_vector, clips,
                                                             frames, fmask)
        if "vtc" in active:
            heads["vtc"] = self.vtc_attention(self.query_clusterer.cluster(sentence), frames, fmask)
        if "dmae" in active:
            heads["dmae"] = self.dmae(sentence, words, wmask, frames, fmask)
        if "hbci" in active:
            heads["hbci"], extras["hbci_levels"], extras["hbci_concepts"] = self.hbci(
                sentence, words, wmask, phrases, clips, frames, fmask)
        if cfg.hcmi.enabled and "hcmi" in active:
            for level, score in extras["hcmi_levels"].items():
                heads[f"hcmi/{level}"] = score
        fused = self.fusion({k: v for k, v in heads.items() if "/" not in k}, drop)
        return fused, heads, extras

    # --- training -----------------------------------------------------------------------------

    def _frame_features(self, batch: dict[str, torch.Tensor], suffix: str = "") -> torch.Tensor | None:
        mask = batch["frame_mask"].float()
        if f"frame_features{suffix}" in batch:
            return batch[f"frame_features{suffix}"]
        if f"pixels{suffix}" in batch:
            return self.encode_video_pixels(batch[f"pixels{suffix}"], mask)
        return None

    def losses(self, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """Every enabled loss, weighted, and their sum 'total' (see the heads' docstrings)."""
        cfg = self.cfg
        mask = batch["frame_mask"].float()
        features = self._frame_features(batch)
        if features is None:
            raise ValueError("a training batch needs 'pixels' [B,T,3,S,S] or 'frame_features' [B,T,D]")
        video = self.encode_video(features, mask)
        text = self.encode_text(batch["token_ids"])
        video_ids = batch.get("video_ids")
        positives = positive_matrix(features.shape[0], video_ids, features.device)
        stage1 = self.stage1_scores(text, video)
        logit_scale = self.clip.logit_scale.exp().clamp(max=100.0)
        out: dict[str, torch.Tensor] = {"stage1_nce": cfg.stage1_weight * symmetric_nce(stage1, positives, logit_scale)}
        fused, heads, extras = self._stage2(text, video, mask, frozenset())
        if cfg.hcmi.enabled:
            head_positives = positives
            if cfg.hcmi.denoise:
                with torch.no_grad():
                    second = self._frame_features(batch, "_view2")
                    if second is not None:
                        head_positives = positives | latent_positives(video.vector,
                                                                      self.encode_video(second, mask).vector)
            out.update(hcmi_losses(heads["hcmi"], extras["hcmi_levels"], head_positives, cfg.hcmi))
        if cfg.vtc.enabled:
            v = cfg.vtc
            cluster = self.query_clusterer.cluster(text.raw_vector)
            out["vtc_cluster"] = v.cluster_weight * cluster_triplet_loss(text.raw_vector, video_ids, v)
            out["vtc_sweeper"] = v.sweeper_weight * sweeper_loss(cluster, self.query_clusterer.bank, video.vector,
                                                                video_ids, v)
            out["vtc_queue"] = v.queue_weight * queue_nce(stage1, text.vector, self.video_queue, positives,
                                                         v.logit_scale)
            out["vtc_att"] = v.att_weight * symmetric_nce(heads["vtc"], positives, v.logit_scale)
            if self.training:
                self.video_queue.push(unit(video.vector))
        if cfg.dmae.enabled:
            d = cfg.dmae
            scores = heads["dmae"]
            out["dmae_negnce"] = d.negnce_weight * 0.5 * (neg_nce(scores, positives, d) +
                                                         neg_nce(scores.t(), positives.t(), d))
            tpm, _, _ = self.tpm(self.dmae, text.vector, text.word_tokens, text.word_mask, video.frame_tokens, mask)
            out["dmae_tpm"] = d.tpm_weight * tpm
        if cfg.hbci.enabled:
            out.update(hbci_losses(extras["hbci_levels"], extras["hbci_concepts"], positives, cfg.hbci))
        if cfg.caption_words.enabled:
            source = video.vector if cfg.caption_words.source == "video" else masked_mean(
                features, mask.unsqueeze(-1), dim=1)
            out["caption_words"] = cfg.caption_words.weight * self.caption_words(
                source, batch["token_ids"], text.word_mask, backbone.text_tower(self.clip).token_embedding.weight)
        f = cfg.fusion
        order_matters = batch.get("order_matters")
        if cfg.reversal.enabled and order_matters is not None and bool(order_matters.any()):
            out["reversal"] = cfg.reversal.weight * self._reversal(text, features, mask, order_matters, stage1,
                                                                   fused, logit_scale)
        out["fused_nce"] = f.fused_weight * symmetric_nce(fused, positives, f.logit_scale)
        out["distill"] = f.distill_weight * distill_kl(stage1, fused, f.logit_scale)
        out["total"] = sum(out.values())
        return out

    def _reversal(self, text: TextOut, features: torch.Tensor, mask: torch.Tensor, order_matters: torch.Tensor,
                  stage1: torch.Tensor, fused: torch.Tensor, logit_scale: torch.Tensor) -> torch.Tensor:
        """Each caption whose clip's order matters against that clip played backwards (heads/reversal.py)."""
        rows = torch.nonzero(order_matters, as_tuple=True)[0]
        backward = self.encode_video(reverse_frames(features[rows], mask[rows]), mask[rows])
        stage1_back = (unit(text.vector[rows]) * unit(backward.vector)).sum(-1)
        fused_back, _, _ = self._stage2(text, backward, mask[rows], frozenset())   # [B, b]
        picked = torch.arange(len(rows), device=rows.device)
        return (reversal_loss(stage1[rows, rows], stage1_back, logit_scale) +
                reversal_loss(fused[rows, rows], fused_back[rows, picked], self.cfg.fusion.logit_scale))

    # --- VTC caption bank ---------------------------------------------------------------------

    def set_caption_bank(self, embeddings: torch.Tensor | np.ndarray, captions: list[str],
                         video_ids: torch.Tensor | None = None) -> None:
        """Install the VTC caption bank (embeddings [M,D] of ``captions``; video ids for Sweeper labels)."""
        if not self.cfg.vtc.enabled:
            raise StackConfigError("this model has no VTC head (vtc.enabled is false); it takes no caption bank")
        embeddings = torch.as_tensor(np.asarray(embeddings) if isinstance(embeddings, np.ndarray) else embeddings)
        if embeddings.ndim != 2 or embeddings.shape[1] != self.width:
            raise StackConfigError(f"caption bank embeddings must be [M, {self.width}], got {tuple(embeddings.shape)}")
        self.query_clusterer.bank.set(embeddings, captions, video_ids)

    # --- ExportableModel ----------------------------------------------------------------------

    def export_spec(self) -> ExportSpec:
        cfg = self.cfg
        return ExportSpec(
            name=cfg.name, backbone=backbone.backbone_label(cfg.backbone), embed_dim=self.width,
            frames_per_clip=cfg.frames_per_clip, clip_tokens=cfg.clip_tokens, phrase_tokens=cfg.phrase_tokens,
            image_size=backbone.square_image_size(self.clip), context_length=self.context_length,
            mean=self.mean, std=self.std,
            config={"method": "stack", "heads": cfg.enabled_heads(), "weights": self.weights_source,
                    "stack": cfg.to_dict()}, resize=cfg.resize)

    def frame_encoder(self) -> nn.Module:
        if self.cfg.vop.enabled and self.cfg.vop.variant == "function":
            raise StackConfigError("VoP variant 'function' mixes the frames of a segment and has no per-frame "
                                   "encoder; export a model trained with vop.variant 'deep'")
        return FrameEncoderGraph(self)

    def clip_encoder(self) -> nn.Module:
        return ClipEncoderGraph(self)

    def text_encoder(self) -> nn.Module:
        return TextEncoderGraph(self)

    def reranker(self) -> nn.Module:
        return RerankerGraph(self)

    def caption_bank(self) -> tuple[np.ndarray, list[str]] | None:
        if not self.cfg.vtc.enabled or self.query_clusterer.bank.size == 0:
            return None
        bank = self.query_clusterer.bank
        return bank.embeddings[: bank.size].detach().cpu().numpy().astype(np.float32), list(bank.captions)

    def tokenizer_model(self) -> Any:
        backbone.register_custom_configs()
        return open_clip.get_tokenizer(self.cfg.backbone, context_length=self.context_length)


class FrameEncoderGraph(nn.Module):
    def __init__(self, model: VideoTextModel):
        super().__init__()
        self.model = model

    def forward(self, pixels: torch.Tensor) -> torch.Tensor:
        return self.model.encode_frames(pixels)


class ClipEncoderGraph(nn.Module):
    def __init__(self, model: VideoTextModel):
        super().__init__()
        self.model = model

    def forward(self, frame_features: torch.Tensor, frame_mask: torch.Tensor):
        video = self.model.encode_video(frame_features, frame_mask)
        return video.vector, video.clip_tokens, video.frame_tokens


class TextEncoderGraph(nn.Module):
    def __init__(self, model: VideoTextModel):
        super().__init__()
        self.model = model

    def forward(self, token_ids: torch.Tensor):
        text = self.model.encode_text(token_ids)
        return text.vector, text.word_tokens, text.phrase_tokens, text.word_mask


class RerankerGraph(nn.Module):
    def __init__(self, model: VideoTextModel):
        super().__init__()
        self.model = model

    def forward(self, text_vector, word_tokens, phrase_tokens, word_mask, clip_tokens, frame_tokens, frame_mask):
        text = TextOut(text_vector, word_tokens, phrase_tokens, word_mask, text_vector)
        mask = frame_mask.to(frame_tokens.dtype)
        video = VideoOut(self.model.video_vector(clip_tokens, frame_tokens, mask), clip_tokens, frame_tokens)
        return self.model.stage2_scores(text, video, mask).fused[0]  # [N]


def build_model(cfg: StackConfig, clip_model: nn.Module | backbone.Backbone | None = None) -> VideoTextModel:
    """Instantiate the stack around ``clip_model`` (an open_clip CLIP or a loaded Backbone); no disk."""
    if isinstance(clip_model, backbone.Backbone):
        return VideoTextModel(cfg, clip_model.clip, clip_model.mean, clip_model.std, clip_model.weights)
    clip = clip_model if clip_model is not None else backbone.build_clip(cfg.backbone)
    preprocess = open_clip.get_model_preprocess_cfg(clip)
    mean = tuple(float(v) for v in preprocess["mean"])
    std = tuple(float(v) for v in preprocess["std"])
    return VideoTextModel(cfg, clip, mean, std)  # type: ignore[arg-type]
