"""The auth rule and the job runner (no browser needed)."""

from __future__ import annotations

import sys
import time

import pytest

from faceswap.cli import main
from faceswap.errors import FaceswapError
from faceswap.ui.jobs import Jobs
from faceswap.ui.server import check_bind, is_local


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "::1", "127.0.0.2"])
def test_local_hosts_need_no_auth(host):
    assert is_local(host)
    assert check_bind(host, None) is None


@pytest.mark.parametrize("host", ["0.0.0.0", "192.168.1.5", "::", "example.org"])
def test_non_local_host_without_auth_is_refused(host):
    with pytest.raises(FaceswapError, match="--auth USER:PASSWORD"):
        check_bind(host, None)
    assert check_bind(host, "me:secret") == ("me", "secret")


@pytest.mark.parametrize("auth", ["nopassword", ":secret", "me:", ""])
def test_malformed_auth_is_refused(auth):
    with pytest.raises(FaceswapError, match="USER:PASSWORD"):
        check_bind("127.0.0.1", auth)


def test_cli_refuses_public_bind_in_one_line(tmp_path, capsys):
    assert main(["ui", "--root", str(tmp_path), "--host", "0.0.0.0", "--port", "7999"]) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("faceswap: error: --host 0.0.0.0") and "\n" not in err


def test_cli_refuses_missing_root(tmp_path, capsys):
    assert main(["ui", "--root", str(tmp_path / "nope")]) == 1
    assert "not a folder" in capsys.readouterr().err


def test_jobs_refuse_overlapping_outputs_and_report_errors(tmp_path):
    jobs = Jobs()
    # a model folder that is not one: train fails at once with the CLI's one-line message
    first = jobs.start("train", {"faces_a": str(tmp_path / "a"), "faces_b": str(tmp_path / "b"),
                                 "model_dir": str(tmp_path / "m"), "iterations": 1, "progress": False},
                       [tmp_path / "m"])
    with pytest.raises(FaceswapError, match="already writing there"):
        jobs.start("convert", {}, [tmp_path / "m" / "sub"])
    deadline = time.time() + 120
    while first.running and time.time() < deadline:
        time.sleep(0.2)
    assert first.state == "failed"
    assert first.message.startswith("faceswap: error: ") and "Traceback" not in first.message
    assert "train #1: failed: faceswap: error:" in first.status()
    # once it has ended the output is free again
    second = jobs.start("train", {"faces_a": str(tmp_path / "a")}, [tmp_path / "m"])
    jobs.shutdown(timeout=60)
    assert not second.running or second.proc.poll() is not None
    assert sys.executable  # the workers ran under this interpreter


def test_stopping_the_server_saves_a_running_training(tmp_path, synthetic_faceset):
    import json

    a, b, model = synthetic_faceset(tmp_path / "a"), synthetic_faceset(tmp_path / "b", shade=40), tmp_path / "model"
    jobs = Jobs(env=dict(__import__("os").environ, OMP_NUM_THREADS="1"))
    job = jobs.start("train", {"faces_a": str(a), "faces_b": str(b), "model_dir": str(model), "time": 600,
                               "resolution": 32, "batch_size": 2, "save_every": 0, "preview_every": 0,
                               "device": "cpu", "threads": 1}, [model])
    deadline = time.time() + 180
    while job.done < 2 and job.running and time.time() < deadline:
        time.sleep(0.2)
    assert job.running and job.done >= 2, (job.state, job.message, job.log[-5:])
    jobs.shutdown(timeout=120)  # what the server does on Ctrl-C / SIGTERM
    deadline = time.time() + 10
    while job.running and time.time() < deadline:  # the reader thread records the exit
        time.sleep(0.1)
    assert job.state == "stopped", (job.state, job.message)
    assert "interrupted; saved" in job.result["text"]
    step = json.loads((model / "config.json").read_text())["extra"]["faceswap"]["step"]
    assert step >= 2 and (model / "trainer.pt").is_file() and (model / "preview.png").is_file()
