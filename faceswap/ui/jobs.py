"""Long jobs of the page: each in its own worker process, outside any request.

A process (not a thread) because a training run must be stoppable the way
the command line stops it (SIGINT/SIGTERM make train() save and return), must
keep running when the browser closes, and must not stall the page's own
threads. `Jobs` is the single owner of the running jobs: it refuses a job
whose outputs overlap a running job's outputs, reads each worker's progress
bar from its stderr, and on shutdown stops the running jobs and waits, so a
training run saves before the server exits.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from faceswap.errors import FaceswapError
from faceswap.ui.worker import ERROR_PREFIX, RESULT_PREFIX

_TOTAL = re.compile(r"(\d+)/(\d+)\s*\[")
_COUNT = re.compile(r"(\d+)\s*(?:it|frame|face)s?\s*\[")


@dataclass
class Job:
    id: int
    task: str
    outputs: list[Path]
    inputs: list[Path] = field(default_factory=list)
    proc: subprocess.Popen | None = None
    state: str = "running"  # running | done | failed | stopped
    done: int = 0
    total: int | None = None
    message: str = ""
    result: dict = field(default_factory=dict)
    started: float = field(default_factory=time.time)
    log: list[str] = field(default_factory=list)

    @property
    def running(self) -> bool:
        return self.state == "running"

    def status(self) -> str:
        """One line for the page."""
        if self.state == "running":
            if self.total:
                return f"{self.name}: {self.done}/{self.total} ({100 * self.done / self.total:.0f}%)"
            return f"{self.name}: running" + (f", {self.done} done" if self.done else "") + \
                f" ({time.time() - self.started:.0f} s)"
        if self.state == "done":
            return f"{self.name}: done. {self.result.get('text', '')}".strip()
        return f"{self.name}: {self.state}: {self.message}" if self.message else f"{self.name}: {self.state}"

    @property
    def name(self) -> str:
        return f"{self.task} #{self.id}"


def _overlaps(a: Path, b: Path) -> bool:
    return a == b or a in b.parents or b in a.parents


class Jobs:
    """Starts, watches and stops the worker processes."""

    def __init__(self, env: dict | None = None):
        self._lock = threading.Lock()
        self._jobs: list[Job] = []
        self._env = env

    def start(self, task: str, kwargs: dict, outputs: list[Path], inputs: list[Path | None] = ()) -> Job:
        """Run faceswap.<task>(**kwargs) in a worker; refuse if one of `outputs`
        is, contains or lies inside an output or an input of a running job
        (replacing a faceset a training run reads would change it mid-run)."""
        outputs = [Path(p).resolve() for p in outputs]
        inputs = [Path(p).resolve() for p in inputs if p is not None]
        with self._lock:
            for job in self._jobs:
                if not job.running:
                    continue
                for a in outputs:
                    for b, how in [(b, "writing") for b in job.outputs] + [(b, "reading") for b in job.inputs]:
                        if _overlaps(a, b):
                            raise FaceswapError(f"{a}: job {job.id} ({job.task}) is already {how} there ({b}); "
                                                "wait for it or stop it first")
            job = Job(id=len(self._jobs) + 1, task=task, outputs=outputs, inputs=inputs)
            spec = json.dumps({"task": task, "kwargs": {k: (str(v) if isinstance(v, Path) else v)
                                                        for k, v in kwargs.items()}})
            env = dict(os.environ if self._env is None else self._env)
            env.setdefault("PYTHONUNBUFFERED", "1")
            # Its own session: Ctrl-C in the server's terminal reaches the server,
            # which then stops the jobs itself (and waits for train to save).
            job.proc = subprocess.Popen([sys.executable, "-m", "faceswap.ui.worker", spec], env=env,
                                        stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
            self._jobs.append(job)
        threading.Thread(target=self._read_stdout, args=(job,), daemon=True).start()
        threading.Thread(target=self._read_stderr, args=(job,), daemon=True).start()
        return job

    def _read_stdout(self, job: Job) -> None:
        for raw in job.proc.stdout:
            line = raw.decode(errors="replace").rstrip()
            if line.startswith(RESULT_PREFIX):
                job.result = json.loads(line[len(RESULT_PREFIX):])
            elif line:
                job.log.append(line)

    def _read_stderr(self, job: Job) -> None:
        buf = b""
        stream = job.proc.stderr
        while True:
            chunk = stream.read1(4096) if hasattr(stream, "read1") else stream.read(4096)
            if not chunk:
                break
            buf += chunk
            *parts, buf = re.split(rb"[\r\n]", buf)  # tqdm redraws with \r
            for part in parts:
                self._parse(job, part.decode(errors="replace").strip())
        self._parse(job, buf.decode(errors="replace").strip())
        rc = job.proc.wait()
        if job.state == "running":
            job.state = "done" if rc == 0 else ("stopped" if rc in (130, -signal.SIGINT, -signal.SIGTERM) else "failed")
            if job.state == "done" and job.result.get("interrupted"):
                job.state = "stopped"
            if job.state != "done" and not job.message:
                job.message = f"exited with code {rc}"

    @staticmethod
    def _parse(job: Job, line: str) -> None:
        if not line:
            return
        if line.startswith(ERROR_PREFIX):
            job.message = line
            return
        m = _TOTAL.search(line)
        if m:
            job.done, total = int(m.group(1)), int(m.group(2))
            job.total = total or None
            return
        m = _COUNT.search(line)
        if m:
            job.done = int(m.group(1))
            return
        job.log.append(line)
        if len(job.log) > 200:
            del job.log[:100]

    def latest(self, task: str) -> Job | None:
        with self._lock:
            for job in reversed(self._jobs):
                if job.task == task:
                    return job
        return None

    def running(self) -> list[Job]:
        with self._lock:
            return [j for j in self._jobs if j.running]

    def stop(self, job: Job, sig: int = signal.SIGTERM) -> None:
        """Stop like Ctrl-C: train saves a checkpoint, then the worker exits. SIGTERM,
        not SIGINT: a server started with SIGINT ignored (nohup, `&`) passes that on."""
        if job.running and job.proc is not None and job.proc.poll() is None:
            job.proc.send_signal(sig)

    def shutdown(self, timeout: float = 120.0) -> None:
        """Stop every running job and wait for it (train saves first)."""
        jobs = self.running()
        for job in jobs:
            self.stop(job, signal.SIGTERM)
        deadline = time.time() + timeout
        for job in jobs:
            try:
                job.proc.wait(max(0.1, deadline - time.time()))
            except subprocess.TimeoutExpired:
                job.proc.kill()
