"""Operating-system errors on a user's path, bad numbers and warnings reach the
user as one line (no traceback): read-only outputs, an output whose parent is
a file, out-of-range options, a missing optional package."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from faceswap.cli import main
from faceswap.train.presets import PRESETS, Preset

TINY = Preset("tiny", dict(resolution=16, encoder_channels=(4, 8, 8, 8), kernel_size=3, latent_dim=8,
                           bottleneck_channels=8, decoder_channels=(8, 4, 4), upsample="pixel_shuffle",
                           residual_blocks=0), batch_size=2, lr=1e-3, purpose="tests")


@pytest.fixture
def tiny(monkeypatch):
    monkeypatch.setitem(PRESETS, "tiny", TINY)


@pytest.fixture
def inputs(tmp_path):
    """An image, a 3-frame video, two plain face folders and a tiny model."""
    import av
    import torch

    from faceswap.models import save_model
    from faceswap.models.swap import SwapAutoEncoder

    rng = np.random.default_rng(0)
    image = tmp_path / "in.png"
    cv2.imwrite(str(image), rng.integers(0, 255, (48, 48, 3), dtype=np.uint8))
    video = tmp_path / "in.mp4"
    with av.open(str(video), "w") as out:
        s = out.add_stream("libx264", rate=25)
        s.width = s.height = 48
        s.pix_fmt = "yuv420p"
        for i in range(3):
            for p in s.encode(av.VideoFrame.from_ndarray(np.full((48, 48, 3), 30 * i, np.uint8), format="rgb24")):
                out.mux(p)
        for p in s.encode():
            out.mux(p)
    faces = []
    for name in "ab":
        folder = tmp_path / f"faces_{name}"
        folder.mkdir()
        for i in range(4):
            cv2.imwrite(str(folder / f"{i}.png"), rng.integers(0, 255, (16, 16, 3), dtype=np.uint8))
        faces.append(folder)
    torch.manual_seed(0)
    model = tmp_path / "model"
    save_model(SwapAutoEncoder(dict(resolution=32, identities=["a", "b"], encoder_channels=[4, 8, 8, 8], kernel_size=3,
                                    latent_dim=8, bottleneck_channels=8, decoder_channels=[8, 8, 4])),
               model, extra={"faceswap": {"preset": "test", "resolution": 32, "identities": ["a", "b"]}})
    return {"image": image, "video": video, "a": faces[0], "b": faces[1], "model": model}


@pytest.fixture
def readonly(tmp_path):
    """A folder nobody may write into: chmod for a user; a read-only tmpfs for root."""
    folder = tmp_path / "ro"
    folder.mkdir()
    if os.geteuid() != 0:
        folder.chmod(0o555)
        yield folder
        folder.chmod(0o755)
        return
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "ro,size=1m", "tmpfs", str(folder)],
                      capture_output=True).returncode != 0:
        pytest.skip("running as root without permission to mount a read-only file system")
    try:
        yield folder
    finally:
        subprocess.run(["umount", str(folder)], check=False)


def _commands(inp, out_dir):
    return {
        "extract": ["extract", str(inp["image"]), "-o", str(out_dir / "faces"), "--no-progress"],
        "train": ["train", str(inp["a"]), str(inp["b"]), "-m", str(out_dir / "model"), "-p", "tiny",
                  "-i", "1", "--no-progress", "--preview-every", "0"],
        "convert-video": ["convert", str(inp["video"]), "-m", str(inp["model"]), "-o", str(out_dir / "o.mp4"),
                          "--no-progress"],
        "convert-image": ["convert", str(inp["image"]), "-m", str(inp["model"]), "-o", str(out_dir / "o.png"),
                          "--no-progress"],
    }


def _one_line_error(capsys, args, *needles):
    assert main(args) == 1
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("faceswap: error:"), err
    for needle in needles:
        assert str(needle) in lines[0], err
    return lines[0]


@pytest.mark.parametrize("command", ["extract", "train", "convert-video", "convert-image"])
def test_read_only_output_is_one_line(command, inputs, readonly, tiny, capsys):
    _one_line_error(capsys, _commands(inputs, readonly)[command], readonly)


@pytest.mark.parametrize("command", ["extract", "train", "convert-video", "convert-image"])
def test_output_under_a_file_is_one_line(command, inputs, tmp_path, tiny, capsys):
    blocker = tmp_path / "a_file"
    blocker.write_text("x")
    _one_line_error(capsys, _commands(inputs, blocker)[command], blocker)


@pytest.mark.parametrize("args, needle", [
    (["extract", "IMG", "-o", "OUT", "--detect-size", "-5"], "--detect-size -5"),
    (["extract", "IMG", "-o", "OUT", "--blur", "-1"], "--blur"),
    (["train", "A", "B", "-m", "OUT", "-r", "33"], "--resolution 33"),
    (["train", "A", "B", "-m", "OUT", "-r", "0"], "--resolution 0"),
    (["train", "A", "B", "-m", "OUT", "--save-every", "-1"], "--save-every"),
    (["train", "A", "B", "-m", "OUT", "--threads", "0"], "--threads"),
    (["convert", "IMG", "-m", "M", "-o", "OUT.png", "--mask-blur", "-2"], "--mask-blur"),
    (["convert", "IMG", "-m", "M", "-o", "OUT.png", "--sharpen", "-1"], "--sharpen -1"),
    (["convert", "IMG", "-m", "M", "-o", "OUT.png", "--sharpen", "crisp"], "--sharpen crisp"),
])
def test_numeric_options_are_checked_in_one_line(args, needle, inputs, tmp_path, tiny, capsys):
    names = {"IMG": inputs["image"], "A": inputs["a"], "B": inputs["b"], "M": inputs["model"],
             "OUT": tmp_path / "out", "OUT.png": tmp_path / "out.png"}
    _one_line_error(capsys, [str(names.get(a, a)) for a in args], needle)
    assert not (tmp_path / "out").exists()


def test_user_warning_is_one_plain_line(inputs, tmp_path, tiny, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "torch.utils.tensorboard", None)  # as if the package were absent
    args = _commands(inputs, tmp_path / "run")["train"] + ["--tensorboard", str(tmp_path / "tb")]
    assert main(args) == 0
    err = capsys.readouterr().err
    warned = [line for line in err.splitlines() if "tensorboard" in line]
    assert warned == ["faceswap: warning: --tensorboard: the tensorboard package is not installed; not logging"], err
    assert "UserWarning" not in err and "warnings.warn" not in err
