"""A full disk, met by each stage that writes: train's save, refine, extract and
convert each stop with one line naming the file and the full disk (exit 1, no
traceback), and what was there before (the previous checkpoint) still resumes.
Runs on a real 4 MiB tmpfs filled up (see the small_disk fixture)."""

from __future__ import annotations

import shutil
from pathlib import Path

import av
import numpy as np
import pytest

from faceswap.cli import main
from faceswap.train.presets import PRESETS, Preset

TINY = Preset(
    "tiny",
    dict(resolution=16, encoder_channels=(4, 8, 8, 8), kernel_size=3, latent_dim=8, bottleneck_channels=8,
         decoder_channels=(8, 4, 4), upsample="pixel_shuffle", residual_blocks=0),
    batch_size=4, lr=1e-3, purpose="tests",
)


def _one_line_full_disk(capsys, name: str) -> None:
    err = capsys.readouterr().err
    lines = [l for l in err.splitlines() if not l.startswith("faceswap: warning:")]
    assert len(lines) == 1 and lines[0].startswith("faceswap: error: "), err
    assert "No space left on device" in lines[0] and "disk is full" in lines[0] and name in lines[0], err
    assert "Traceback" not in err and "terminate called" not in err


@pytest.fixture
def tiny(monkeypatch):
    monkeypatch.setitem(PRESETS, "tiny", TINY)


def _train(a, b, model, steps, *extra) -> list[str]:
    return ["train", str(a), str(b), "-m", str(model), "--preset", "tiny", "--iterations", str(steps), "--threads", "1",
            "--no-progress", "--preview-every", "0", *extra]


def test_train_save_on_a_full_disk_keeps_the_previous_checkpoint(tiny, small_disk, synthetic_faceset, tmp_path,
                                                                   capsys):
    from faceswap.train import load_swap_model

    a, b = (synthetic_faceset(tmp_path / k, n=8, size=64, shade=s) for k, s in (("a", 0), ("b", 60)))
    model = small_disk.path / "m"
    assert main(_train(a, b, model, 2)) == 0
    before = {p.name: p.read_bytes() for p in model.iterdir()}
    small_disk.fill(leave=2048)
    capsys.readouterr()
    assert main(_train(a, b, model, 4)) == 1
    _one_line_full_disk(capsys, str(model))
    assert {p.name: p.read_bytes() for p in model.iterdir() if not p.name.startswith(".")} == \
        {k: v for k, v in before.items() if not k.startswith(".")}
    assert load_swap_model(model)[1]["step"] == 2
    small_disk.empty()
    assert main(_train(a, b, model, 4)) == 0  # resumes from step 2
    assert load_swap_model(model)[1]["step"] == 4
    assert not [p for p in model.iterdir() if ".tmp" in p.name]  # no temp files pile up


def test_refine_on_a_full_disk(tiny, small_disk, synthetic_faceset, tmp_path, capsys):
    a, b = (synthetic_faceset(tmp_path / k, n=8, size=64, shade=s) for k, s in (("a", 0), ("b", 60)))
    model = tmp_path / "m"
    assert main(_train(a, b, model, 2)) == 0
    shutil.copytree(model, small_disk.path / "m")
    small_disk.fill(leave=4096)
    capsys.readouterr()
    assert main(["refine", str(small_disk.path / "m"), "--iterations", "2", "--threads", "1", "--no-progress"]) == 1
    _one_line_full_disk(capsys, "detail_b")
    small_disk.empty()
    assert main(["refine", str(small_disk.path / "m"), "--iterations", "2", "--threads", "1", "--no-progress"]) == 0


def _clip(path: Path, frames: int = 12, size: int = 96) -> Path:
    rng = np.random.default_rng(0)
    with av.open(str(path), "w") as out:
        s = out.add_stream("libx264", rate=25)
        s.width = s.height = size
        s.pix_fmt = "yuv420p"
        for _ in range(frames):
            img = rng.integers(0, 255, (size, size, 3), dtype=np.uint8)
            for p in s.encode(av.VideoFrame.from_ndarray(img, format="rgb24")):
                out.mux(p)
        for p in s.encode():
            out.mux(p)
    return path


def test_extract_on_a_full_disk_resumes(small_disk, clips, tmp_path, capsys):
    clip = clips.cut("d20.mp4", 12, tmp_path / "d20.mp4")
    out = small_disk.path / "faces"
    small_disk.fill(leave=300_000)  # room for a few 256 px crops, not for twelve
    assert main(["extract", str(clip), "-o", str(out), "--no-progress", "--batch-size", "2"]) == 1
    _one_line_full_disk(capsys, str(out))
    assert (out / "alignments.json").is_file()  # recognisable as an unfinished faceset
    small_disk.empty()
    assert main(["extract", str(clip), "-o", str(out), "--no-progress"]) == 0
    import json

    doc = json.loads((out / "alignments.json").read_text())
    assert doc["complete"] and len(doc["frames"]) == 12
    assert not [p for p in out.iterdir() if ".tmp" in p.name]


def test_convert_on_a_full_disk(small_disk, tiny_model, tmp_path, capsys):
    model = tiny_model
    clip = _clip(tmp_path / "v.mp4", frames=40, size=128)
    small_disk.fill(leave=60_000)  # noise does not compress: the video outgrows this
    out = small_disk.path / "out.mp4"
    assert main(["convert", str(clip), "-m", str(model), "-o", str(out), "--no-progress"]) == 1
    _one_line_full_disk(capsys, "out.mp4")
    assert not out.exists() and [p.name for p in small_disk.path.iterdir()] == ["ballast"]
