"""`clipseek model install openclip:ViT-B-32/laion2b_s34b_b79k`: download weights once, export a bundle.

Without internet this fails within seconds (a short connection probe, run in a thread so that a
hanging DNS lookup cannot stall it) and says how to import a bundle made elsewhere. Weights already
in the Hugging Face cache are used offline.
"""
from __future__ import annotations

import os
import re
import socket
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from engine.errors import ClipSeekError, ModelInstallError
from engine.model.backbone import pretrained_config

HUB_HOST = "huggingface.co"
HUB_PORT = 443
PROBE_SECONDS = 3.0
SPEC_PATTERN = re.compile(r"openclip:(?P<model>[^/\s]+)/(?P<tag>[^/\s]+)")
IMPORT_HINT = ("export the bundle on a machine with internet (`clipseek model export ... --out DIR`) and run "
               "`clipseek model import PATH` here")


@dataclass(frozen=True)
class InstallSpec:
    model_name: str
    tag: str

    @property
    def bundle_name(self) -> str:
        return f"{self.model_name}-{self.tag}".replace("/", "-")


def parse_spec(spec: str) -> InstallSpec:
    match = SPEC_PATTERN.fullmatch(spec.strip())
    if not match:
        raise ModelInstallError(f"model spec {spec!r} is not of the form openclip:MODEL/TAG, "
                                "e.g. openclip:ViT-B-32/laion2b_s34b_b79k")
    return InstallSpec(match["model"], match["tag"])


def hub_reachable(host: str | None = None, port: int = HUB_PORT, timeout: float = PROBE_SECONDS) -> bool:
    """True when a TCP connection to the hub opens within ``timeout`` seconds (DNS included)."""
    host = host or HUB_HOST
    result: list[bool] = []

    def probe() -> None:
        try:
            with socket.create_connection((host, port), timeout=timeout):
                result.append(True)
        except OSError:
            result.append(False)

    thread = threading.Thread(target=probe, daemon=True)
    thread.start()
    thread.join(timeout)
    return bool(result and result[0])


def install(spec: str, models_dir: Path | str, int8: bool = False, frames_per_clip: int = 12,
            online: bool | None = None, progress: Callable[[str], None] | None = None) -> Path:
    """Export open_clip's ``MODEL/TAG`` into ``models_dir/<MODEL>-<TAG>``; returns the bundle folder.

    ``online`` None probes the hub; False uses cached weights only. ``progress`` gets one line per step.
    """
    from engine.model.export import export_bundle

    say = progress or (lambda line: None)
    parsed = parse_spec(spec)
    cfg = pretrained_config(parsed.model_name, parsed.tag)
    if online is None:
        say(f"checking the connection to {HUB_HOST}")
        online = hub_reachable()
    say(f"{'downloading' if online else 'looking for cached'} weights of {parsed.model_name}/{parsed.tag}")
    weights = _fetch_weights(cfg, online=online, what=f"{parsed.model_name}/{parsed.tag}")
    target = Path(models_dir) / (parsed.bundle_name + ("-int8" if int8 else ""))
    say(f"exporting {parsed.model_name} to {target}")
    try:
        return export_bundle(parsed.model_name, target, pretrained=parsed.tag, pretrained_file=weights, int8=int8,
                             frames_per_clip=frames_per_clip, name=target.name)
    except ClipSeekError as exc:
        raise ModelInstallError(f"installing {spec} failed: {exc}") from exc


def _fetch_weights(cfg: dict, online: bool, what: str) -> Path:
    """The weights file of a pretrained tag: downloaded when online, else from the local caches."""
    if online:
        import open_clip

        try:
            return Path(open_clip.download_pretrained(cfg))
        except Exception as exc:  # network, hub and checksum errors share no base class
            raise _install_error(what, online, exc) from exc
    cached = _cached_weights(cfg)
    if cached is None:
        raise _install_error(what, online, None)
    return cached


def _cached_weights(cfg: dict) -> Path | None:
    """A copy open_clip downloaded earlier, found without touching the network."""
    hub_id = cfg.get("hf_hub", "")
    if hub_id:
        from huggingface_hub import hf_hub_download

        repo, filename = os.path.split(hub_id)
        names = [filename] if filename else ["open_clip_model.safetensors", "open_clip_pytorch_model.bin"]
        for name in names:
            try:
                return Path(hf_hub_download(repo, name, local_files_only=True))
            except Exception:  # not in the cache
                continue
    url = cfg.get("url", "")
    cached = Path(os.path.expanduser("~/.cache/clip")) / os.path.basename(url)
    return cached if url and cached.is_file() else None


def _install_error(what: str, online: bool, exc: Exception | None) -> ModelInstallError:
    detail = f" ({type(exc).__name__}: {exc})" if exc else ""
    if not online:
        return ModelInstallError(f"cannot download {what}: no connection to {HUB_HOST} and no cached copy{detail}; "
                                 f"{IMPORT_HINT}")
    return ModelInstallError(f"downloading {what} failed{detail}; retry later, or {IMPORT_HINT}")

