"""The optimiser updates the used rows of the token table; the table stays whole and ends as AdamW leaves it."""
from __future__ import annotations

import pytest
import torch
from torch import nn

from engine.model.token_rows import UsedTokenRows


class _Tower(nn.Module):
    def __init__(self):
        super().__init__()
        self.token_embedding = nn.Embedding(50, 8)
        self.head = nn.Linear(8, 1)

    def loss(self, ids: torch.Tensor) -> torch.Tensor:
        # the second term reads the table directly, as the caption-words head does
        return self.head(self.token_embedding(ids)).square().mean() + self.token_embedding.weight[ids[0]].sum()


class _Trainer:
    def __init__(self, tower: _Tower, rows: UsedTokenRows | None, decay: float):
        self.tower, self.rows = tower, rows
        params = list(tower.parameters())
        if rows is not None:
            params = rows.substitute([{"params": params}])[0]["params"]
        self.optimizer = torch.optim.AdamW(params, lr=0.05, weight_decay=decay)

    def steps(self, batches: list[torch.Tensor]) -> None:
        for ids in batches:
            self.optimizer.zero_grad(set_to_none=True)
            self.tower.loss(ids).backward()
            if self.rows is not None:
                self.rows.gather_grad()
            self.optimizer.step()
            if self.rows is not None:
                self.rows.write_back(self.optimizer)
        if self.rows is not None:
            self.rows.settle()             # as before a checkpoint


def _towers() -> tuple[_Tower, _Tower, list[torch.Tensor]]:
    torch.manual_seed(0)
    a = _Tower()
    b = _Tower()
    b.load_state_dict(a.state_dict())
    batches = [torch.randint(0, 20, (4, 6)) for _ in range(6)]
    return a, b, batches


@pytest.mark.parametrize("decay", [0.0, 0.5])
def test_training_the_used_rows_gives_adamws_weights_bit_for_bit(decay):
    whole, compact, batches = _towers()
    start = compact.token_embedding.weight.detach().clone()
    rows = UsedTokenRows(compact.token_embedding.weight, torch.cat(batches))
    assert rows.rows.shape == (len(torch.unique(torch.cat(batches))), 8)
    _Trainer(whole, None, decay).steps(batches)
    _Trainer(compact, rows, decay).steps(batches)
    for key, value in whole.state_dict().items():
        assert torch.equal(compact.state_dict()[key], value), key
    unused = torch.ones(50, dtype=torch.bool)
    unused[rows.index] = False
    table = compact.token_embedding.weight.detach()
    assert not torch.equal(table[rows.index], start[rows.index])
    assert torch.equal(table[unused], start[unused]) == (decay == 0.0)


def test_settling_the_table_midway_changes_nothing():
    whole, compact, batches = _towers()
    plain = _Trainer(whole, None, 0.5)
    rows = UsedTokenRows(compact.token_embedding.weight, torch.cat(batches))
    sparse = _Trainer(compact, rows, 0.5)
    for part in (batches[:2], batches[2:3], batches[3:]):
        plain.steps(part)
        sparse.steps(part)
        assert torch.equal(compact.token_embedding.weight, whole.token_embedding.weight)


def test_pull_takes_the_rows_from_a_loaded_table():
    tower = _Tower()
    rows = UsedTokenRows(tower.token_embedding.weight, torch.tensor([[1, 3, 3, 7]]))
    with torch.no_grad():
        tower.token_embedding.weight.mul_(2.0)
    rows.pull()
    torch.testing.assert_close(rows.rows.detach(), tower.token_embedding.weight.detach()[[1, 3, 7]])
