"""convert() end to end on a short real 720p clip (the first 30 frames of s18,
with its audio), with a tiny untrained swap model: frame count, fps,
duration, audio packets, the synthetic tag, and the pixels outside the face
region equal to the input up to codec error. Plus images in/out and the
one-line errors for bad inputs."""

from __future__ import annotations

import json
from pathlib import Path

import av
import numpy as np
import pytest

from faceswap.cli import main
from faceswap.convert import convert
from faceswap.convert.blend import crop_bounds
from faceswap.errors import FaceswapError
from faceswap.models import save_model
from faceswap.models.swap import SwapAutoEncoder
from faceswap.video import cut_clip

N_FRAMES = 30


def _tiny_model(folder: Path, mask: bool = False) -> Path:
    import torch

    torch.manual_seed(0)
    cfg = dict(resolution=32, identities=["a", "b"], encoder_channels=[4, 8, 8, 8], kernel_size=3, latent_dim=8,
               bottleneck_channels=8, decoder_channels=[8, 8, 4], mask=mask)
    model = SwapAutoEncoder(cfg)
    save_model(model, folder, extra={"faceswap": {"preset": "test", "resolution": 32, "coverage": 0.75,
                                                  "identities": ["a", "b"], "mask": mask, "step": 0,
                                                  "faceset_a": "faces/s18", "faceset_b": "faces/other"}})
    return folder


def _cut_clip(src: Path, dst: Path, frames: int) -> None:
    """The first `frames` frames of `src`, with the source's audio of that span."""
    cut_clip(src, dst, frames, preset="ultrafast")


def _frames(path: Path) -> list[np.ndarray]:
    with av.open(str(path)) as c:
        return [f.to_ndarray(format="rgb24") for f in c.decode(video=0)]


def _audio_packets(path: Path) -> list[bytes]:
    with av.open(str(path)) as c:
        return [bytes(p) for p in c.demux(c.streams.audio[0]) if p.size]


@pytest.fixture(scope="module")
def clip(faces_dir, tmp_path_factory):
    """(clip.mp4, alignments.json, model dir): alignments from extract's detector."""
    from faceswap.extract.detect import Detector

    root = tmp_path_factory.mktemp("convert")
    clip = root / "clip.mp4"
    _cut_clip(faces_dir / "s18.mp4", clip, N_FRAMES)
    frames = _frames(clip)
    det = Detector(device="cpu")
    found = det.detect(frames[:1])  # full detection once, then O-net tracking (as extract does)
    for f in frames[1:]:
        found.append(det.refine(f, found[-1].boxes[:1]))
    h, w = frames[0].shape[:2]
    doc = {"version": 1, "source": str(clip), "width": w, "height": h, "fps": 30.0, "frame_count": len(frames),
           "size": 256, "coverage": 0.75, "frames": {}}
    for i, faces in enumerate(found):
        doc["frames"][str(i)] = [{"box": b.tolist(), "score": float(s), "landmarks": lm.tolist()}
                                 for b, s, lm in zip(faces.boxes, faces.scores, faces.landmarks)][:1]
    # one frame without a face must pass through unchanged
    doc["frames"]["5"] = []
    (root / "faces").mkdir()
    align = root / "faces" / "alignments.json"
    align.write_text(json.dumps(doc))
    return clip, align, _tiny_model(root / "model")


def test_convert_video_keeps_frames_audio_tag_and_background(clip, tmp_path):
    src, align, model = clip
    out = tmp_path / "out.mp4"
    # hold_frames=0: the hold through cover would fill the one-frame gap (tests/convert/test_hold.py)
    summary = convert(src, model, out, alignments=align, progress=False, watermark=None, batch_size=8, hold_frames=0)
    assert summary.frames == N_FRAMES and summary.frames_without_face == 1
    assert summary.faces_swapped == N_FRAMES - 1 and summary.to == "b"

    with av.open(str(src)) as a, av.open(str(out)) as b:
        va, vb = a.streams.video[0], b.streams.video[0]
        assert vb.codec_context.name == "h264"
        assert (vb.codec_context.width, vb.codec_context.height) == (va.codec_context.width, va.codec_context.height)
        assert vb.average_rate == va.average_rate
        assert abs(float(vb.duration * vb.time_base) - float(va.duration * va.time_base)) < 1e-6
        assert abs(b.duration - a.duration) / 1e6 < 0.05
        assert b.metadata.get("synthetic_media") == "true"
        assert "faceswap" in b.metadata.get("comment", "")
    assert _audio_packets(out) == _audio_packets(src)

    fin, fout = _frames(src), _frames(out)
    assert len(fout) == len(fin) == N_FRAMES
    doc = json.loads(align.read_text())
    outside_err, inside_change = [], []
    for i, (x, y) in enumerate(zip(fin, fout)):
        region = np.zeros(x.shape[:2], bool)
        for face in doc["frames"][str(i)]:
            x1, y1, x2, y2 = face["box"]
            side = max(x2 - x1, y2 - y1)
            cx, cy = (x1 + x2) / 2, (y1 + y2) / 2  # the crop (coverage 0.75) lies well inside 1.5 box sizes
            region[max(0, int(cy - 1.5 * side)):int(cy + 1.5 * side), max(0, int(cx - 1.5 * side)):int(cx + 1.5 * side)] = True
            inside_change.append(np.abs(x[region].astype(int) - y[region].astype(int)).mean())
        outside_err.append(np.abs(x[~region].astype(int) - y[~region].astype(int)))
    err = np.concatenate([e.ravel() for e in outside_err])
    print(f"\noutside the face region: mean abs error {err.mean():.3f}, p99 {np.percentile(err, 99):.0f}, "
          f"max {err.max()} (H.264 crf 18 re-encode); inside: mean change {np.mean(inside_change):.2f}")
    assert err.mean() < 2.5 and np.percentile(err, 99) <= 10
    assert np.mean(inside_change) > err.mean() + 1  # the faces did change
    # the frame without a face: nothing but codec error
    assert np.abs(fin[5].astype(int) - fout[5].astype(int)).mean() < 2.5


