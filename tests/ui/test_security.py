"""The page as an attacker drives it, through its HTTP API on 127.0.0.1: symlinks
planted inside the root never let it read, serve or write a file outside the
root; with --auth every API route needs the login; Stop works when the server
was started with SIGINT ignored; a job never replaces what a running job reads."""

from __future__ import annotations

import json
import os
import signal
import time
import urllib.error
import urllib.request
from pathlib import Path

import cv2
import numpy as np
import pytest

from faceswap.errors import FaceswapError
from faceswap.ui.jobs import Job, Jobs
from faceswap.ui.paths import Root



@pytest.fixture(autouse=True)
def _needs_gradio():
    """The ui extra: skipped where it is not installed, a failure under CI."""
    import importlib.util

    if importlib.util.find_spec("gradio") is None:
        if os.environ.get("CI"):
            pytest.fail("the ui extra (gradio) must be installed under CI")
        pytest.skip("the ui extra (gradio) is not installed")


def _png(path: Path, colour) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(path), np.full((24, 32, 3), colour, np.uint8))
    return path


@pytest.fixture
def planted(tmp_path):
    """A root with links to an outside folder planted inside it."""
    root, outside = tmp_path / "root", tmp_path / "outside"
    secret = _png(outside / "secret.png", (10, 200, 30))
    (outside / "secret.txt").write_text("private")
    (root / "models" / "m").mkdir(parents=True)
    (root / "models" / "m" / "preview.png").symlink_to(secret)
    _png(root / "models" / "ok" / "preview.png", (90, 90, 90))
    (root / "faces" / "x").mkdir(parents=True)
    _png(root / "faces" / "x" / "000000_0.png", (50, 60, 70))
    (root / "faces" / "x" / "000001_0.png").symlink_to(secret)
    return root, outside


def _endpoint(info: dict, returns_label: str) -> str:
    for name, e in info["named_endpoints"].items():
        if any(returns_label in (r.get("label") or "") for r in e["returns"]):
            return name
    raise AssertionError(f"no endpoint returns {returns_label!r}")


@pytest.fixture
def server(planted):
    from faceswap.ui.server import start_in_subprocess

    root, outside = planted
    proc, url = start_in_subprocess(root)
    try:
        info = json.loads(urllib.request.urlopen(url + "gradio_api/info", timeout=30).read())
        yield url, info, root, outside
    finally:
        _stop(proc)


def _stop(proc) -> None:
    """End the server; a loaded CI machine can take a while to shut Gradio down."""
    import subprocess

    proc.terminate()
    try:
        proc.wait(120)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(30)


def _status(url: str, data: bytes | None = None, headers: dict | None = None) -> int:
    req = urllib.request.Request(url, data=data, headers=headers or {})
    try:
        return urllib.request.urlopen(req, timeout=30).status
    except urllib.error.HTTPError as e:
        return e.code


def test_planted_links_are_not_read_served_or_written_through(server, tmp_path):
    from gradio_client import Client, handle_file

    url, info, root, outside = server
    before = {p.name: p.read_bytes() for p in outside.iterdir()}
    client = Client(url, verbose=False)
    tick = _endpoint(info, "Preview")
    _, preview, _ = client.predict("models/m", {}, api_name=tick)  # preview.png links outside: not shown
    assert preview is None
    _, preview, _ = client.predict("models/ok", {}, api_name=tick)  # a real preview is shown
    assert preview is not None and cv2.imread(preview)[0, 0].tolist() == [90, 90, 90]
    # nor through Gradio's file route
    assert _status(url + f"gradio_api/file={root}/models/m/preview.png") != 200
    assert _status(url + f"gradio_api/file={outside}/secret.txt") != 200

    upload = _endpoint(info, "Video, image or image folder")
    sent = _png(tmp_path / "send" / "victim.png", (1, 2, 3))
    # uploads/ a link to an outside folder: refused, nothing lands outside
    (root / "uploads").symlink_to(outside, target_is_directory=True)
    with pytest.raises(Exception, match="outside"):
        client.predict(handle_file(str(sent)), api_name=upload)
    (root / "uploads").unlink()
    # uploads/victim.png a link to an outside file: that file is not overwritten
    (root / "uploads").mkdir()
    (root / "uploads" / "victim.png").symlink_to(outside / "secret.png")
    client.predict(handle_file(str(sent)), api_name=upload)
    assert {p.name: p.read_bytes() for p in outside.iterdir()} == before
    assert (root / "uploads" / "victim-1.png").read_bytes() == sent.read_bytes()


