"""Why ``torch.load`` refused a file, or ``load_state_dict`` its weights, in a few words a person can act on.

torch's own messages run to paragraphs (the weights-only unpickler explains its 2.6 default change and asks
for a bug report), which would bury the one sentence the command line and the window show."""
from __future__ import annotations

import pickle
import zipfile

_MAX_CHARS = 200


def unreadable(exc: BaseException) -> bool:
    """Whether reading the file failed (torch.load), not fitting what it holds to a model."""
    if isinstance(exc, (pickle.UnpicklingError, EOFError, zipfile.BadZipFile, OSError)):
        return True
    return isinstance(exc, RuntimeError) and ("PytorchStreamReader" in str(exc) or "zip archive" in str(exc))


def load_failure(exc: BaseException) -> str:
    text = str(exc).strip()
    if "Weights only load failed" in text:
        if "global" in text.casefold():      # "Unsupported global: …", "unsupported GLOBAL … is blocked"
            return "it holds Python objects besides tensors, which ClipSeek does not run"
        return "it is not a file that torch.save wrote"
    if isinstance(exc, (zipfile.BadZipFile, EOFError)) or "failed finding central directory" in text:
        return "it is cut short or damaged"
    if isinstance(exc, pickle.UnpicklingError):
        return "it is not a file that torch.save wrote"
    first_line = text.splitlines()[0] if text else type(exc).__name__
    if len(first_line) > _MAX_CHARS:
        first_line = first_line[:_MAX_CHARS - 1] + "…"
    return first_line


def state_dict_misfit(exc: BaseException) -> str:
    """load_state_dict's list of every missing and unexpected key (hundreds for another architecture), as counts
    and the first size mismatch."""
    text = str(exc)
    parts = []
    markers = (("missing", "Missing key(s) in state_dict:"), ("unexpected", "Unexpected key(s) in state_dict:"))
    for label, marker in markers:
        for line in text.splitlines():
            if marker in line:
                parts.append(f"{line.split(marker, 1)[1].count(chr(34)) // 2} {label}")
    mismatches = [line.strip() for line in text.splitlines() if line.strip().startswith("size mismatch for")]
    if mismatches:
        parts.append(f"{len(mismatches)} of another shape, first {mismatches[0].rstrip('.')}")
    summary = ", ".join(parts) or (text.strip().splitlines() or [type(exc).__name__])[-1]
    return summary[:_MAX_CHARS * 2]