def test_convert_with_detection_and_tracking(clip, tmp_path):
    src, align, model = clip
    s = convert(src, model, tmp_path / "d.mp4", progress=False)  # no alignments: extract's detector + tracker
    assert s.frames == N_FRAMES and s.faces_swapped >= N_FRAMES - 1
    assert len(_frames(tmp_path / "d.mp4")) == N_FRAMES


def test_convert_options_and_watermark(clip, tmp_path):
    src, align, model = clip
    out = tmp_path / "w.mp4"
    s = convert(src, model, out, alignments=align, mask="ellipse", color="hist", blend="poisson", smooth=False,
                watermark="SYNTHETIC", to="a", progress=False)
    assert s.to == "a" and s.frames == N_FRAMES
    last = _frames(out)[-1]
    h = last.shape[0]
    assert last[h - 40:, :200].max() > 240  # the white label


def test_images_in_images_out_with_tag(clip, tmp_path):
    from PIL import Image

    src, align, model = clip
    frames = _frames(src)[:2]
    folder = tmp_path / "imgs"
    folder.mkdir()
    for i, f in enumerate(frames):
        Image.fromarray(f).save(folder / f"f{i}.png")
    doc = json.loads(align.read_text())
    doc["frame_count"] = 2
    doc["frames"] = {k: v for k, v in doc["frames"].items() if k in ("0", "1")}
    (tmp_path / "al.json").write_text(json.dumps(doc))
    out = tmp_path / "out_imgs"
    s = convert(folder, model, out, alignments=tmp_path / "al.json", progress=False, color="mean")
    assert s.frames == 2 and s.faces_swapped == 2
    for i in range(2):
        img = Image.open(out / f"f{i}.png")
        assert img.text["synthetic_media"] == "true" and "faceswap" in img.text["comment"]
        assert np.asarray(img).shape == frames[i].shape
    doc["frame_count"] = 1
    doc["frames"] = {"0": doc["frames"]["0"]}
    (tmp_path / "al1.json").write_text(json.dumps(doc))
    single = tmp_path / "one.png"
    convert(folder / "f0.png", model, single, alignments=tmp_path / "al1.json", progress=False)
    assert Image.open(single).text["synthetic_media"] == "true"
    # a model with a learned mask, through the CLI ("auto" picks the learned mask)
    masked = _tiny_model(tmp_path / "masked", mask=True)
    argv = ["convert", str(folder / "f0.png"), "-m", str(masked), "-o", str(tmp_path / "m.png"),
            "-a", str(tmp_path / "al1.json"), "--no-progress", "--mask-erode", "2", "--mask-blur", "8"]
    assert main(argv) == 0
    assert Image.open(tmp_path / "m.png").text["synthetic_media"] == "true"


def test_bad_inputs_are_one_line_errors_and_nothing_is_overwritten(clip, tmp_path, capsys):
    src, align, model = clip
    out = tmp_path / "o.mp4"
    out.write_bytes(b"precious")
    bad = tmp_path / "corrupt.mp4"
    bad.write_bytes(b"not a video at all" * 100)
    notmodel = tmp_path / "notmodel"
    notmodel.mkdir()
    (notmodel / "config.json").write_text("{}")
    cases = [
        ([str(tmp_path / "missing.mp4"), "-m", str(model), "-o", str(tmp_path / "x.mp4")], "missing"),
        ([str(bad), "-m", str(model), "-o", str(tmp_path / "x.mp4")], "corrupt"),
        ([str(src), "-m", str(notmodel), "-o", str(tmp_path / "x.mp4"), "-a", str(align)], "not a model"),
        ([str(src), "-m", str(model), "-o", str(tmp_path / "x.mp4"), "-a", str(align), "--to", "zed"], "identity"),
        ([str(src), "-m", str(model), "-o", str(out), "-a", str(align)], "exists"),
    ]
    messages = {}
    for argv, what in cases:
        assert main(["convert", *argv, "--no-progress"]) == 1, what
        err = capsys.readouterr().err.strip()
        assert err.startswith("faceswap: error: ") and "\n" not in err, (what, err)
        messages[what] = err
    assert "zed" in messages["identity"] and "already exists" in messages["exists"]
    assert out.read_bytes() == b"precious"
    assert not (tmp_path / "x.mp4").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["corrupt.mp4", "notmodel", "o.mp4"]
    with pytest.raises(FaceswapError, match="already exists"):
        convert(src, model, out, alignments=align, progress=False)
