"""Identity choice, alignments checks and output guards (no video needed)."""

import json
from pathlib import Path

import pytest

from faceswap.convert.files import check_output, load_alignments, output_kind, pick_identity
from faceswap.errors import FaceswapError
from faceswap.video import VideoInfo

META = {"faceset_a": "/data/faces/alice", "faceset_b": "/data/faces/bob"}
M = Path("weights/ab")


def test_pick_identity():
    ids = ["a", "b"]
    assert pick_identity(None, ids, META, M) == "b"
    assert pick_identity("a", ids, META, M) == "a"
    assert pick_identity("alice", ids, META, M) == "a" and pick_identity("bob", ids, META, M) == "b"
    # converting B's own video (its faceset's alignments): the other one is A
    assert pick_identity(None, ids, META, M, Path("/data/faces/bob/alignments.json")) == "a"
    with pytest.raises(FaceswapError, match="no identity 'carol'.*a \\(alice\\), b \\(bob\\)"):
        pick_identity("carol", ids, META, M)
    with pytest.raises(FaceswapError, match="--to"):
        pick_identity(None, ["a", "b", "c"], {}, M)


def _info(w=640, h=360, n=10):
    return VideoInfo(Path("v.mp4"), w, h, 30.0, n)


def test_load_alignments_checks_size_and_count(tmp_path):
    doc = {"version": 1, "width": 640, "height": 360, "frame_count": 10, "coverage": 0.7,
           "frames": {"3": [{"landmarks": [[1, 2]] * 5}], "4": []}}
    p = tmp_path / "alignments.json"
    p.write_text(json.dumps(doc))
    frames, cov = load_alignments(p, _info())
    assert cov == 0.7 and frames[3][0].shape == (5, 2) and frames[4] == []
    with pytest.raises(FaceswapError, match="640x360 frames, the input is 1280x720"):
        load_alignments(p, _info(1280, 720))
    with pytest.raises(FaceswapError, match="10 frames, the input has 12"):
        load_alignments(p, _info(n=12))
    p.write_text(json.dumps({**doc, "version": 9}))
    with pytest.raises(FaceswapError, match="newer"):
        load_alignments(p, _info())
    with pytest.raises(FaceswapError, match="not found"):
        load_alignments(tmp_path / "nope.json", _info())


def test_output_checks(tmp_path):
    video = tmp_path / "in.mp4"
    video.write_bytes(b"x")
    assert output_kind(video, tmp_path / "o.mp4", False) == "video"
    with pytest.raises(FaceswapError, match=".mp4"):
        output_kind(video, tmp_path / "o.avi", False)
    with pytest.raises(FaceswapError, match=".png"):
        output_kind(tmp_path / "a.jpg", tmp_path / "o.jpg", True)
    assert output_kind(tmp_path, tmp_path / "outdir", True) == "folder"
    with pytest.raises(FaceswapError, match="is the input"):
        check_output(video, video, True)
    out = tmp_path / "o.mp4"
    out.write_bytes(b"keep")
    with pytest.raises(FaceswapError, match="--force"):
        check_output(video, out, False)
    with pytest.raises(FaceswapError, match="not written by faceswap"):
        check_output(video, out, True)  # --force replaces only what faceswap wrote
    assert out.read_bytes() == b"keep"
