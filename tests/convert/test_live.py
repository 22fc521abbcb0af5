"""`faceswap live`: frames arriving faster than they can be swapped are dropped,
so latency stays bounded instead of growing; the output is labelled; bad input
(a missing source, a damaged .onnx) is one line naming the file."""

from __future__ import annotations

from pathlib import Path

import av
import pytest

from faceswap.cli import main


@pytest.fixture
def model(tiny_model):
    return tiny_model


@pytest.fixture(scope="module")
def fast_clip(clips, tmp_path_factory) -> Path:
    """60 real frames of d20 (a face in each) at 300 fps: 0.2 s of 'camera' no CPU keeps up with."""
    return clips.cut("d20.mp4", 60, tmp_path_factory.mktemp("live") / "fast.mp4", rate=300)


def test_live_drops_frames_rather_than_falling_behind(fast_clip, model, tmp_path):
    from faceswap.convert.live import live

    out = tmp_path / "live.mp4"
    summary = live(fast_clip, model, output=out, progress=False)
    assert summary.frames_in == 60 and 0 < summary.frames_out < summary.frames_in
    assert summary.dropped == summary.frames_in - summary.frames_out
    # a queue would make the last frame wait for every frame before it (60 swaps);
    # with drops no frame waits for more than the one in flight in each stage
    per_frame = summary.seconds / summary.frames_out
    assert max(summary.latencies_ms) / 1000 < 4 * per_frame + 0.5, (summary.latencies_ms, per_frame)
    with av.open(str(out)) as c:
        assert c.metadata.get("synthetic_media") == "true"
        assert sum(1 for _ in c.decode(video=0)) == summary.frames_out


def test_live_bad_input_is_one_line(tmp_path, model, capsys, fast_clip):
    assert main(["live", "--source", str(tmp_path / "nosuch.mp4"), "-m", str(model)]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "nosuch.mp4" in err
    bad = tmp_path / "damaged.onnx"
    bad.write_bytes(b"\x08\x07not an onnx graph")
    pytest.importorskip("onnxruntime")
    assert main(["live", "--source", str(fast_clip), "-m", str(bad)]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "damaged.onnx" in err and "Traceback" not in err


def test_live_runs_an_exported_onnx_graph(fast_clip, model, tmp_path):
    pytest.importorskip("onnxruntime")
    from faceswap.convert.export import export
    from faceswap.convert.live import live

    graph = export(model, tmp_path / "m.onnx").output
    summary = live(fast_clip, graph, max_frames=20, realtime=False, progress=False)
    assert summary.frames_out >= 1 and summary.faces >= 1
