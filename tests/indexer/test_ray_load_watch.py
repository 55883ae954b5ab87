"""LoadWatch: which worker deaths stop a Ray indexing run (the model cannot load) and which only
cost a worker (killed at work), judged from Ray's own error types."""
from __future__ import annotations

import pytest

exceptions = pytest.importorskip("ray.exceptions")

from engine.indexer.ray_pool import MAX_DEATHS_BEFORE_LOADING, LoadWatch  # noqa: E402


def _killed() -> BaseException:
    return exceptions.ActorDiedError()   # a system death: the process went away


def _raised_while_loading() -> BaseException:
    return exceptions.RayActorError(
        error_msg="ray::FileEncoder.__init__()\n  File \"model.py\", line 1\nBundleError: frame_encoder.onnx is damaged",
        actor_init_failed=True)


def test_an_error_raised_while_loading_stops_the_run_with_its_last_line():
    assert LoadWatch().died(False, [_raised_while_loading(), _killed()]) == "BundleError: frame_encoder.onnx is damaged"


def test_a_worker_killed_before_its_first_answer_arrived_is_replaced():
    # The race that a killed worker can win: its first call had answered, but the answer had not reached us.
    watch = LoadWatch()
    assert watch.died(False, [_killed(), _killed()]) is None


def test_workers_that_keep_dying_before_any_loads_stop_the_run():
    watch = LoadWatch()
    verdicts = [watch.died(False, [exceptions.GetTimeoutError(), _killed()]) for _ in range(MAX_DEATHS_BEFORE_LOADING)]
    assert verdicts[:-1] == [None] * (MAX_DEATHS_BEFORE_LOADING - 1)
    assert verdicts[-1].startswith(f"{MAX_DEATHS_BEFORE_LOADING} workers in a row stopped before loading it")


def test_a_loaded_worker_resets_the_count():
    watch = LoadWatch()
    for _ in range(MAX_DEATHS_BEFORE_LOADING - 1):
        assert watch.died(False, [_killed()]) is None
    watch.loaded()
    for _ in range(MAX_DEATHS_BEFORE_LOADING - 1):
        assert watch.died(False, [_killed()]) is None
    assert watch.died(True, [_killed()]) is None   # it had loaded: killed at work, and the count starts again
    assert watch.deaths == 0
