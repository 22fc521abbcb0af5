"""train(): resume, refusal of a mismatched model, kill-safe saves, clear one-line errors."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import torch

from faceswap.cli import main
from faceswap.errors import FaceswapError
from faceswap.train import load_swap_model, train

from .conftest import make_faceset

HERE = Path(__file__).resolve().parent


def _train(facesets, model_dir, steps, **kw):
    a, b = facesets
    kw.setdefault("preset", "tiny")
    return train(a, b, model_dir, iterations=steps, progress=False, save_every=0, preview_every=0, **kw)


def _weights(model_dir):
    model, meta = load_swap_model(model_dir)
    return {k: v.clone() for k, v in model.state_dict().items()}, meta


def test_train_writes_model_dir_and_resume_is_exact(tiny_preset, facesets, tmp_path):
    s = _train(facesets, tmp_path / "m", 2)
    assert s.step == 2 and {"loss_a", "loss_b"} <= set(s.last)
    names = {p.name for p in (tmp_path / "m").iterdir()}
    assert {"config.json", "model.safetensors", "trainer.pt", "preview.png"} <= names
    s2 = _train(facesets, tmp_path / "m", 4)  # --iterations is the total
    assert (s2.start_step, s2.step) == (2, 4)
    resumed, meta = _weights(tmp_path / "m")
    assert meta["step"] == 4 and meta["preset"] == "tiny" and meta["resolution"] == 16
    trainer_state = torch.load(tmp_path / "m" / "trainer.pt", weights_only=True)
    assert all(float(v["step"]) == 4 for v in trainer_state["optimizer"]["state"].values())  # Adam state carried over
    assert [h["step"] for h in trainer_state["history"]] == [1, 2, 3, 4]  # loss history spans both calls
    _train(facesets, tmp_path / "straight", 4)
    straight, _ = _weights(tmp_path / "straight")
    assert all(torch.equal(resumed[k], straight[k]) for k in straight)


def test_mismatched_model_dir_is_refused(tiny_preset, facesets, tmp_path):
    _train(facesets, tmp_path / "m", 1)
    with pytest.raises(FaceswapError, match="resolution 16, not 32") as e:
        _train(facesets, tmp_path / "m", 1, resolution=32)
    assert "\n" not in str(e.value)
    with pytest.raises(FaceswapError, match="preset tiny, not lightweight"):
        _train(facesets, tmp_path / "m", 1, preset="lightweight")
    (tmp_path / "junk").mkdir()
    (tmp_path / "junk" / "notes.txt").write_text("x")
    with pytest.raises(FaceswapError, match="not a swap model"):
        _train(facesets, tmp_path / "junk", 1)


@pytest.mark.parametrize("victim", ["model.safetensors", "trainer.pt"])
def test_corrupt_checkpoint_is_one_line_error(tiny_preset, facesets, tmp_path, victim):
    _train(facesets, tmp_path / "m", 1)
    (tmp_path / "m" / victim).write_bytes(b"\x00garbage" * 10)
    with pytest.raises(FaceswapError) as e:
        _train(facesets, tmp_path / "m", 1)
    msg = str(e.value)
    assert "\n" not in msg and victim in msg and "corrupt" in msg.lower()


def test_cli_errors_are_one_line(tiny_preset, facesets, tmp_path, capsys):
    a, b = facesets
    (tmp_path / "empty").mkdir()
    assert main(["train", str(tmp_path / "empty"), str(b), "-m", str(tmp_path / "m"), "-p", "tiny", "-i", "1"]) == 1
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and err.startswith("faceswap: error:") and "empty" in err
    small = make_faceset(tmp_path / "small", n=2, size=8)
    assert main(["train", str(small), str(b), "-m", str(tmp_path / "m"), "-p", "tiny", "-i", "1"]) == 1
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "8 px" in err and "16 px" in err


KILL_SCRIPT = textwrap.dedent(
    """
    import os, signal, sys
    sys.path.insert(0, {tests!r})
    from conftest import TINY
    from faceswap.train.presets import PRESETS
    PRESETS["tiny"] = TINY
    victim = sys.argv[1]
    if victim == "weights":
        import safetensors.torch as st
        real = st.save_file
        def save_file(tensors, path, metadata=None):
            real(tensors, path, metadata=metadata)
            with open(path, "r+b") as f:
                f.truncate(os.path.getsize(path) // 2)  # half written...
            os.kill(os.getpid(), signal.SIGKILL)          # ...and killed
        st.save_file = save_file
    else:
        import torch
        real = torch.save
        def save(obj, f, *a, **k):
            real(obj, f, *a, **k)
            with open(f, "r+b") as fh:
                fh.truncate(os.path.getsize(f) // 2)
            os.kill(os.getpid(), signal.SIGKILL)
        torch.save = save
    from faceswap.train import train
    train(sys.argv[2], sys.argv[3], sys.argv[4], iterations=4, preset="tiny", progress=False,
          save_every=1, preview_every=0)
    """
)


@pytest.mark.parametrize("victim", ["weights"])  # "trainer" (kill inside trainer.pt's write) works the same
def test_killed_during_save_leaves_loadable_model(tiny_preset, facesets, tmp_path, victim):
    a, b = facesets
    model_dir = tmp_path / "m"
    _train(facesets, model_dir, 2)
    script = tmp_path / "kill.py"
    script.write_text(KILL_SCRIPT.format(tests=str(HERE)))
    env = dict(os.environ, OMP_NUM_THREADS="1")
    proc = subprocess.run([sys.executable, str(script), victim, str(a), str(b), str(model_dir)], env=env,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == -9, proc.stderr[-2000:]
    model, meta = load_swap_model(model_dir)  # the previous complete checkpoint
    assert meta["step"] == 2  # fit renames trainer.pt only after the model is saved
    s = _train(facesets, model_dir, meta["step"] + 1)  # and training resumes from it
    assert s.step == meta["step"] + 1


def test_mask_and_adversarial_options(tiny_preset, facesets, tmp_path):
    s = _train(facesets, tmp_path / "m", 2, mask=True, adversarial=0.1)
    assert {"mask_a", "mask_b", "gan_g_a", "gan_d_b"} <= set(s.last)
    model, meta = load_swap_model(tmp_path / "m")
    assert model.has_mask and meta["mask"] and meta["adversarial"] == 0.1
    assert (tmp_path / "m" / "discriminator.safetensors").is_file()
    assert _train(facesets, tmp_path / "m", 3, mask=True, adversarial=0.1).step == 3
    with pytest.raises(FaceswapError, match="adversarial"):
        _train(facesets, tmp_path / "m", 1, mask=True)
    with pytest.raises(FaceswapError, match="trained with a mask; resume with --mask "):
        _train(facesets, tmp_path / "m", 4, adversarial=0.1)


def test_no_warp_trains_on_unwarped_inputs_and_resumes(tiny_preset, facesets, tmp_path, monkeypatch):
    import faceswap.train.pipeline as pipeline

    seen = []

    class Recording(pipeline.SwapBatches):
        def __call__(self, step):
            batch = super().__call__(step)
            seen.append((self.aug.warp, batch))
            return batch

    monkeypatch.setattr(pipeline, "SwapBatches", Recording)
    _train(facesets, tmp_path / "m", 2)
    assert seen and all(w > 0 for w, _ in seen)
    warped = seen[-1][1]
    assert not torch.equal(warped["a_in"], warped["a_target"])
    seen.clear()
    # the usual recipe: warp first, then finish the same model without it
    a, b = facesets
    assert main(["train", str(a), str(b), "-m", str(tmp_path / "m"), "-i", "4", "-p", "tiny", "--no-warp",
                 "--no-progress", "--threads", "1", "--preview-every", "0"]) == 0
    assert seen and all(w == 0 for w, _ in seen)
    for _, batch in seen:  # the same augmentation otherwise: input and target are one image
        assert torch.allclose(batch["a_in"], batch["a_target"][:, :3]) and torch.allclose(batch["b_in"], batch["b_target"][:, :3])
    assert load_swap_model(tmp_path / "m")[1]["step"] == 4
    with pytest.warns(UserWarning, match="--no-warp on the new model"):
        _train(facesets, tmp_path / "fresh", 1, warp=False)
