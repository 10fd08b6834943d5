"""Start the web app on 127.0.0.1 (never another interface) and print its address with the access token."""

from __future__ import annotations

import os
import socket
import sys
import webbrowser
from collections.abc import Callable
from pathlib import Path
from typing import Optional

from engine.serve.app import create_app

HOST = "127.0.0.1"


class BindError(Exception):
    """The port cannot be listened on (taken, or not allowed)."""


def bind(port: int) -> socket.socket:
    """A listening socket on 127.0.0.1:PORT (0: any free port); BindError when the port is taken."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((HOST, port))
        sock.listen(64)
    except OSError as exc:
        sock.close()
        raise BindError(f"cannot serve on {HOST}:{port}: {exc.strerror or exc}") from None
    sock.set_inheritable(True)
    return sock


def can_open_browser() -> bool:
    """A graphical browser is likely (on Linux only with a display: never a text browser in this terminal)."""
    if sys.platform in ("darwin", "win32"):
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def serve(workspace: Path, port: int, open_browser: bool, say: Callable[[str], None],
          rules_dir: Optional[Path] = None) -> None:
    import uvicorn

    sock = bind(port)
    app = create_app(workspace, cookie=f"collateral_{sock.getsockname()[1]}", rules_dir=rules_dir)
    url = f"http://{HOST}:{sock.getsockname()[1]}/?token={app.token}"
    say(f"collateral serve: the cases in {app.service.workspace.folder}")
    say(f"Open this address in your browser (it holds the access token; do not share it):\n\n    {url}\n")
    say("Only this computer can connect. Press Ctrl-C to stop.")
    if open_browser and can_open_browser():
        webbrowser.open(url)
    config = uvicorn.Config(app.asgi, log_level="warning", access_log=False, server_header=False, date_header=False,
                            lifespan="off")
    try:
        uvicorn.Server(config).run(sockets=[sock])
    finally:
        app.service.close()
        sock.close()
