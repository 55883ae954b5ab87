"""The open_clip backbone: build by name, load weights, and read frame and word features.

Build, then load: ``build_clip`` only instantiates an architecture (no disk, no network);
``load_checkpoint_file`` and ``load_pretrained_tag`` put weights into it. The feature helpers
(``frame_features``, ``text_hidden``, ``word_tokens``, ``sentence_vector``, ``word_mask``) are
shared by the plain model and the method heads so that every head sees the same features
(/work/shared/methods.md §1).
"""
from __future__ import annotations

import difflib
import json
import logging

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import open_clip
import torch
from torch import nn

from engine.errors import BundleError, ModelInstallError
from engine.model.exportable import unit
from engine.model.load_failure import load_failure, state_dict_misfit, unreadable

CONFIG_DIR = Path(__file__).parent / "configs"
CUSTOM_PREFIX = "custom:"

_registered = False


def register_custom_configs() -> list[str]:
    """Make our configs/*.json (e.g. "clipseek-tiny") known to open_clip; returns their names."""
    global _registered
    if not _registered:
        open_clip.add_model_config(CONFIG_DIR)
        _registered = True
    return custom_config_names()


def custom_config_names() -> list[str]:
    """Our open_clip model configs (the folder also holds stack and training configs)."""
    names = []
    for p in sorted(CONFIG_DIR.glob("*.json")):
        try:
            data = json.loads(p.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if isinstance(data, dict) and {"embed_dim", "vision_cfg", "text_cfg"} <= data.keys():
            names.append(p.stem)
    return names


def backbone_label(model_name: str) -> str:
    """What bundle.json records as the backbone: open_clip's name, or custom:<name> for ours."""
    return f"{CUSTOM_PREFIX}{model_name}" if model_name in custom_config_names() else model_name


@dataclass
class Backbone:
    """An open_clip CLIP and the facts the exporter needs about it."""
    clip: nn.Module
    model_name: str                            # open_clip name, e.g. "ViT-B-32" or "clipseek-tiny"
    weights: str                               # "random", "pretrained:<tag>" or "checkpoint:<file name>"
    image_size: int                            # S
    context_length: int                        # L
    embed_dim: int                             # D
    mean: tuple[float, float, float]
    std: tuple[float, float, float]

    def tokenizer(self) -> Any:
        return open_clip.get_tokenizer(self.model_name, context_length=self.context_length)


class _DropMessage(logging.Filter):
    def __init__(self, start: str):
        super().__init__()
        self.start = start

    def filter(self, record: logging.LogRecord) -> bool:
        return not record.getMessage().startswith(self.start)


def build_clip(model_name: str, quick_gelu: bool = False) -> nn.Module:
    """Instantiate an open_clip architecture with random weights, in eval mode, on CPU."""
    register_custom_configs()
    if model_name not in open_clip.list_models():
        raise BundleError(unknown_model(model_name))
    # open_clip warns that the model is "initialized randomly", on the root logger; the weights come next.
    quiet = _DropMessage("No pretrained weights loaded")
    logging.getLogger().addFilter(quiet)
    try:
        clip = open_clip.create_model(model_name, pretrained=None, force_quick_gelu=quick_gelu, device="cpu")
    finally:
        logging.getLogger().removeFilter(quiet)
    _check_supported(clip, model_name)
    return clip.eval()


def load_checkpoint_file(clip: nn.Module, checkpoint: Path) -> None:
    """Load a local state dict (or {"state_dict": ...}) strictly; a mismatch is a BundleError."""
    checkpoint = Path(checkpoint)
    if not checkpoint.is_file():
        raise BundleError(f"{checkpoint}: checkpoint file not found; pass an existing .pt/.bin file")
    try:
        open_clip.load_checkpoint(clip, str(checkpoint), strict=True, weights_only=True)
    except Exception as exc:  # unpickling and zip errors come in many types, a torn zip as a RuntimeError
        if not unreadable(exc):
            raise BundleError(
                f"{checkpoint}: weights do not fit this architecture ({state_dict_misfit(exc)}); "
                "pass the model name the checkpoint was trained with") from exc
        raise BundleError(f"{checkpoint}: unreadable checkpoint ({load_failure(exc)}); "
                          "save it with torch.save(model.state_dict(), path)") from exc
    clip.eval()


def pretrained_tags(model_name: str) -> list[str]:
    return [tag for name, tag in open_clip.list_pretrained() if name == model_name]


def pretrained_config(model_name: str, tag: str) -> dict[str, Any]:
    cfg = open_clip.get_pretrained_cfg(model_name, tag)
    if not cfg:
        if model_name not in open_clip.list_models():
            raise ModelInstallError(unknown_model(model_name))
        known = ", ".join(pretrained_tags(model_name))
        if not known:
            raise ModelInstallError(f"open_clip publishes no weights for {model_name}; export it from weights of "
                                    "your own with `clipseek model export --checkpoint FILE`")
        raise ModelInstallError(f"{model_name} has no pretrained tag {tag!r}; known tags: {known}")
    return cfg


def unknown_model(model_name: str) -> str:
    """"unknown open_clip model", with the names closest to it (open_clip knows hundreds: not all of them)."""
    names = open_clip.list_models()
    by_lower = {name.lower(): name for name in names}       # (names differ in case too: ViT-g-14, ViT-G-14)
    if model_name.lower() in by_lower:
        return (f"unknown open_clip model {model_name!r}: names are case-sensitive; did you mean "
                f"{by_lower[model_name.lower()]}?")
    close = [by_lower[n] for n in difflib.get_close_matches(model_name.lower(), list(by_lower), n=5, cutoff=0.5)]
    nearest = f"the closest names are {', '.join(close)}; " if close else ""
    return (f"unknown open_clip model {model_name!r}; {nearest}common ones are ViT-B-32, ViT-B-16, ViT-L-14 (all "
            f"{len(names)}: python -c 'import open_clip; print(open_clip.list_models())')")


def load_pretrained_tag(clip: nn.Module, model_name: str, tag: str, weights_file: Path | None = None) -> None:
    """Load open_clip's published weights for ``tag`` (downloads them unless ``weights_file`` is given)."""
    if weights_file is None:
        cfg = pretrained_config(model_name, tag)
        try:
            weights_file = Path(open_clip.download_pretrained(cfg))
        except Exception as exc:
            raise ModelInstallError(
                f"could not download {model_name}/{tag} ({type(exc).__name__}: {exc}); without internet, "
                "export the bundle on another machine and run `clipseek model import PATH`") from exc
    load_checkpoint_file(clip, weights_file)


def load_backbone(model_name: str, pretrained: str | None = None, checkpoint: Path | None = None,
                  random_weights: bool = False, pretrained_file: Path | None = None) -> Backbone:
    """Build ``model_name`` and fill it from exactly one weight source.

    ``pretrained_file`` is the already-downloaded file of tag ``pretrained`` (used by install).
    """
    sources = [s for s in (pretrained, checkpoint, random_weights or None) if s]
    if len(sources) != 1:
        raise BundleError("choose exactly one weight source: --pretrained TAG, --checkpoint FILE "
                          "or --random-weights")
    tag_cfg = pretrained_config(model_name, pretrained) if pretrained else {}
    clip = build_clip(model_name, quick_gelu=bool(tag_cfg.get("quick_gelu", False)))
    if pretrained:
        load_pretrained_tag(clip, model_name, pretrained, pretrained_file)
        weights = f"pretrained:{pretrained}"
    elif checkpoint:
        load_checkpoint_file(clip, Path(checkpoint))
        weights = f"checkpoint:{Path(checkpoint).name}"
    else:
        weights = "random"
    preprocess = open_clip.get_model_preprocess_cfg(clip)
    mean = tuple(float(v) for v in tag_cfg.get("mean", preprocess["mean"]))
    std = tuple(float(v) for v in tag_cfg.get("std", preprocess["std"]))
    return Backbone(
        clip=clip, model_name=model_name, weights=weights,
        image_size=square_image_size(clip), context_length=int(clip.context_length),
        embed_dim=embed_dim(clip), mean=mean, std=std)  # type: ignore[arg-type]


def square_image_size(clip: nn.Module) -> int:
    size = open_clip.get_model_preprocess_cfg(clip)["size"]
    if isinstance(size, (tuple, list)):
        if len(set(size)) != 1:
            raise BundleError(f"image size {tuple(size)} is not square; ClipSeek frame encoders take S×S images")
        size = size[0]
    return int(size)


def embed_dim(clip: nn.Module) -> int:
    tower = text_tower(clip)
    projection = tower.text_projection
    if isinstance(projection, nn.Linear):
        return int(projection.out_features)
    if projection is None:
        return int(tower.transformer.width)
    return int(projection.shape[1])


# --- features -----------------------------------------------------------------------------

def text_tower(clip: nn.Module) -> nn.Module:
    """The module holding token_embedding, transformer, ln_final, text_projection.

    open_clip's CLIP keeps them on the model itself, CustomTextCLIP on ``.text``.
    """
    return clip.text if hasattr(clip, "text") else clip


def frame_features(clip: nn.Module, pixels: torch.Tensor) -> torch.Tensor:
    """pixels [N,3,S,S] (normalised) -> L2-normalised image embeddings [N,D]."""
    return unit(clip.encode_image(pixels))


def image_embedding_and_patches(clip: nn.Module, pixels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """pixels [N,3,S,S] -> (image embedding [N,D] as encode_image gives it, patch tokens [N,G,W])."""
    visual = clip.visual
    return project_image(visual, visual.transformer(visual._embeds(pixels)))


def project_image(visual: nn.Module, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The vision transformer's output [N,1+G,W] -> (projected pooled embedding [N,D], patch tokens [N,G,W])."""
    pooled, patches = visual._pool(x)
    return (pooled @ visual.proj if visual.proj is not None else pooled), patches


def patch_grid_cells(clip: nn.Module) -> int:
    """Patch tokens per image (G) of an open_clip ViT image tower."""
    grid = clip.visual.grid_size
    return int(grid[0] * grid[1]) if isinstance(grid, (tuple, list)) else int(grid) ** 2


def text_hidden(clip: nn.Module, token_ids: torch.Tensor) -> torch.Tensor:
    """token_ids [N,L] -> ln_final(transformer(tokens)) [N,L,W], before the projection.

    L may be shorter than the tower's context length (the first L positions and the corner of
    the attention mask); see ``causal_text``.
    """
    tower = text_tower(clip)
    # Positions as a tensor, not a Python int: the ONNX tracer would freeze an int slice at the
    # example's length, and the graph must take any length.
    positions = torch.ones_like(token_ids[0]).cumsum(0) - 1  # [L]
    x = tower.token_embedding(token_ids)  # [N, L, W]
    x = x + tower.positional_embedding.index_select(0, positions)
    mask = tower.attn_mask
    if mask is not None:
        mask = mask.index_select(0, positions).index_select(1, positions)
    x = tower.transformer(x, attn_mask=mask)
    return tower.ln_final(x)  # [N, L, W]


def causal_text(clip: nn.Module) -> bool:
    """Whether the text transformer is causal: then a position never sees the padding after it, so
    token ids cut just after the longest end-of-text give the same features as the full context."""
    return text_tower(clip).attn_mask is not None


def project_text(clip: nn.Module, hidden: torch.Tensor) -> torch.Tensor:
    projection = text_tower(clip).text_projection
    if projection is None:
        return hidden
    if isinstance(projection, nn.Linear):
        return projection(hidden)
    return hidden @ projection


def eot_positions(clip: nn.Module, token_ids: torch.Tensor) -> torch.Tensor:
    """Index of the end-of-text token of each row [N], as open_clip's text pooling finds it."""
    tower = text_tower(clip)
    pool_type = getattr(tower, "text_pool_type", None) or getattr(tower, "pool_type", "argmax")
    if pool_type == "eos":
        eos_id = getattr(tower, "text_eos_id", None) or getattr(tower, "eos_id")
        return (token_ids == eos_id).int().argmax(dim=-1)
    return token_ids.argmax(dim=-1)


def word_tokens(clip: nn.Module, token_ids: torch.Tensor, hidden: torch.Tensor | None = None) -> torch.Tensor:
    """Projected features at every position [N,L,D] (not normalised; CLIP4Clip/DRL word features)."""
    if hidden is None:
        hidden = text_hidden(clip, token_ids)
    return project_text(clip, hidden)


def sentence_vector(clip: nn.Module, token_ids: torch.Tensor, words: torch.Tensor | None = None) -> torch.Tensor:
    """open_clip's text embedding (end-of-text token, projected), L2-normalised [N,D]."""
    if words is None:
        words = word_tokens(clip, token_ids)
    rows = torch.arange(words.shape[0], device=words.device)
    return unit(words[rows, eot_positions(clip, token_ids)])


def word_mask(clip: nn.Module, token_ids: torch.Tensor) -> torch.Tensor:
    """1.0 for start-of-text up to and including end-of-text, 0.0 for padding [N,L].

    Not ``token_ids != 0``: id 0 is the BPE token "!" and can occur inside a sentence.
    """
    positions = torch.arange(token_ids.shape[1], device=token_ids.device)[None, :]
    return (positions <= eot_positions(clip, token_ids)[:, None]).to(torch.float32)


def _check_supported(clip: nn.Module, model_name: str) -> None:
    tower = text_tower(clip)
    needed = ("token_embedding", "positional_embedding", "transformer", "ln_final", "attn_mask")
    missing = [a for a in needed if not hasattr(tower, a)]
    if missing or getattr(tower, "cls_emb", None) is not None:
        raise BundleError(
            f"{model_name}: its text tower is not an open_clip TextTransformer (e.g. a Hugging Face text model "
            "or CoCa); ClipSeek bundles need a CLIP-style text tower such as ViT-B-32's")
    pool_type = getattr(tower, "text_pool_type", None) or getattr(tower, "pool_type", "argmax")
    if pool_type not in ("argmax", "eos"):
        raise BundleError(f"{model_name}: text pooling {pool_type!r} is not supported (argmax or eos only)")
