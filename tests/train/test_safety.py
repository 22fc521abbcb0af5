"""train: --iterations is a total, warnings on facesets that cannot give a
swap, crash safety (kill -9 at random moments, during the first save too),
stale temp files removed, a truthful message for a damaged trainer.pt, and
files that follow the user's umask."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from faceswap.cli import main
from faceswap.errors import FaceswapError
from faceswap.fileio import mark_output_folder
from faceswap.train import load_swap_model, train
from faceswap.train.checkpoint import resume_meta
from faceswap.training import load_trainer_state

from .conftest import make_faceset

HERE = Path(__file__).resolve().parent


def _train(facesets, model_dir, steps, **kw):
    a, b = facesets
    kw.setdefault("preset", "tiny")
    kw.setdefault("save_every", 0)
    return train(a, b, model_dir, iterations=steps, progress=False, preview_every=0, **kw)


def _temps(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if ".tmp" in p.name or "partial" in p.name)


def test_iterations_is_the_total(tiny_preset, facesets, tmp_path, capsys):
    assert _train(facesets, tmp_path / "m", 2).step == 2
    again = _train(facesets, tmp_path / "m", 2)  # the same command twice does not train twice as long
    assert (again.start_step, again.step) == (2, 2)
    assert _train(facesets, tmp_path / "m", 3).step == 3
    import inspect

    from faceswap import cli

    assert "total step count" in inspect.signature(cli.train).parameters["iterations"].default.help


def test_tiny_or_identical_facesets_warn(tiny_preset, facesets, tmp_path):
    a, b = facesets
    with pytest.warns(UserWarning, match="only 6 faces"):
        _train(facesets, tmp_path / "m", 1)
    with pytest.warns(UserWarning, match="same faceset"):
        _train((a, a), tmp_path / "m2", 1)


def test_unfinished_first_save_restarts_cleanly(tiny_preset, facesets, tmp_path):
    """The state a kill inside the first save left: weights and temp files, no config.json."""
    model_dir = tmp_path / "m"
    model_dir.mkdir()
    mark_output_folder(model_dir)  # train marks the folder before its first file
    (model_dir / "model.safetensors").write_bytes(b"\0" * 64)
    (model_dir / ".trainer.pt.abc123.tmp").write_bytes(b"\0" * 64)
    (model_dir / ".config.json.def456.tmp").write_text("{")
    with pytest.warns(UserWarning, match="first checkpoint was never finished"):
        s = _train(facesets, model_dir, 2)
    assert s.start_step == 0 and s.step == 2 and _temps(model_dir) == []
    load_swap_model(model_dir)
    # a folder that holds anything else is still not taken for a model
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "model.safetensors").write_bytes(b"x")
    (tmp_path / "other" / "notes.txt").write_text("mine")
    with pytest.raises(FaceswapError, match="not a swap model"):
        _train(facesets, tmp_path / "other", 1)
    assert (tmp_path / "other" / "notes.txt").exists()
    # another tool's weights and preview, in a folder faceswap did not make: never deleted
    (tmp_path / "tool").mkdir()
    (tmp_path / "tool" / "model.safetensors").write_bytes(b"their weights")
    (tmp_path / "tool" / "preview.png").write_bytes(b"their preview")
    with pytest.raises(FaceswapError, match="not a swap model"):
        _train(facesets, tmp_path / "tool", 1)
    assert (tmp_path / "tool" / "model.safetensors").read_bytes() == b"their weights"
    assert (tmp_path / "tool" / "preview.png").read_bytes() == b"their preview"


def test_stale_temp_files_removed(tiny_preset, facesets, tmp_path):
    _train(facesets, tmp_path / "m", 1)
    for name in (".trainer.pt.x1.tmp", ".model.safetensors.x2.tmp", ".config.json.x3.tmp"):
        (tmp_path / "m" / name).write_bytes(b"\0" * 128)
    (tmp_path / "m" / ".mine.tmp").write_text("not ours")
    _train(facesets, tmp_path / "m", 2)
    assert _temps(tmp_path / "m") == [".mine.tmp"]


def test_damaged_trainer_state_message_says_what_happens(tiny_preset, facesets, tmp_path):
    _train(facesets, tmp_path / "m", 2)
    (tmp_path / "m" / "trainer.pt").write_bytes(b"\0garbage" * 8)
    with pytest.raises(FaceswapError) as e:
        _train(facesets, tmp_path / "m", 3)
    assert "fresh optimizer" in str(e.value) and "\n" not in str(e.value)
    (tmp_path / "m" / "trainer.pt").unlink()  # doing what it says
    s = _train(facesets, tmp_path / "m", 3)
    assert (s.start_step, s.step) == (2, 3)  # the weights resumed at their step


def test_files_follow_the_umask(tiny_preset, facesets, tmp_path):
    old = os.umask(0o027)
    try:
        _train(facesets, tmp_path / "m", 1)
    finally:
        os.umask(old)
    modes = {p.name: p.stat().st_mode & 0o777 for p in (tmp_path / "m").iterdir()}
    assert modes and set(modes.values()) == {0o640}, modes


# ---- fault injection: kill -9 at random moments ------------------------------------------------
CHILD = textwrap.dedent(
    """
    import sys
    sys.path.insert(0, {tests!r})
    from conftest import TINY
    from faceswap.train.presets import PRESETS
    PRESETS["tiny"] = TINY
    from faceswap.cli import main
    print("ready", flush=True)
    sys.exit(main(sys.argv[1:]))
    """
)


@pytest.mark.slow
def test_kill_9_at_random_moments(tiny_preset, tmp_path):
    a, b = make_faceset(tmp_path / "a", n=30), make_faceset(tmp_path / "b", n=30, hue=60)
    model_dir = tmp_path / "m"
    script = tmp_path / "child.py"
    script.write_text(CHILD.format(tests=str(HERE)))
    args = [sys.executable, str(script), "train", str(a), str(b), "-m", str(model_dir), "-p", "tiny",
            "--save-every", "1", "--preview-every", "2", "--no-progress", "--threads", "1"]
    env = dict(os.environ, OMP_NUM_THREADS="1")
    rng = random.Random(13)
    first_saves = 0
    for run in range(20):
        if run % 4 == 0:  # a fresh folder now and then: kills land in the first save
            import shutil

            shutil.rmtree(model_dir, ignore_errors=True)
            first_saves += 1
        proc = subprocess.Popen(args + ["-i", "100000"], env=env, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)
        assert proc.stdout.readline().strip() == "ready"
        time.sleep(rng.uniform(0.0, 0.6))
        proc.send_signal(signal.SIGKILL)
        _, err = proc.communicate(timeout=60)
        assert proc.returncode == -signal.SIGKILL, err[-2000:]
        meta = resume_meta(model_dir, "tiny", None, False)  # resumable, or recognised as unfinished
        if meta is not None:
            load_swap_model(model_dir)
            if (model_dir / "trainer.pt").is_file():
                load_trainer_state(model_dir)
    assert first_saves == 5
    result = subprocess.run(args + ["-i", "3"], env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    assert _temps(model_dir) == []
    model, meta = load_swap_model(model_dir)
    assert meta["step"] >= 3
