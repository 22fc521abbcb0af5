"""faceswap.video: streaming reads of videos/images/folders, H.264 writes that
keep the source audio, and clear errors for bad files."""

from __future__ import annotations

import av
import numpy as np
import pytest

from faceswap.errors import FaceswapError
from faceswap.video import SYNTHETIC_TAGS, FrameReader, VideoWriter, probe, write_image


def _audio_packets(path):
    with av.open(str(path)) as c:
        return [bytes(p) for p in c.demux(c.streams.audio[0]) if p.size]


def _encode(path, frames, rate=25, rotation=None, pix_fmt="yuv420p"):
    with av.open(str(path), "w") as c:
        s = c.add_stream("libx264", rate=rate)
        s.height, s.width = frames[0].shape[:2]
        s.pix_fmt = pix_fmt
        if rotation:
            s.set_display_rotation(rotation)
        for i, img in enumerate(frames):
            f = av.VideoFrame.from_ndarray(img, format="rgb24" if img.ndim == 3 else "gray")
            f.pts = i
            for p in s.encode(f):
                c.mux(p)
        for p in s.encode():
            c.mux(p)


def test_copy_keeps_frames_audio_and_tags(faces_dir, tmp_path):
    src = faces_dir / "d20.mp4"
    reader = FrameReader(src)
    out = tmp_path / "out.mp4"
    with VideoWriter(out, reader.info.rate, reader.info.width, reader.info.height,
                     audio_from=src, metadata=SYNTHETIC_TAGS("9.9")) as writer:
        first = None
        for frame in reader:
            assert frame.image.dtype == np.uint8 and frame.image.shape == (480, 480, 3)
            first = frame.image if first is None else first
            writer.write(frame.image)
    assert reader.frames_read == 175 and not reader.truncated
    info = probe(out)
    assert (info.frame_count, info.fps, info.width, info.height) == (175, 25.0, 480, 480)
    assert info.has_audio
    assert _audio_packets(out) == _audio_packets(src)  # copied untouched
    with av.open(str(out)) as c:
        assert c.metadata["synthetic_media"] == "true"
        assert "faceswap 9.9" in c.metadata["comment"]
    decoded = next(iter(FrameReader(out))).image
    assert np.abs(decoded.astype(int) - first).mean() < 3  # crf 18: near lossless


def test_every_samples_frames(faces_dir):
    idx = [f.index for f in FrameReader(faces_dir / "d20.mp4", every=50)]
    assert idx == [0, 50, 100, 150]


def test_rotation_tag_gives_upright_frames(tmp_path):
    img = np.zeros((32, 64, 3), np.uint8)
    img[:8, :16] = 255  # a white block at the top left
    _encode(tmp_path / "rot.mp4", [img] * 3, rotation=90)
    info = probe(tmp_path / "rot.mp4")
    assert (info.width, info.height, info.rotation) == (32, 64, 90)
    frame = next(iter(FrameReader(tmp_path / "rot.mp4"))).image
    assert frame.shape == (64, 32, 3)
    assert frame[-4:, :4].mean() > 200  # top-left corner turned 90 degrees counter-clockwise


def test_grayscale_video_reads_as_rgb(tmp_path):
    gray = [np.full((32, 32), 10 * i, np.uint8) for i in range(5)]
    _encode(tmp_path / "gray.mp4", gray, pix_fmt="gray")
    frames = list(FrameReader(tmp_path / "gray.mp4"))
    assert len(frames) == 5 and frames[0].image.shape == (32, 32, 3)


@pytest.mark.parametrize("content, match", [(None, "no such file"), (b"", "empty"), (b"hello, not a video\n" * 10, "not a readable video")])
def test_bad_files_named_in_error(tmp_path, content, match):
    path = tmp_path / "clip.mp4"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(FaceswapError, match=match) as e:
        probe(path)
    assert "clip.mp4" in str(e.value)


def test_truncated_video_reads_what_decodes(faces_dir, tmp_path):
    data = (faces_dir / "d20.mp4").read_bytes()
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(data[: len(data) // 2])
    try:
        reader = FrameReader(cut)
    except FaceswapError:
        pytest.skip("this cut lost the moov atom: probe refuses it, which is also a clear error")
    frames = sum(1 for _ in reader)
    assert reader.truncated and 0 < frames < 175


def test_folder_skips_corrupt_image(tmp_path):
    for i in range(3):
        write_image(tmp_path / f"{i}.png", np.full((16, 16, 3), 50 * i, np.uint8))
    (tmp_path / "1b.png").write_bytes(b"not a png")
    reader = FrameReader(tmp_path)
    names = [f.name for f in reader]
    assert names == ["0", "1", "2"]
    assert len(reader.skipped) == 1 and reader.skipped[0][0].endswith("1b.png")


def test_writer_keeps_partial_file_on_crash(tmp_path):
    out = tmp_path / "out.mp4"
    with pytest.raises(RuntimeError):
        with VideoWriter(out, 25, 32, 32) as w:
            for _ in range(5):
                w.write(np.zeros((32, 32, 3), np.uint8))
            raise RuntimeError("crash")
    assert not out.exists()
    partial = tmp_path / ".out.mp4.partial.mp4"
    assert sum(1 for _ in FrameReader(partial)) == 5  # playable, holds what was written


def test_cut_clip_keeps_the_audio_of_its_span(faces_dir, tmp_path):
    from faceswap.video import cut_clip

    src = faces_dir / "d20.mp4"
    assert cut_clip(src, tmp_path / "cut.mp4", 50) == 50
    info = probe(tmp_path / "cut.mp4")
    assert info.frame_count == 50 and info.has_audio
    with av.open(str(tmp_path / "cut.mp4")) as c:
        a = c.streams.audio[0]
        last = max(float(p.pts * a.time_base) for p in c.demux(a) if p.size)
    assert last < 50 / 25  # no audio past the cut (2 s)
    kept = _audio_packets(tmp_path / "cut.mp4")
    assert kept == _audio_packets(src)[: len(kept)]  # a prefix of the source's packets, untouched