def test_gallery_leaves_out_linked_crops(planted):
    from faceswap.ui.common import Context
    from faceswap.ui.tabs.extract import _faces

    root, _ = planted
    ctx = Context(root=Root(root), jobs=Jobs())
    faces = _faces(ctx, root / "faces" / "x")
    assert [name for _, name in faces] == ["000000_0.png"]
    assert _faces(ctx, root / "models" / "m") == []  # only its linked PNG: nothing


def test_auth_covers_every_api_route(tmp_path):
    from faceswap.ui.server import start_in_subprocess

    (tmp_path / "root").mkdir()
    proc, url = start_in_subprocess(tmp_path / "root", auth="me:secret")
    try:
        body = json.dumps({"session_hash": "x", "fn_index": 0, "event_id": "e"}).encode()
        headers = {"content-type": "application/json"}
        for route in ("gradio_api/cancel", "gradio_api/reset", "gradio_api/info", "gradio_api/heartbeat/x"):
            assert _status(url + route, None if "heartbeat" in route or "info" in route else body, headers) == 401, route
        # logged in, the same routes answer
        login = urllib.request.Request(url + "login", data=b"username=me&password=secret",
                                       headers={"content-type": "application/x-www-form-urlencoded"})
        cookie = urllib.request.urlopen(login, timeout=30).headers.get_all("set-cookie")
        jar = "; ".join(c.split(";")[0] for c in cookie)
        assert _status(url + "gradio_api/info", None, {"cookie": jar}) == 200
        assert _status(url + "gradio_api/reset", body, {**headers, "cookie": jar}) != 401
    finally:
        _stop(proc)


def test_stop_saves_a_training_started_with_sigint_ignored(tmp_path, synthetic_faceset):
    a, b, model = synthetic_faceset(tmp_path / "a"), synthetic_faceset(tmp_path / "b", shade=40), tmp_path / "model"
    jobs = Jobs(env=dict(os.environ, OMP_NUM_THREADS="1"))
    old = signal.signal(signal.SIGINT, signal.SIG_IGN)  # as under nohup or `&`: children inherit it
    try:
        job = jobs.start("train", {"faces_a": str(a), "faces_b": str(b), "model_dir": str(model), "time": 600,
                                   "resolution": 32, "batch_size": 2, "save_every": 0, "preview_every": 0,
                                   "device": "cpu", "threads": 1}, [model], inputs=[a, b])
    finally:
        signal.signal(signal.SIGINT, old)
    deadline = time.time() + 180
    while job.done < 2 and job.running and time.time() < deadline:
        time.sleep(0.2)
    assert job.running, (job.state, job.message)
    with pytest.raises(FaceswapError, match="already reading there"):  # its faceset is not replaced meanwhile
        jobs.start("extract", {"input": "x.mp4", "output": str(a), "force": True}, [a])
    jobs.stop(job)  # the page's Stop button
    deadline = time.time() + 120
    while job.running and time.time() < deadline:
        time.sleep(0.2)
    assert job.state == "stopped", (job.state, job.message)
    assert (model / "config.json").is_file()
    assert sorted(p.name for p in a.iterdir()) == ["000000_0.png", "000001_0.png", "000002_0.png", "000003_0.png",
                                                    "alignments.json"]


def test_jobs_refuse_outputs_over_a_running_jobs_inputs(tmp_path):
    jobs = Jobs()
    faces = (tmp_path / "faces" / "x").resolve()
    jobs._jobs.append(Job(id=1, task="train", outputs=[tmp_path / "m"], inputs=[faces]))
    for out in (faces, faces / "sub", faces.parent):
        with pytest.raises(FaceswapError, match="already reading there"):
            jobs.start("extract", {}, [out])
