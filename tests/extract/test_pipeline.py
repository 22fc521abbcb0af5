"""`extract` end to end on short clips made from the real ones, including every
bad input the issue lists. Each error must be one line naming the file, exit
non-zero through the CLI, and leave no output that could pass for a faceset."""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest

from faceswap.cli import main
from faceswap.errors import FaceswapError
from faceswap.extract import extract
from faceswap.extract.align import template_points
from faceswap.extract.faceset import Alignments, load_faceset
from faceswap.extract.track import Tracker

from .conftest import encode, tag_rotation

FAST = dict(size=64, progress=False)


def _cli_error(capsys, *args) -> str:
    rc = main(["extract", *map(str, args), "--no-progress"])
    err = capsys.readouterr().err.strip()
    assert rc != 0
    assert len(err.splitlines()) == 1 and err.startswith("faceswap: error: "), err
    return err


def test_extract_writes_a_faceset_that_round_trips(short_clip, tmp_path, capsys):
    out = tmp_path / "faces"
    summary = extract(short_clip, out, size=96, progress=True)
    assert summary.frames_processed == 40 and summary.faces_written == 40 and summary.frames_without_face == 0
    assert "40 faces written from 40 frames (0 without a face)" in capsys.readouterr().err
    data = json.loads((out / "alignments.json").read_text())
    assert data["version"] == 1 and data["size"] == 96 and data["complete"] is True
    assert data["frame_count"] == 40 and data["fps"] == 25.0 and data["width"] == 480
    face = data["frames"]["7"][0]
    assert set(face) >= {"box", "score", "landmarks", "matrix", "file"} and face["file"] == "000007_0.png"
    al = Alignments.load(out / "alignments.json")
    assert al.to_dict() == data  # round trip
    al.save(tmp_path / "copy.json")
    assert json.loads((tmp_path / "copy.json").read_text()) == data
    images, landmarks = load_faceset(out)
    assert images.shape == (40, 96, 96, 3) and landmarks.shape == (40, 5, 2)
    err = np.linalg.norm(landmarks - template_points(96, al.coverage), axis=2).mean() / 96
    assert err < 0.02
    crop = cv2.imread(str(out / "000000_0.png"))[:, :, ::-1]
    np.testing.assert_array_equal(crop, images[0])  # RGB in memory, BGR PNG on disk


def test_rerun_resumes_where_an_interrupted_run_stopped(short_clip, tmp_path, monkeypatch):
    out = tmp_path / "faces"
    real = Tracker.process
    calls = {"n": 0}

    def interrupted(self, images):
        calls["n"] += 1
        if calls["n"] == 3:
            raise KeyboardInterrupt
        return real(self, images)

    monkeypatch.setattr(Tracker, "process", interrupted)
    with pytest.raises(KeyboardInterrupt):
        extract(short_clip, out, batch_size=8, **FAST)
    partial = json.loads((out / "alignments.json").read_text())
    assert partial["complete"] is False and partial["done"] == 16 and len(partial["frames"]) == 16
    with pytest.raises(FaceswapError, match="unfinished"):
        load_faceset(out)  # a half-written faceset never passes for a whole one
    monkeypatch.setattr(Tracker, "process", real)
    summary = extract(short_clip, out, batch_size=8, **FAST)
    assert summary.resumed_from == 16 and summary.frames_processed == 40 and summary.faces_written == 40
    assert sorted(int(k) for k in Alignments.load(out).frames) == list(range(40))
    again = extract(short_clip, out, batch_size=8, **FAST)  # complete: nothing to do
    assert again.faces_written == 40
    with pytest.raises(FaceswapError, match="other settings"):
        extract(short_clip, out, every=2, **FAST)


def test_every_and_an_existing_output(short_clip, tmp_path, capsys, faces_dir):
    out = tmp_path / "faces"
    summary = extract(short_clip, out, every=4, **FAST)
    assert summary.frames_processed == 10
    assert sorted(Alignments.load(out).frames) == list(range(0, 40, 4))
    err = _cli_error(capsys, faces_dir / "d20.mp4", "-o", out)
    assert str(out) in err and "--force" in err
    other = tmp_path / "not_a_faceset"
    other.mkdir()
    (other / "notes.txt").write_text("mine")
    err = _cli_error(capsys, short_clip, "-o", other)
    assert "not a faceset" in err and (other / "notes.txt").exists()
    assert main(["extract", str(short_clip), "-o", str(out), "--every", "8", "--size", "64", "--force", "--no-progress"]) == 0
    assert len(Alignments.load(out).frames) == 5


