"""VoP: text–video co-operative prompt tuning (methods.md §4) on an open_clip CLIP.

Deep prompts: before every block of both towers, fresh learned prompt tokens are inserted and their
outputs are dropped after the block. Vision: after [CLS], before the patches ([c, P, E]). Text:
right after [SOS].

Choices:
- Text prompts are inserted *after* the positional embeddings are added and are stripped after
  each block, so the words keep their positions and the end-of-text index is unchanged (the
  ModelScope port's prefix/suffix scheme shifts the EOT index; this avoids that). The causal mask
  grows by the prompt count: prompts see [SOS] and earlier prompts, every word sees all prompts.
- Vision prompts are inserted after ``ln_pre`` (they are free parameters, a pre-norm adds nothing).
- VoP^F ("function"): the last ``function_layers`` vision blocks run joint spatio-temporal attention
  over the tokens of all T frames of a video plus the video-level prompts, with a trainable frame
  position embedding added before them; keys of padded frames are masked so padding never changes a
  valid frame. It needs all frames of a segment at once, so it cannot be exported as ClipSeek's
  per-frame frame encoder; use variant "deep" for bundles.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from engine.errors import BundleError
from engine.model import backbone
from engine.model.heads.layers import NEG


@dataclass
class VopConfig:
    enabled: bool = True
    prompt_tokens: int = 8             # P^t = P^v prompt tokens per layer (paper: 8)
    variant: str = "deep"              # "deep" (VoP) or "function" (VoP^F)
    function_layers: int = 4           # last vision blocks with joint spatio-temporal attention (VoP^F: 12 - 8)
    prompt_only: bool = False          # train only the prompts (and VoP^F's frame positions)
    freeze_backbone: bool = True       # VoP keeps CLIP frozen; false lets the backbone fine-tune too
    init_std: float = 0.02             # prompt initialisation (normal)


def _resblocks(transformer: nn.Module) -> nn.ModuleList:
    if not getattr(transformer, "batch_first", True):
        raise BundleError("VoP prompts need an open_clip transformer in batch-first layout")
    return transformer.resblocks


class VisionPrompts(nn.Module):
    """Prompted forward of open_clip's VisionTransformer."""

    def __init__(self, visual: nn.Module, frames: int, cfg: VopConfig):
        super().__init__()
        if not hasattr(visual, "_embeds") or getattr(visual, "attn_pool", None) is not None:
            raise BundleError("VoP visual prompts need an open_clip ViT image tower (e.g. ViT-B-32)")
        layers = len(_resblocks(visual.transformer))
        width = visual.class_embedding.shape[0]
        self.cfg = cfg
        self.layers = layers
        self.heads = visual.transformer.resblocks[0].attn.num_heads
        self.prompts = nn.Parameter(torch.randn(layers, cfg.prompt_tokens, width) * cfg.init_std)
        if cfg.variant == "function":
            if not 0 < cfg.function_layers <= layers:
                raise ValueError(f"VoP function_layers must be in 1..{layers}, got {cfg.function_layers}")
            self.frame_position = nn.Parameter(torch.zeros(frames, width))
        elif cfg.variant != "deep":
            raise ValueError(f"VoP variant must be 'deep' or 'function', got {cfg.variant!r}")

    def _prompted_block(self, block: nn.Module, x: torch.Tensor, layer: int) -> torch.Tensor:
        n = self.cfg.prompt_tokens
        prompts = self.prompts[layer].unsqueeze(0).expand(x.shape[0], -1, -1)
        x = block(torch.cat([x[:, :1], prompts, x[:, 1:]], dim=1))
        return torch.cat([x[:, :1], x[:, 1 + n:]], dim=1)

    def encode_frames(self, visual: nn.Module, pixels: torch.Tensor) -> torch.Tensor:
        """pixels [N,3,S,S] -> image embeddings [N,D] (not normalised); every block prompted."""
        return self.encode_frames_with_patches(visual, pixels)[0]

    def encode_frames_with_patches(self, visual: nn.Module, pixels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """pixels [N,3,S,S] -> (image embeddings [N,D], patch tokens [N,G,W])."""
        if self.cfg.variant == "function":
            raise BundleError("VoP variant 'function' mixes the frames of a segment; encode whole segments "
                              "with encode_video_pixels, or use variant 'deep' for a per-frame encoder")
        x = visual._embeds(pixels)
        for layer, block in enumerate(_resblocks(visual.transformer)):
            x = self._prompted_block(block, x, layer)
        return backbone.project_image(visual, x)

    def encode_video(self, visual: nn.Module, pixels: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """VoP^F: pixels [B,T,3,S,S], mask [B,T] -> per-frame embeddings [B,T,D] (not normalised)."""
        return self.encode_video_with_patches(visual, pixels, mask)[0]

    def encode_video_with_patches(self, visual: nn.Module, pixels: torch.Tensor,
                                  mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """VoP^F: -> (per-frame embeddings [B,T,D], patch tokens [B*T,G,W])."""
        b, t = pixels.shape[:2]
        x = visual._embeds(pixels.flatten(0, 1))  # [B*T, 1+G, W]
        blocks = _resblocks(visual.transformer)
        split = self.layers - self.cfg.function_layers
        for layer in range(split):
            x = self._prompted_block(blocks[layer], x, layer)
        tokens, width = x.shape[1], x.shape[2]
        x = (x.reshape(b, t, tokens, width) + self.frame_position[:t, None, :]).reshape(b, t * tokens, width)
        n = self.cfg.prompt_tokens
        key_valid = torch.cat([torch.ones(b, n, device=x.device),
                               mask.to(x.dtype).repeat_interleave(tokens, dim=1)], dim=1)  # [B, n + T*(1+G)]
        additive = torch.where(key_valid > 0, 0.0, NEG).to(x.dtype)  # [B, S]
        length = key_valid.shape[1]
        attn_mask = additive[:, None, :].expand(b, length, length).repeat_interleave(self.heads, dim=0)
        for layer in range(split, self.layers):
            prompts = self.prompts[layer].unsqueeze(0).expand(b, -1, -1)
            x = blocks[layer](torch.cat([prompts, x], dim=1), attn_mask=attn_mask)[:, n:]
        embeddings, patches = backbone.project_image(visual, x.reshape(b * t, tokens, width))
        return embeddings.reshape(b, t, -1), patches


class TextPrompts(nn.Module):
    """Prompted forward of open_clip's text tower -> ln_final hidden states [N, L, W]."""

    def __init__(self, clip: nn.Module, cfg: VopConfig):
        super().__init__()
        tower = backbone.text_tower(clip)
        layers = len(_resblocks(tower.transformer))
        width = tower.token_embedding.weight.shape[1]
        self.cfg = cfg
        self.prompts = nn.Parameter(torch.randn(layers, cfg.prompt_tokens, width) * cfg.init_std)

    def hidden(self, clip: nn.Module, token_ids: torch.Tensor) -> torch.Tensor:
        tower = backbone.text_tower(clip)
        n, length = token_ids.shape
        p = self.cfg.prompt_tokens
        x = tower.token_embedding(token_ids) + tower.positional_embedding[:length]  # [N, L, W]
        size = length + p
        causal = torch.full((size, size), NEG, dtype=x.dtype, device=x.device).triu(1)
        if tower.attn_mask is None:
            causal = torch.zeros_like(causal)
        for layer, block in enumerate(_resblocks(tower.transformer)):
            prompts = self.prompts[layer].unsqueeze(0).expand(n, -1, -1)
            x = block(torch.cat([x[:, :1], prompts, x[:, 1:]], dim=1), attn_mask=causal)
            x = torch.cat([x[:, :1], x[:, 1 + p:]], dim=1)
        return tower.ln_final(x)
