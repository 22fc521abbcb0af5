"""Multi-process training (DistributedDataParallel) on CPU with gloo: two ranks, identical weights."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import torch

HERE = Path(__file__).resolve().parent

SCRIPT = textwrap.dedent(
    """
    import os, sys
    import torch
    sys.path.insert(0, {tests!r})
    from conftest import TINY
    from faceswap.train.presets import PRESETS
    PRESETS["tiny"] = TINY
    from faceswap.train import train
    out = sys.argv[4]
    s = train(sys.argv[1], sys.argv[2], sys.argv[3], iterations=3, preset="tiny", device="cpu", progress=False,
              save_every=0, preview_every=0)
    torch.save({{k: v.detach().cpu() for k, v in s.model.state_dict().items()}},
               os.path.join(out, f"rank{{os.environ['RANK']}}.pt"))
    """
)


def test_torchrun_two_ranks_end_identical(tiny_preset, facesets, tmp_path):
    a, b = facesets
    script = tmp_path / "ddp.py"
    script.write_text(SCRIPT.format(tests=str(HERE)))
    env = dict(os.environ, OMP_NUM_THREADS="1")
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2", str(script),
           str(a), str(b), str(tmp_path / "m"), str(tmp_path)]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=240)
    assert proc.returncode == 0, proc.stderr[-3000:]
    w0 = torch.load(tmp_path / "rank0.pt", weights_only=True)
    w1 = torch.load(tmp_path / "rank1.pt", weights_only=True)
    assert w0.keys() == w1.keys() and all(torch.equal(w0[k], w1[k]) for k in w0)
    from faceswap.train import load_swap_model

    model, meta = load_swap_model(tmp_path / "m")
    assert meta["step"] == 3  # rank 0 wrote the model directory
    assert all(torch.equal(v, w0[k]) for k, v in model.state_dict().items())
