"""convert --alignments refuses what would give a silently wrong swap: an
unfinished faceset, alignments of another file; and fills the frames that
`extract --every N` skipped instead of passing them through unswapped."""

from __future__ import annotations

import json
import os
from pathlib import Path

import av
import numpy as np
import pytest

from faceswap.convert import convert
from faceswap.convert.files import fill_skipped, load_alignments
from faceswap.errors import FaceswapError
from faceswap.extract.faceset import source_fingerprint
from faceswap.video import probe


def _video(path: Path, frames: int, size: int = 96) -> Path:
    with av.open(str(path), "w") as out:
        s = out.add_stream("libx264", rate=25)
        s.width = s.height = size
        s.pix_fmt = "yuv420p"
        rng = np.random.default_rng(frames)
        for _ in range(frames):
            img = rng.integers(0, 255, (size, size, 3), dtype=np.uint8)
            for p in s.encode(av.VideoFrame.from_ndarray(img, format="rgb24")):
                out.mux(p)
        for p in s.encode():
            out.mux(p)
    return path


LM = [[35.0, 40.0], [61.0, 40.0], [48.0, 54.0], [38.0, 68.0], [58.0, 68.0]]


def _alignments(path: Path, source: Path, frames: dict[int, int], every: int = 1, **extra) -> Path:
    """alignments.json as extract writes it: `frames` maps index -> number of faces."""
    doc = {"version": 1, "source": str(source), "width": 96, "height": 96, "fps": 25.0, "frame_count": None,
           "size": 64, "coverage": 0.75, "done": max(frames) + 1, "complete": True,
           "settings": {"every": every},
           "frames": {str(k): [{"landmarks": [[x + k, y] for x, y in LM], "file": f"{k:06d}_{j}.png"}
                               for j in range(n)] for k, n in frames.items()}, **extra}
    path.write_text(json.dumps(doc))
    return path


@pytest.fixture
def model(tmp_path):
    import torch

    from faceswap.models import save_model
    from faceswap.models.swap import SwapAutoEncoder

    torch.manual_seed(0)
    cfg = dict(resolution=32, identities=["a", "b"], encoder_channels=[4, 8, 8, 8], kernel_size=3, latent_dim=8,
               bottleneck_channels=8, decoder_channels=[8, 8, 4])
    return save_model(SwapAutoEncoder(cfg), tmp_path / "model",
                      extra={"faceswap": {"preset": "test", "resolution": 32, "identities": ["a", "b"]}})


def test_unfinished_alignments_refused(tmp_path, model):
    video = _video(tmp_path / "v.mp4", 6)
    al = _alignments(tmp_path / "alignments.json", video, {0: 1, 1: 1}, complete=False)
    with pytest.raises(FaceswapError, match="unfinished"):
        convert(video, model, tmp_path / "o.mp4", alignments=al, progress=False)
    assert not (tmp_path / "o.mp4").exists()


def test_alignments_of_another_file_refused(tmp_path, model):
    full = _video(tmp_path / "full.mp4", 8)
    short = tmp_path / "short.mp4"
    short.write_bytes(full.read_bytes()[: full.stat().st_size // 2])  # a truncated copy: same frame size
    al = _alignments(tmp_path / "alignments.json", short, {k: 1 for k in range(3)},
                     fingerprint=source_fingerprint(short))
    with pytest.raises(FaceswapError, match="another file"):
        convert(full, model, tmp_path / "o.mp4", alignments=al, progress=False)
    # older alignments without a fingerprint still load
    old = _alignments(tmp_path / "old.json", full, {k: 1 for k in range(8)})
    frames, _ = load_alignments(old, probe(full))
    assert len(frames) == 8


def test_frames_skipped_by_every_are_swapped(tmp_path, model):
    video = _video(tmp_path / "v.mp4", 8)
    al = _alignments(tmp_path / "alignments.json", video, {0: 1, 4: 1}, every=4,
                     fingerprint=source_fingerprint(video))
    summary = convert(video, model, tmp_path / "o.mp4", alignments=al, progress=False, smooth=False)
    assert summary.frames == 8 and summary.faces_swapped == 8 and summary.frames_without_face == 0


def test_fill_skipped_interpolates_between_neighbours():
    a = np.zeros((5, 2), np.float32)
    b = np.full((5, 2), 4.0, np.float32)
    out = fill_skipped({0: [a], 4: [b], 8: []}, 4)
    np.testing.assert_allclose(out[1][0], 1.0)
    np.testing.assert_allclose(out[3][0], 3.0)
    assert out[5] and not out[7]  # a face leaving: nearer examined frame decides
    assert len(out[11]) == 0 and out[8] == []


def test_folder_output_follows_umask_and_stale_partials_go(tmp_path, model):
    import cv2

    folder = tmp_path / "in"
    folder.mkdir()
    for i in range(2):
        cv2.imwrite(str(folder / f"{i}.png"), np.full((64, 64, 3), 60 * i, np.uint8))
    stale = tmp_path / ".out.k1ll3d.partial"  # what a killed folder convert left
    stale.mkdir()
    (stale / "0.png").write_bytes(b"x")
    (tmp_path / "clip.partial.mp4").write_bytes(b"x")  # a killed video convert to clip.mp4: not this output
    old = os.umask(0o027)
    try:
        convert(folder, model, tmp_path / "out", progress=False)
    finally:
        os.umask(old)
    assert (tmp_path / "out").stat().st_mode & 0o777 == 0o750
    assert not stale.exists() and (tmp_path / "clip.partial.mp4").exists()
    convert(folder, model, tmp_path / "out", progress=False, force=True)  # its own folder: replaced


def test_failed_extract_leaves_no_empty_folder(tmp_path):
    from faceswap.extract import extract

    image = tmp_path / "in.png"
    import cv2

    cv2.imwrite(str(image), np.zeros((64, 64, 3), np.uint8))
    with pytest.raises(Exception):
        extract(image, tmp_path / "faces", device="no-such-device", progress=False)
    assert not (tmp_path / "faces").exists()
