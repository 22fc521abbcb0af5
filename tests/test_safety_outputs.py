"""Nothing a user owns is lost, as a hostile user tried it: the exact commands
of each case, with every file outside what faceswap wrote compared byte for
byte before and after. Bad input is one line and exit 1."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import av
import cv2
import numpy as np
import pytest

from faceswap.cli import main
from faceswap.fileio import OUTPUT_MARKER


def _video(path: Path, frames: int = 4, size: int = 64) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(path), "w") as out:
        s = out.add_stream("libx264", rate=25)
        s.width = s.height = size
        s.pix_fmt = "yuv420p"
        for i in range(frames):
            for p in s.encode(av.VideoFrame.from_ndarray(np.full((size, size, 3), (30 * i) % 256, np.uint8), format="rgb24")):
                out.mux(p)
        for p in s.encode():
            out.mux(p)
    return path


def _image(path: Path, value: int = 90, size: int = 64) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(path), np.full((size, size, 3), value, np.uint8))
    return path


def _tree(folder: Path) -> dict[str, bytes | None]:
    """Every entry under `folder` (folders too), with file contents."""
    return {str(p.relative_to(folder)): (p.read_bytes() if p.is_file() else None)
            for p in sorted(folder.rglob("*"))}


def _one_line_error(capsys, *names: str) -> str:
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("faceswap: error: "), err
    assert "Traceback" not in err
    for name in names:
        assert name in err, err
    return err


@pytest.fixture
def model(tiny_model):
    return tiny_model


@pytest.fixture
def here(tmp_path, monkeypatch):
    """Run in a fresh working folder, as a user typing relative paths."""
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    return work


# ---- 1: an output path through a folder that does not exist ------------------------------------
def test_convert_onto_its_input_through_a_missing_folder(here, model, capsys):
    video = _video(here / "orig.mp4")
    photo = _image(here / "photo.png")
    other = _image(here / "other.png", 10)
    before = _tree(here)
    assert main(["convert", "orig.mp4", "-m", str(model), "-o", "nosuch/../orig.mp4", "--no-progress"]) == 1
    _one_line_error(capsys, "nosuch/../orig.mp4")
    assert main(["convert", "photo.png", "-m", str(model), "-o", "nosuch/../photo.png", "--no-progress"]) == 1
    _one_line_error(capsys, "nosuch")
    assert main(["convert", "photo.png", "-m", str(model), "-o", "nosuch/../other.png", "--no-progress"]) == 1
    _one_line_error(capsys, "nosuch")
    assert _tree(here) == before and not (here / "nosuch").exists()
    assert video.is_file() and photo.is_file() and other.is_file()


# ---- 2: --force and folders that merely hold a config.json / alignments.json ----------------
def test_force_keeps_a_folder_with_a_config_json(here, model, capsys):
    _image(here / "x.jpg")
    proj = here / "proj"
    (proj / "src").mkdir(parents=True)
    (proj / "config.json").write_text('{"theirs": true}')
    (proj / "thesis.txt").write_text("three years of work")
    (proj / "src" / "main.c").write_text("int main(){}")
    proj2 = here / "proj2"
    proj2.mkdir()
    (proj2 / "alignments.json").write_text("{}")
    (proj2 / "notes.md").write_text("mine")
    _image(here / "frames" / "f0.png")
    before = _tree(here)
    assert main(["extract", "x.jpg", "-o", "proj", "--force", "--no-progress"]) == 1
    _one_line_error(capsys, "proj")
    assert main(["convert", "frames", "-m", str(model), "-o", "proj2", "--force", "--no-progress"]) == 1
    _one_line_error(capsys, "proj2")
    os.chdir(proj)  # inside such a folder, the current folder is never an output
    assert main(["extract", "../x.jpg", "-o", ".", "--force", "--no-progress"]) == 1
    _one_line_error(capsys, "current folder")
    assert _tree(here) == before


def test_force_keeps_foreign_files_in_a_folder_faceswap_made(here, model, capsys):
    _image(here / "frames" / "f0.png")
    assert main(["convert", "frames", "-m", str(model), "-o", "out", "--no-progress"]) == 0
    capsys.readouterr()
    (here / "out" / "my-notes.txt").write_text("added by hand")
    before = _tree(here)
    assert main(["convert", "frames", "-m", str(model), "-o", "out", "--force", "--no-progress"]) == 1
    _one_line_error(capsys, "my-notes.txt")
    assert _tree(here) == before
    (here / "out" / "my-notes.txt").unlink()
    assert main(["convert", "frames", "-m", str(model), "-o", "out", "--force", "--no-progress"]) == 0


# ---- 3: inputs that were deleted ------------------------------------------------------------
def test_like_photos_are_inputs(here, model, capsys):
    clip = _video(here / "v.mp4")
    (here / "L").mkdir()
    (here / "L" / OUTPUT_MARKER).write_text("made by faceswap")  # even a folder that looks like ours
    _image(here / "L" / "ref.png")
    _image(here / "frames" / "f0.png")
    before = _tree(here)
    assert main(["extract", "v.mp4", "-o", "L", "--like", "L/ref.png", "--force", "--no-progress"]) == 1
    _one_line_error(capsys, "L/ref.png")
    assert main(["convert", "frames", "-m", str(model), "-o", "L", "--like", "L/ref.png", "--force",
                 "--no-progress"]) == 1
    _one_line_error(capsys, "L/ref.png")
    assert _tree(here) == before and clip.is_file()


def test_an_input_named_like_a_partial_output_is_read_not_deleted(here, model, capsys):
    clip = _video(here / "clip.partial.mp4", frames=5)
    data = clip.read_bytes()
    assert main(["convert", "clip.partial.mp4", "-m", str(model), "-o", "clip.mp4", "--no-progress"]) == 0
    assert clip.read_bytes() == data
    with av.open(str(here / "clip.mp4")) as c:
        assert sum(1 for _ in c.decode(video=0)) == 5


def test_force_through_a_symlink_keeps_the_faceset(here, capsys):
    faceset = here / "faceset"
    faceset.mkdir()
    (faceset / OUTPUT_MARKER).write_text("x")
    (faceset / "alignments.json").write_text("{}")
    _image(faceset / "000000_0.png")
    (here / "glink").symlink_to(faceset, target_is_directory=True)
    _image(here / "x.jpg")
    before = _tree(faceset)
    assert main(["extract", "x.jpg", "-o", "glink/sub/..", "--force", "--no-progress"]) == 1
    _one_line_error(capsys, "glink")
    assert main(["extract", "x.jpg", "-o", "glink", "--force", "--no-progress"]) == 1
    _one_line_error(capsys, "symbolic link")
    assert _tree(faceset) == before and not (faceset / "sub").exists()


# ---- 9: a faceset is resumable from its first file ---------------------------------------------
def test_extract_killed_in_its_first_seconds_resumes(short_clip_40, tmp_path):
    out = tmp_path / "faces"
    env = dict(os.environ, OMP_NUM_THREADS="1")
    cmd = [sys.executable, "-m", "faceswap.cli", "extract", str(short_clip_40), "-o", str(out), "--no-progress",
           "--batch-size", "1"]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.time() + 120
    while not list(out.glob("*.png")) and proc.poll() is None and time.time() < deadline:
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert (out / "alignments.json").is_file()  # written before the first crop
    assert json.loads((out / "alignments.json").read_text())["complete"] is False
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    doc = json.loads((out / "alignments.json").read_text())
    assert doc["complete"] is True and len(doc["frames"]) == 40
    # and --force replaces it (it is faceswap's own)
    again = subprocess.run(cmd + ["--force", "--every", "10"], env=env, capture_output=True, text=True, timeout=300)
    assert again.returncode == 0, again.stderr


@pytest.fixture(scope="module")
def short_clip_40(clips, tmp_path_factory) -> Path:
    """The first 40 frames of d20 (480x480) as an mp4."""
    return clips.cut("d20.mp4", 40, tmp_path_factory.mktemp("clip") / "d20_40.mp4")


# ---- 10: images and videos too small for a face ------------------------------------------------
def test_tiny_images_and_videos_are_frames_without_a_face(short_clip_40, tmp_path, capsys):
    folder = tmp_path / "mixed"
    folder.mkdir()
    for w, h in ((1, 1), (12, 12), (39, 39), (36, 200), (200, 36)):
        cv2.imwrite(str(folder / f"tiny_{w}x{h}.png"), np.full((h, w, 3), 128, np.uint8))
    with av.open(str(short_clip_40)) as c:
        face = next(c.decode(video=0)).to_ndarray(format="rgb24")
    cv2.imwrite(str(folder / "zz_face.png"), face[:, :, ::-1])
    assert main(["extract", str(folder), "-o", str(tmp_path / "f"), "--no-progress"]) == 0
    doc = json.loads((tmp_path / "f" / "alignments.json").read_text())
    assert sum(len(v) for v in doc["frames"].values()) == 1 and doc["complete"] is True
    capsys.readouterr()
    one = folder / "tiny_39x39.png"
    assert main(["extract", str(one), "-o", str(tmp_path / "g"), "--no-progress"]) == 1
    _one_line_error(capsys, str(one), "no face")
    small = _video(tmp_path / "small.mp4", frames=3, size=32)
    assert main(["extract", str(small), "-o", str(tmp_path / "h"), "--no-progress"]) == 1
    _one_line_error(capsys, str(small), "no face")
    assert not (tmp_path / "g").exists() and not (tmp_path / "h").exists()


# ---- 11: silent wrong results --------------------------------------------------------------------
def test_images_sharing_a_stem_give_one_output_each(tmp_path, model, capsys):
    folder = tmp_path / "in"
    folder.mkdir()
    cv2.imwrite(str(folder / "03.jpg"), np.full((48, 48, 3), 10, np.uint8))
    cv2.imwrite(str(folder / "03.png"), np.full((48, 48, 3), 200, np.uint8))
    cv2.imwrite(str(folder / "04.png"), np.full((48, 48, 3), 90, np.uint8))
    assert main(["convert", str(folder), "-m", str(model), "-o", str(tmp_path / "out"), "--no-progress"]) == 0
    pngs = sorted(p.name for p in (tmp_path / "out").glob("*.png"))
    assert pngs == ["03_jpg.png", "03_png.png", "04.png"]
    assert cv2.imread(str(tmp_path / "out" / "03_jpg.png")).mean() < 50 < cv2.imread(
        str(tmp_path / "out" / "03_png.png")).mean()


def _alignments_for(video: Path, frames: int, drop: list[int], path: Path) -> Path:
    from faceswap.extract.faceset import source_fingerprint

    lm = [[35.0, 40.0], [61.0, 40.0], [48.0, 54.0], [38.0, 68.0], [58.0, 68.0]]
    doc = {"version": 1, "source": str(video), "width": 96, "height": 96, "fps": 25.0, "frame_count": frames,
           "size": 64, "coverage": 0.75, "done": frames, "complete": True, "settings": {"every": 1},
           "fingerprint": source_fingerprint(video),
           "frames": {str(k): [{"landmarks": [[x + k, y] for x, y in lm], "file": f"{k:06d}_0.png"}]
                      for k in range(frames) if k not in drop}}
    path.write_text(json.dumps(doc))
    return path


def test_alignments_with_deleted_frames_are_interpolated_or_refused(tmp_path, model, capsys):
    from faceswap.convert import convert

    video = _video(tmp_path / "v.mp4", frames=30, size=96)
    al = _alignments_for(video, 30, [5, 6, 29], tmp_path / "a.json")
    with pytest.warns(UserWarning, match="3 examined frames are missing"):
        summary = convert(video, model, tmp_path / "o.mp4", alignments=al, progress=False)
    assert summary.frames == 30 and summary.faces_swapped == 30 and summary.frames_without_face == 0
    long_gap = _alignments_for(video, 30, list(range(8, 24)), tmp_path / "b.json")
    assert main(["convert", str(video), "-m", str(model), "-o", str(tmp_path / "p.mp4"), "-a", str(long_gap),
                 "--no-progress"]) == 1
    _one_line_error(capsys, "b.json", "frames 8-23 are missing")
    assert not (tmp_path / "p.mp4").exists()


def test_extract_does_not_call_a_faceset_with_deleted_frames_complete(short_clip_40, tmp_path):
    from faceswap.extract import extract

    out = tmp_path / "f"
    extract(short_clip_40, out, progress=False, every=4)
    doc = json.loads((out / "alignments.json").read_text())
    for k in ("8", "20"):
        del doc["frames"][k]
    (out / "alignments.json").write_text(json.dumps(doc))
    summary = extract(short_clip_40, out, progress=False, every=4)
    assert summary.resumed_from == 8
    doc = json.loads((out / "alignments.json").read_text())
    assert doc["complete"] is True and sorted(map(int, doc["frames"])) == list(range(0, 40, 4))


def test_a_detail_upsampler_of_another_resolution_is_refused(tmp_path, model, capsys):
    from faceswap.models import save_model
    from faceswap.models.refine import DetailUpsampler

    save_model(DetailUpsampler({"scale": 2}), Path(model) / "detail_b",
               extra={"faceswap": {"identity": "b", "resolution": 128, "scale": 2}})
    _image(tmp_path / "p.png", size=48)
    assert main(["convert", str(tmp_path / "p.png"), "-m", str(model), "-o", str(tmp_path / "o.png"),
                 "--no-progress"]) == 1
    _one_line_error(capsys, "detail_b", "128 px", "32 px")
    assert main(["convert", str(tmp_path / "p.png"), "-m", str(model), "-o", str(tmp_path / "o.png"),
                 "--no-detail", "--no-progress"]) == 0


def test_a_variable_frame_rate_video_keeps_its_timestamps(tmp_path, model):
    """Frames 40 ms apart, every third 120 ms: a constant-rate output would drift from the audio."""
    from fractions import Fraction

    from faceswap.convert import convert

    src = tmp_path / "vfr.mp4"
    with av.open(str(src), "w") as out:
        s = out.add_stream("libx264", rate=25)
        s.width = s.height = 64
        s.pix_fmt = "yuv420p"
        s.codec_context.time_base = Fraction(1, 1000)
        t = 0
        for i in range(30):
            frame = av.VideoFrame.from_ndarray(np.full((64, 64, 3), i * 8, np.uint8), format="rgb24")
            frame.pts, frame.time_base = t, Fraction(1, 1000)
            for p in s.encode(frame):
                out.mux(p)
            t += 40 if i % 3 else 120
        for p in s.encode():
            out.mux(p)

    def times(path):
        with av.open(str(path)) as c:
            return [float(f.pts * f.time_base) for f in c.decode(video=0)]

    convert(src, model, tmp_path / "o.mp4", progress=False)
    want, got = times(src), times(tmp_path / "o.mp4")
    assert len(got) == len(want) == 30 and max(abs(a - b) for a, b in zip(want, got)) < 0.002
