"""The rows of the text tower's token table that a run's captions use, as the parameter the optimiser updates.

A token table holds a row for every vocabulary entry (49,408 for CLIP's tokenizer), and AdamW reads and writes
every element of every parameter it holds at each step, also where the gradient is always zero. The shapes
world's captions use 16 to 27 rows; updating the whole table was a quarter of a still-frame step
(benchmarks/RESULTS.md). The optimiser is given a compact copy of the used rows instead: after each backward
pass their gradient is gathered from the table's, and after each update their values are written back, so the
model, its checkpoints and its exports keep the whole table.

The result is AdamW's, bit for bit. AdamW works element by element; a row whose gradient is always zero only
ever gets the decoupled weight decay, p <- p * (1 - lr * weight_decay). Those factors are kept and applied to
the table, in order and with the same arithmetic, before anyone reads it whole (``settle``: checkpoints,
evaluation, export).
"""
from __future__ import annotations

import torch
from torch import nn

from engine.model import backbone


class UsedTokenRows:
    def __init__(self, table: nn.Parameter, token_ids: torch.Tensor):
        self.table = table
        self.index = torch.unique(token_ids)
        self.rows = nn.Parameter(table.detach()[self.index].clone())
        self._pending_decay: list[float] = []

    @classmethod
    def of(cls, model: nn.Module, token_ids: torch.Tensor) -> "UsedTokenRows | None":
        """For the model's token table, or None when the table is not trained."""
        table = backbone.text_tower(model.clip).token_embedding.weight
        return cls(table, token_ids) if table.requires_grad else None

    def substitute(self, groups: list[dict]) -> list[dict]:
        """Optimiser groups with the compact rows in the table's place."""
        return [{**g, "params": [self.rows if p is self.table else p for p in g["params"]]} for g in groups]

    def gather_grad(self) -> None:
        """After backward: the used rows' gradient onto the compact rows; the table's own is dropped."""
        grad = self.table.grad
        self.rows.grad = None if grad is None else grad[self.index]
        self.table.grad = None

    @torch.no_grad()
    def write_back(self, optimizer: torch.optim.Optimizer) -> None:
        """After the optimiser's step: the updated rows into the table, the other rows' decay noted."""
        self.table.index_copy_(0, self.index, self.rows)
        if self.rows.grad is None:
            return                                        # AdamW leaves a parameter without gradient alone
        group = next(g for g in optimizer.param_groups if any(p is self.rows for p in g["params"]))
        if group["weight_decay"] != 0:
            self._pending_decay.append(1 - group["lr"] * group["weight_decay"])

    @torch.no_grad()
    def settle(self) -> None:
        """The weight decay AdamW would have applied to the unused rows, so that the whole table is current."""
        for factor in self._pending_decay:
            self.table.mul_(factor)
        self._pending_decay.clear()
        self.table.index_copy_(0, self.index, self.rows)

    @torch.no_grad()
    def pull(self) -> None:
        """After the table is loaded from a checkpoint: the compact rows from the table."""
        self.rows.copy_(self.table[self.index])
        self._pending_decay.clear()