@pytest.mark.parametrize("kind", ["missing", "empty", "text"])
def test_unreadable_inputs_are_one_line_errors(kind, tmp_path, capsys):
    src = tmp_path / "clip.mp4"
    if kind == "empty":
        src.write_bytes(b"")
    elif kind == "text":
        src.write_text("this is a text file, not a video\n" * 20)
    out = tmp_path / "faces"
    err = _cli_error(capsys, src, "-o", out)
    assert str(src) in err
    assert {"missing": "no such file", "empty": "empty", "text": "not a readable video"}[kind] in err
    assert not out.exists()


def test_truncated_video_extracts_what_decodes_and_says_so(faces_dir, tmp_path, capsys):
    data = (faces_dir / "d20.mp4").read_bytes()
    src = tmp_path / "truncated.mp4"
    src.write_bytes(data[: len(data) * 3 // 10])
    out = tmp_path / "faces"
    summary = extract(src, out, size=64, every=3, progress=True)
    assert summary.truncated and 0 < summary.frames_read < 175
    assert summary.faces_written == summary.frames_processed > 0
    err = capsys.readouterr().err
    assert f"{src}: video is truncated" in err and "of the 175 its header claims" in err
    doc = json.loads((out / "alignments.json").read_text())
    assert doc["truncated"] is True and doc["complete"] is True and doc["frames_read"] == summary.frames_read


def test_video_without_a_face_fails_clearly_and_leaves_nothing(tmp_path, capsys):
    rng = np.random.default_rng(0)
    ramp = np.linspace(0, 255, 160, dtype=np.float32)
    frames = [np.clip(ramp[None, :, None] + rng.normal(0, 10, (120, 160, 3)), 0, 255).astype(np.uint8)
              for _ in range(6)]
    src = encode(tmp_path / "noface.mp4", frames)
    out = tmp_path / "faces"
    err = _cli_error(capsys, src, "-o", out, "--size", "64")
    assert str(src) in err and "no face found in 6 frames" in err
    assert not out.exists()


def test_grayscale_video(d20_frames, tmp_path):
    grey = [cv2.cvtColor(f, cv2.COLOR_RGB2GRAY) for f in d20_frames[:8]]
    src = encode(tmp_path / "grey.mkv", grey, codec="ffv1", pix_fmt="gray", fmt="gray")
    summary = extract(src, tmp_path / "faces", **FAST)
    assert summary.faces_written == 8
    images, _ = load_faceset(tmp_path / "faces")
    assert images.shape[-1] == 3 and np.abs(images[..., 0].astype(int) - images[..., 1]).max() <= 2


def test_rotation_tagged_video_is_extracted_upright(d20_frames, tmp_path):
    # stored sideways (as a phone stores portrait video) with a tag that turns it upright
    sideways = [cv2.rotate(f[:, 80:400], cv2.ROTATE_90_CLOCKWISE) for f in d20_frames[:8]]
    src = tag_rotation(encode(tmp_path / "side.mp4", sideways), tmp_path / "rotated.mp4")
    summary = extract(src, tmp_path / "faces", **FAST)
    assert summary.faces_written == 8
    al = Alignments.load(tmp_path / "faces")
    assert (al.width, al.height) == (320, 480)
    lm = np.asarray(al.frames[0][0]["landmarks"])
    assert lm[:2, 1].max() < lm[2, 1] < lm[3:, 1].min()  # eyes above the nose above the mouth: upright


def test_folder_with_a_corrupt_image_skips_and_reports_it(image_folder, tmp_path, capsys):
    (image_folder / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    summary = extract(image_folder, tmp_path / "faces", size=64, progress=True)
    assert summary.faces_written == 3
    assert len(summary.skipped) == 1 and summary.skipped[0][0].endswith("broken.jpg")
    assert "skipped" in capsys.readouterr().err
    assert sorted(p.name for p in (tmp_path / "faces").glob("*.png"))[0].endswith("_0.png")


def test_single_image_and_blur_filter(image_folder, tmp_path, capsys):
    image = sorted(image_folder.iterdir())[0]
    assert extract(image, tmp_path / "one", **FAST).faces_written == 1
    err = _cli_error(capsys, image, "-o", tmp_path / "blurry", "--blur", "1e9", "--size", "64")
    assert "blurry" in err and not (tmp_path / "blurry").exists()
