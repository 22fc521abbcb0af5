"""scripts/gpu_check.py off a GPU: its argument checks, the one-line no-CUDA exit, and a CPU
smoke run of two cheap sections (the same section functions a GPU run calls, with tiny steps)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "scripts" / "gpu_check.py"


def _run(*args: str, timeout: int = 120, **env: str) -> subprocess.CompletedProcess:
    full_env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=str(ROOT), **env)
    return subprocess.run([sys.executable, str(SCRIPT), *args], capture_output=True, text=True, timeout=timeout, env=full_env)


def test_without_cuda_says_so_in_one_line_and_exits_0(tmp_path):
    # Hiding every GPU makes this the no-CUDA case on any machine.
    p = _run("--out", str(tmp_path / "t.txt"), CUDA_VISIBLE_DEVICES="")
    assert p.returncode == 0, p.stderr
    lines = p.stdout.strip().splitlines()
    assert len(lines) == 1 and "no CUDA" in lines[0]
    assert not (tmp_path / "t.txt").exists()


def test_bad_arguments_are_one_line_and_exit_2(tmp_path):
    cases = [
        ("--sections", "peak", "warp"),
        ("--device", "tpu"),
        ("--device", "cpu"),  # cpu without --allow-cpu
        ("--out", str(tmp_path / "missing" / "t.txt")),
        ("--no-such-option",),
    ]
    for args in cases:
        p = _run(*args, CUDA_VISIBLE_DEVICES="")
        assert p.returncode == 2, (args, p.stdout, p.stderr)
        err = p.stderr.strip().splitlines()
        assert len(err) == 1 and err[0].startswith("gpu_check: error:"), (args, p.stderr)


def test_cpu_smoke_run_writes_rows_to_the_out_file(tmp_path):
    out = tmp_path / "table.txt"
    p = _run("--device", "cpu", "--allow-cpu", "--quick", "--sections", "train", "peak", "--out", str(out), timeout=180)
    assert p.returncode == 0, p.stderr[-2000:]
    text = out.read_text()
    rows = [ln for ln in text.splitlines() if not ln.startswith("#")]
    # sections run in their fixed order whatever order they were asked in
    assert rows[1].startswith("peak ") and "TFLOP/s" in rows[1]
    train = [r for r in rows if r.startswith("train ")]
    assert any("faces/s ours|naive" in r and "x" in r for r in train), text
    assert any("data wait" in r for r in train), text
    assert any("achieved" in r and "of peak" in r for r in train), text  # the peak reached the train section
    assert "FAILED" not in text and "TIMEOUT" not in text, text
    assert "0 section(s) failed" in text
    assert rows[1] in p.stdout  # the table is printed too
