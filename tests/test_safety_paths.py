"""--force replaces only what faceswap wrote, never an input, a model or
alignments in use: the three data-loss cases a user met, and a property test
over random layouts of paths with symlinks and `..`."""

from __future__ import annotations

import os
from pathlib import Path

import cv2
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from faceswap.cli import main
from faceswap.errors import FaceswapError
from faceswap.fileio import OUTPUT_MARKER, check_replace, prepare_output, remove_output


def _images(folder: Path, n: int = 2) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        cv2.imwrite(str(folder / f"img{i}.png"), np.full((32, 32, 3), 40 * i, np.uint8))
    return folder


def _video(path: Path, frames: int = 3) -> Path:
    import av

    path.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(path), "w") as out:
        s = out.add_stream("libx264", rate=25)
        s.width = s.height = 64
        s.pix_fmt = "yuv420p"
        for i in range(frames):
            for p in s.encode(av.VideoFrame.from_ndarray(np.full((64, 64, 3), 20 * i, np.uint8), format="rgb24")):
                out.mux(p)
        for p in s.encode():
            out.mux(p)
    return path


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_extract_into_its_own_input_folder_keeps_it(tmp_path, capsys):
    folder = _images(tmp_path / "frames")
    before = _snapshot(folder)
    assert main(["extract", str(folder), "-o", str(folder), "--force", "--no-progress"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and str(folder) in err
    assert _snapshot(folder) == before
    # without --force the message must not suggest the flag that would delete the input
    assert main(["extract", str(folder), "-o", str(folder), "--no-progress"]) == 1
    assert "--force" not in capsys.readouterr().err


def test_extract_into_a_parent_of_the_input_keeps_it(tmp_path, capsys):
    video = _video(tmp_path / "parent" / "clips" / "v.mp4")
    data = video.read_bytes()
    assert main(["extract", str(video), "-o", str(tmp_path / "parent"), "--force", "--no-progress"]) == 1
    assert video.read_bytes() == data
    # even a folder faceswap made (a faceset) is not replaced while it holds the input
    (tmp_path / "parent" / "alignments.json").write_text("{}")
    assert main(["extract", str(video), "-o", str(tmp_path / "parent"), "--force", "--no-progress"]) == 1
    assert "would delete" in capsys.readouterr().err and video.read_bytes() == data


def test_convert_into_a_parent_of_the_input_keeps_it(tmp_path, capsys):
    folder = _images(tmp_path / "parent" / "in")
    before = _snapshot(folder)
    (tmp_path / "parent" / OUTPUT_MARKER).write_text("")
    assert main(["convert", str(folder), "-m", str(tmp_path / "model"), "-o", str(tmp_path / "parent"),
                 "--force", "--no-progress"]) == 1
    assert "would delete" in capsys.readouterr().err
    assert _snapshot(folder) == before


def test_force_needs_a_folder_faceswap_made(tmp_path):
    mine = tmp_path / "notes"
    mine.mkdir()
    (mine / "a.txt").write_text("mine")
    with pytest.raises(FaceswapError, match="not written by faceswap"):
        prepare_output(mine, force=True, is_dir=True)
    assert (mine / "a.txt").exists()
    out = prepare_output(tmp_path / "made", force=False, is_dir=True)
    (out / "000001_0.png").write_bytes(b"x")
    prepare_output(out, force=True, is_dir=True)  # marked as ours, holding only our names: replaced
    assert not (out / "000001_0.png").exists() and (out / OUTPUT_MARKER).is_file()
    (out / "x.png").write_bytes(b"x")  # a file faceswap never writes, in a folder it made: kept, refused
    with pytest.raises(FaceswapError, match="did not write"):
        prepare_output(out, force=True, is_dir=True)
    assert (out / "x.png").read_bytes() == b"x"


def test_symlinked_output_and_untagged_file_refused(tmp_path):
    real = tmp_path / "real"
    real.mkdir()
    (real / "alignments.json").write_text("{}")
    link = tmp_path / "link"
    link.symlink_to(real)
    with pytest.raises(FaceswapError, match="symbolic link"):
        remove_output(link)
    video = tmp_path / "holiday.mp4"
    video.write_bytes(b"not ours")
    with pytest.raises(FaceswapError, match="not written by faceswap"):
        check_replace(video, [])


# ---- property: random layouts with symlinks and `..` ------------------------------------------
NAMES = ["a", "b", "c"]
_rel = st.lists(st.sampled_from(NAMES + [".."]), min_size=0, max_size=4)


@settings(max_examples=150, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(dirs=st.lists(st.lists(st.sampled_from(NAMES), min_size=1, max_size=3), min_size=1, max_size=5),
       links=st.lists(st.tuples(st.lists(st.sampled_from(NAMES), min_size=1, max_size=2),
                                st.lists(st.sampled_from(NAMES), min_size=0, max_size=3)), max_size=3),
       inputs=st.lists(st.tuples(st.lists(st.sampled_from(NAMES + ["l0", "l1"]), min_size=0, max_size=3),
                                 st.sampled_from(["v.mp4", "img.png", ""])), min_size=1, max_size=3),
       target=_rel, ours=st.sampled_from(["alignments.json", "config.json", OUTPUT_MARKER, None]))
def test_force_never_deletes_an_input(tmp_path_factory, dirs, links, inputs, target, ours):
    root = tmp_path_factory.mktemp("layout") / "w"
    root.mkdir()
    for d in dirs:
        (root.joinpath(*d)).mkdir(parents=True, exist_ok=True)
    for i, (where, to) in enumerate(links):  # l0, l1: links to folders anywhere in the tree
        place = root.joinpath(*where[:-1], f"l{i}")
        if place.parent.is_dir() and not place.exists() and not place.is_symlink():
            place.symlink_to(root.joinpath(*to), target_is_directory=True)
    used = []
    for where, name in inputs:
        path = root.joinpath(*where, name) if name else root.joinpath(*where)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            if name:
                path.write_bytes(b"input")
            elif not path.exists():
                path.mkdir(parents=True)
        except OSError:
            continue
        if path.exists():
            used.append(path)
    target_path = root.joinpath(*(["a"] + target))
    if target_path.is_dir() and ours and not target_path.is_symlink():
        (target_path / ours).write_text("{}")
    before = {p.resolve(): (p.read_bytes() if p.is_file() else None) for p in used}
    cwd = os.getcwd()
    os.chdir(root)  # relative paths too, as a user types them
    try:
        remove_output(os.path.join(*(["a"] + target)), [os.path.relpath(p, root) for p in used])
    except FaceswapError:
        pass
    finally:
        os.chdir(cwd)
    for real, data in before.items():
        assert real.exists(), f"{real} deleted"
        if data is not None:
            assert real.read_bytes() == data
