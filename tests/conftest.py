"""Shared fixtures. Real data lives in ../shared beside the checkout: tests that
need it skip on a user's machine but FAIL under CI (env CI set), so a wrong path
can never silently hide a test."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"


@pytest.fixture(autouse=True)
def _one_thread():
    """Test models are tiny: a second torch thread only adds sync overhead, and
    on a busy 2-core machine it made small steps 5-20x slower (measured)."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


def _shared(sub: str) -> Path:
    path = SHARED / sub
    if not path.is_dir():
        if os.environ.get("CI"):
            pytest.fail(f"{path} is missing: CI must see ../shared/data (CI is set, so this is not skipped)")
        pytest.skip(f"{path} not present (only in the development checkout)")
    return path


@pytest.fixture(scope="session")
def faces_dir() -> Path:
    """../shared/data/faces: real talking-head clips (d6, d9, d10, d20, s18, s32)."""
    return _shared("faces")


@pytest.fixture(scope="session")
def banknote_csv() -> Path:
    """../shared/data/banknote/data_banknote_authentication.csv (UCI banknote)."""
    return _shared("banknote") / "data_banknote_authentication.csv"


@pytest.fixture(scope="session")
def needs_identity():
    """The identity extra (dlib): skipped where it is not installed, but a failure under CI."""
    from faceswap import identity

    if not identity.available():
        if os.environ.get("CI"):
            pytest.fail("the identity extra (dlib-bin, face-recognition-models) must be installed under CI")
        pytest.skip("identity extra not installed")


@pytest.fixture
def small_disk(tmp_path):
    """A 4 MiB tmpfs (CI runs as root), to fill up for disk-full tests; unmounted after.
    Where mounting is not allowed (a user's machine without root) the test skips, but
    under CI it fails: there it must run."""
    import subprocess

    mount = tmp_path / "disk"
    mount.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(mount)], capture_output=True)
    if done.returncode != 0:
        if os.environ.get("CI"):
            pytest.fail(f"cannot mount a tmpfs for the disk-full tests under CI: {done.stderr.decode().strip()}")
        pytest.skip("mounting a tmpfs needs root")
    try:
        yield SmallDisk(mount)
    finally:
        subprocess.run(["umount", "-l", str(mount)], capture_output=True)


class SmallDisk:
    def __init__(self, path: Path):
        self.path = path

    def fill(self, leave: int = 0) -> None:
        """Fill the disk until about `leave` bytes are free."""
        import shutil

        free = shutil.disk_usage(self.path).free
        with open(self.path / "ballast", "ab") as f:
            f.write(b"\0" * max(0, free - leave))

    def empty(self) -> None:
        (self.path / "ballast").unlink(missing_ok=True)


@pytest.fixture
def tiny_model(tmp_path) -> Path:
    """An untrained 32 px two-identity swap model (a, b) saved as faceswap saves one:
    enough for the paths that do not judge the face."""
    from faceswap.models import save_model
    from faceswap.models.swap import SwapAutoEncoder

    torch.manual_seed(0)
    cfg = dict(resolution=32, identities=["a", "b"], encoder_channels=[4, 8, 8, 8], kernel_size=3, latent_dim=8,
               bottleneck_channels=8, decoder_channels=[8, 8, 4])
    return save_model(SwapAutoEncoder(cfg), tmp_path / "model",
                      extra={"faceswap": {"preset": "test", "resolution": 32, "identities": ["a", "b"]}})


class Clips:
    """Small videos made at test time from the real clips (never copied into the repo)."""

    def __init__(self, faces: Path):
        self.faces = faces

    def frames(self, name: str, count: int) -> list:
        import av

        out = []
        with av.open(str(self.faces / name)) as c:
            for f in c.decode(video=0):
                out.append(f.to_ndarray(format="rgb24"))
                if len(out) >= count:
                    break
        return out

    @staticmethod
    def encode(path: Path, frames: list, rate=25) -> Path:
        import av
        from fractions import Fraction

        with av.open(str(path), "w") as c:
            s = c.add_stream("libx264", rate=Fraction(rate))
            s.width, s.height, s.pix_fmt = frames[0].shape[1], frames[0].shape[0], "yuv420p"
            for image in frames:
                for p in s.encode(av.VideoFrame.from_ndarray(image, format="rgb24")):
                    c.mux(p)
            for p in s.encode():
                c.mux(p)
        return path

    def cut(self, name: str, count: int, path: Path, rate=25) -> Path:
        """The first `count` frames of ../shared/data/faces/NAME as an mp4 at `rate` fps."""
        return self.encode(path, self.frames(name, count), rate)


@pytest.fixture(scope="session")
def clips(faces_dir) -> Clips:
    return Clips(faces_dir)


def _synthetic_faceset(folder: Path, n: int = 4, size: int = 32, shade: int = 0) -> Path:
    """n synthetic aligned 'faces' (a skin ellipse on a flat ground, shifted a little
    per face) with a complete alignments.json: enough for tiny models and the page's jobs."""
    import json

    import cv2
    import numpy as np

    folder.mkdir(parents=True)
    frames = {}
    for i in range(n):
        img = np.full((size, size, 3), (40 + shade, 90, 140), np.uint8)
        cv2.ellipse(img, (size // 2 + i % 3, size // 2), (size // 3, size * 2 // 5), 0, 0, 360,
                    (150, 180, 220 - shade), -1)
        cv2.imwrite(str(folder / f"{i:06d}_0.png"), img)
        lm = [[0.35 * size, 0.4 * size], [0.65 * size, 0.4 * size], [0.5 * size, 0.56 * size],
              [0.4 * size, 0.72 * size], [0.6 * size, 0.72 * size]]
        frames[str(i)] = [{"box": [0, 0, size, size], "score": 0.99, "landmarks": lm,
                           "matrix": [[1, 0, 0], [0, 1, 0]], "file": f"{i:06d}_0.png"}]
    (folder / "alignments.json").write_text(json.dumps(
        {"version": 1, "source": "synthetic", "width": size, "height": size, "fps": 25.0, "frame_count": n,
         "size": size, "coverage": 1.0, "frames": frames, "done": n, "complete": True}))
    return folder


@pytest.fixture(scope="session")
def synthetic_faceset():
    """The maker of small synthetic facesets: synthetic_faceset(folder, n=4, size=32, shade=0)."""
    return _synthetic_faceset
