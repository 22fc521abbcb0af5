"""`faceswap ui`: start the page on a local address and stop it cleanly.

Binding to anything but a loopback address exposes the page (and the files
under --root) to the network, so it needs --auth USER:PASSWORD. Stopping the
server (Ctrl-C, SIGTERM) stops the running jobs the way Ctrl-C stops the CLI
and waits for them: a training run saves its checkpoint first.
"""

from __future__ import annotations

import ipaddress
import os
import signal
import threading

from faceswap.errors import FaceswapError


def is_local(host: str) -> bool:
    if host.lower() in ("localhost", "localhost.localdomain"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_bind(host: str, auth: str | None) -> tuple[str, str] | None:
    """(user, password) from --auth; FaceswapError for a non-local host without it
    or a malformed value."""
    pair = None
    if auth is not None:
        user, sep, password = auth.partition(":")
        if not sep or not user or not password:
            raise FaceswapError("--auth: give USER:PASSWORD (both non-empty)")
        pair = (user, password)
    if pair is None and not is_local(host):
        raise FaceswapError(f"--host {host}: the page would be open to the network; "
                            "add --auth USER:PASSWORD or bind to 127.0.0.1")
    return pair


# The page's API routes a browser may reach before it has logged in: the login
# itself and what the login form needs. Every other /gradio_api/ route needs the
# login cookie when --auth is set; Gradio itself leaves some (cancel, reset, the
# stream and heartbeat routes) open.
_OPEN_API = ("user", "token", "login_check", "app_id", "startup-events", "theme.css")


class RequireLogin:
    """ASGI middleware: with --auth, answer 401 to any /gradio_api/ request
    without a valid login cookie (Gradio's own token table decides)."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] == "http" and not self._allowed(scope):
            body = b'{"detail":"Not authenticated"}'
            await send({"type": "http.response.start", "status": 401,
                        "headers": [(b"content-type", b"application/json"),
                                    (b"content-length", str(len(body)).encode())]})
            await send({"type": "http.response.body", "body": body})
            return
        await self.app(scope, receive, send)

    @staticmethod
    def _allowed(scope) -> bool:
        app = scope.get("app")
        path = scope.get("path", "")
        if getattr(app, "auth", None) is None or not path.startswith("/gradio_api/"):
            return True
        if path[len("/gradio_api/"):].strip("/") in _OPEN_API:
            return True
        from http.cookies import SimpleCookie

        cookies = SimpleCookie()
        for name, value in scope.get("headers", []):
            if name == b"cookie":
                try:
                    cookies.load(value.decode("latin-1"))
                except Exception:  # noqa: BLE001 - a malformed cookie is no login
                    return False
        for name in (f"access-token-{app.cookie_id}", f"access-token-unsecure-{app.cookie_id}"):
            if name in cookies and app.tokens.get(cookies[name].value) is not None:
                return True
        return False


def serve(root: str | os.PathLike = ".", host: str = "127.0.0.1", port: int = 7860, auth: str | None = None,
          device: str | None = None, ready: threading.Event | None = None) -> None:
    """Run the page until Ctrl-C or SIGTERM; then stop the jobs (train saves) and return."""
    credentials = check_bind(host, auth)
    from faceswap.ui.paths import Root

    guard = Root(root)
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")  # no calls home: the page works offline
    try:
        import gradio as gr  # noqa: F401
    except ImportError:
        raise FaceswapError("faceswap ui needs Gradio: pip install 'faceswap[ui]'") from None
    from starlette.middleware import Middleware

    from faceswap.ui.common import Context
    from faceswap.ui.jobs import Jobs
    from faceswap.ui.layout import CSS, build

    ctx = Context(root=guard, jobs=Jobs(), device=device)
    page = build(ctx)
    page.queue(default_concurrency_limit=4)
    try:
        page.launch(server_name=host, server_port=int(port), auth=credentials, prevent_thread_lock=True,
                    quiet=True, show_error=True, allowed_paths=[str(f) for f in guard.folders], css=CSS,
                    ssr_mode=False, footer_links=[], inbrowser=False,
                    app_kwargs={"middleware": [Middleware(RequireLogin)]})
    except OSError as e:
        raise FaceswapError(f"--port {port}: cannot listen on {host} ({e})") from None
    shown = f"[{host}]" if ":" in host else host
    print(f"faceswap ui: http://{shown}:{port}/  (root {guard.describe()}; Ctrl-C stops)", flush=True)
    if ready is not None:
        ready.set()
    stop = threading.Event()
    old = None
    if threading.current_thread() is threading.main_thread():
        old = signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        while not stop.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        running = ctx.jobs.running()
        if running:
            print(f"faceswap ui: stopping {len(running)} job(s); training saves first", flush=True)
        ctx.jobs.shutdown()
        page.close()
        if old is not None:
            signal.signal(signal.SIGTERM, old)


def start_in_subprocess(root: str | os.PathLike, *, device: str = "cpu", log=None, timeout: float = 120.0,
                        auth: str | None = None):
    """Start `faceswap ui --root ROOT` on a free localhost port in a child process
    (one torch thread) and wait until the page answers. Returns (process, url);
    the caller terminates the process. Raises RuntimeError if it exits or does
    not answer within `timeout` seconds. For scripts and tests that drive the
    page from outside, as a browser would."""
    import socket
    import subprocess
    import sys
    import time
    import urllib.request

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONUNBUFFERED="1")
    proc = subprocess.Popen([sys.executable, "-m", "faceswap.cli", "ui", "--root", str(root), "--port", str(port),
                             "--device", device, *(["--auth", auth] if auth else [])], env=env,
                            stdout=log or subprocess.DEVNULL,
                            stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/"
    deadline = time.time() + timeout
    while True:
        try:
            urllib.request.urlopen(url, timeout=2)
            return proc, url
        except OSError:
            if proc.poll() is not None or time.time() > deadline:
                proc.kill()
                raise RuntimeError(f"faceswap ui did not start at {url}") from None
            time.sleep(0.5)
