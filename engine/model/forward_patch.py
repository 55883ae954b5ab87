"""A module's forward replaced on the instance while a context lasts (the export-time forms of modules)."""
from __future__ import annotations

import contextlib
from typing import Callable, Iterable, Iterator

from torch import nn


@contextlib.contextmanager
def forwards_replaced(modules: Iterable[nn.Module], make_forward: Callable[[nn.Module], Callable]) -> Iterator[None]:
    patched = list(modules)
    for module in patched:
        module.forward = make_forward(module)
    try:
        yield
    finally:
        for module in patched:
            del module.forward  # the instance attribute; the class's forward shows again
