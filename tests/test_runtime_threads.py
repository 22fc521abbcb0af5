"""--threads auto: timed, not guessed."""

from __future__ import annotations

import os
import time

import pytest
import torch

from faceswap.runtime import pick_threads


@pytest.mark.skipif(len(os.sched_getaffinity(0)) < 2, reason="needs two cores")
@pytest.mark.parametrize("slow_with_many", [True, False])
def test_auto_keeps_the_faster_count(slow_with_many):
    torch.set_num_threads(2)  # as on an idle machine, before auto decides

    def step():
        many = torch.get_num_threads() > 1
        time.sleep(0.02 if many == slow_with_many else 0.002)

    n, how = pick_threads("auto", step)
    assert (n == 1) == slow_with_many and torch.get_num_threads() == n
    assert "auto" in how and "s/step" in how


def test_explicit_and_single_thread_are_respected():
    calls = []
    assert pick_threads(3, lambda: calls.append(1))[0] == 3 and torch.get_num_threads() == 3
    torch.set_num_threads(1)
    assert pick_threads("auto", lambda: calls.append(1))[0] == 1
    assert not calls  # nothing was timed
