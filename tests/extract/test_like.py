"""`--like PHOTO`: keep (extract) or swap (convert) one person in a frame that
holds two real people side by side, and the one-line errors for bad photos."""

from __future__ import annotations

import json

import av
import numpy as np
import pytest

from faceswap.cli import main
from faceswap.extract import extract


def _halves(al_path):
    frames = json.loads(al_path.read_text())["frames"]
    left = right = 0
    for faces in frames.values():
        centres = [(f["box"][0] + f["box"][2]) / 2 for f in faces]
        left += any(c < 480 for c in centres)
        right += sum(c >= 480 for c in centres)
    return frames, left, right


def test_extract_like_keeps_only_that_person(pair, tmp_path, needs_identity, capsys):
    out = tmp_path / "d6"
    rc = main(["extract", str(pair["clip"]), "-o", str(out), "--size", "64", "--no-progress",
               "--like", str(pair["photos"]["d6"])])
    assert rc == 0
    assert "warning" not in capsys.readouterr().err  # the person was chosen: nothing to warn about
    frames, left, right = _halves(out / "alignments.json")
    assert left >= 0.98 * len(frames) and right == 0
    assert all(f["identity"] < 0.6 for faces in frames.values() for f in faces)
    # the other person, all of their faces allowed: still only them
    s = extract(pair["clip"], tmp_path / "d10", size=64, progress=False, max_faces=0, like=[pair["photos"]["d10"]])
    frames, left, right = _halves(tmp_path / "d10" / "alignments.json")
    assert left == 0 and right >= 0.98 * len(frames)
    assert s.faces_embedded <= 6  # embedded once per new face, not per frame (40 frames, 2 people)


def test_without_like_the_largest_is_kept_and_a_warning_says_so(pair, tmp_path, capsys):
    rc = main(["extract", str(pair["clip"]), "-o", str(tmp_path / "f"), "--size", "64", "--no-progress", "--every", "4"])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 0 and len(err) == 1 and err[0].startswith("faceswap: warning: ") and "--like" in err[0], err


@pytest.mark.parametrize("bad", ["no_face", "unreadable", "two_people", "missing"])
def test_bad_like_photos_are_one_line_errors(bad, pair, tmp_path, needs_identity, capsys):
    import cv2

    photos = {"no_face": tmp_path / "wall.png", "unreadable": tmp_path / "broken.jpg", "missing": tmp_path / "none.png"}
    cv2.imwrite(str(photos["no_face"]), np.full((240, 320, 3), 120, np.uint8))
    photos["unreadable"].write_bytes(b"not a jpeg")
    args = (["--like", str(pair["photos"]["d6"]), "--like", str(pair["photos"]["d10"])] if bad == "two_people"
            else ["--like", str(photos[bad])])
    named = pair["photos"]["d10"] if bad == "two_people" else photos[bad]
    for command in (["extract", str(pair["clip"]), "-o", str(tmp_path / "out")],
                    ["convert", str(pair["clip"]), "-m", str(tmp_path), "-o", str(tmp_path / "o.mp4")]):
        rc = main([*command, "--no-progress", *args])
        err = capsys.readouterr().err.strip()
        assert rc == 1 and len(err.splitlines()) == 1 and err.startswith("faceswap: error: "), err
        assert str(named) in err and "Traceback" not in err
    assert not (tmp_path / "out").exists()


def _tiny_model(folder):
    import torch

    from faceswap.models import save_model
    from faceswap.models.swap import SwapAutoEncoder

    torch.manual_seed(0)
    cfg = dict(resolution=32, identities=["a", "b"], encoder_channels=[4, 8, 8, 8], kernel_size=3, latent_dim=8,
               bottleneck_channels=8, decoder_channels=[8, 8, 4], mask=False)
    save_model(SwapAutoEncoder(cfg), folder, extra={"faceswap": {
        "preset": "test", "resolution": 32, "coverage": 0.75, "identities": ["a", "b"], "mask": False, "step": 0}})
    return folder


def _frames(path):
    with av.open(str(path)) as c:
        return np.stack([f.to_ndarray(format="rgb24") for f in c.decode(video=0)]).astype(np.int16)


def test_convert_like_changes_only_that_person(pair, tmp_path, needs_identity, capsys):
    from faceswap.convert import convert

    model = _tiny_model(tmp_path / "model")
    src = _frames(pair["clip"])
    s = convert(pair["clip"], model, tmp_path / "o.mp4", to="b", like=[pair["photos"]["d10"]], progress=False)
    out = _frames(tmp_path / "o.mp4")
    assert s.frames == 40 and s.faces_swapped >= 39
    left, right = np.abs(out - src)[:, :, :480].mean((1, 2, 3)), np.abs(out - src)[:, :, 480:].mean((1, 2, 3))
    assert left.max() < 2.5, left  # the other person: codec error only
    # the chosen person's face region (skin up to the hairline) is repainted in every frame
    assert right.min() > 2.5 * left.mean(), (right.min(), left.mean())
    # without --like both are swapped, and a warning says so once
    rc = main(["convert", str(pair["clip"]), "-m", str(model), "-o", str(tmp_path / "all.mp4"), "--to", "b",
               "--no-progress"])
    err = [line for line in capsys.readouterr().err.splitlines() if line.startswith("faceswap: warning")]
    assert rc == 0 and len(err) == 1 and "every face is swapped" in err[0], err
    both = np.abs(_frames(tmp_path / "all.mp4") - src)[:, :, :480].mean((1, 2, 3))
    assert both.min() > 3 * left.mean()
