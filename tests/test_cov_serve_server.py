"""`collateral serve` itself (engine/serve/server.py) and the workspace folder (engine/serve/workspace.py) at
their edges: a real server on a free port in a thread (what it prints, the browser it opens, what it answers,
that it lets go of the port when stopped), a port that is taken, when a browser is opened at all; case names
that are refused, files that are not case files, a failed save that leaves nothing behind."""

from __future__ import annotations

import datetime as dt
import http.client
import os
import re
import shutil
import socket
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest
import uvicorn
import yaml

from engine.serve import server as srv
from engine.serve.workspace import NotACase, Workspace, dump, slug

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "ca-theft-lpr.yaml"

# ------------------------------------------------------------------------------------------ server


def test_a_taken_port_is_refused_with_the_reason() -> None:
    busy = socket.socket()
    busy.bind(("127.0.0.1", 0))
    busy.listen(1)
    port = busy.getsockname()[1]
    try:
        with pytest.raises(srv.BindError, match=rf"cannot serve on 127\.0\.0\.1:{port}: "):
            srv.bind(port)
    finally:
        busy.close()


def test_bind_listens_on_loopback_only() -> None:
    sock = srv.bind(0)
    try:
        host, port = sock.getsockname()
        assert host == "127.0.0.1" and port > 0
    finally:
        sock.close()


@pytest.mark.parametrize(("platform", "env", "expected"), [
    ("linux", {}, False), ("linux", {"DISPLAY": ":0"}, True), ("linux", {"WAYLAND_DISPLAY": "wayland-0"}, True),
    ("darwin", {}, True), ("win32", {}, True)])
def test_a_browser_is_opened_only_where_one_can_show(monkeypatch: pytest.MonkeyPatch, platform: str,
                                                     env: dict[str, str], expected: bool) -> None:
    monkeypatch.setattr(sys, "platform", platform)
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    assert srv.can_open_browser() is expected


_REAL_SERVER = uvicorn.Server


class _Servers:
    """uvicorn.Server, remembering each one made, so the test can stop it as Ctrl-C would."""

    made: list[uvicorn.Server] = []

    def __new__(cls, config: Any) -> Any:
        s = _REAL_SERVER(config)
        cls.made.append(s)
        return s


def _get(port: int, path: str, cookie: str = "") -> http.client.HTTPResponse:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    conn.request("GET", path, headers={"cookie": cookie} if cookie else {})
    r = conn.getresponse()
    r.read()
    conn.close()
    return r


@pytest.mark.parametrize("display", [True, False])
def test_serve_prints_the_address_opens_the_browser_answers_and_lets_go(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, display: bool) -> None:
    shutil.copy(EXAMPLE, tmp_path / "ca.yaml")
    opened: list[str] = []
    said: list[str] = []
    monkeypatch.setattr(srv.webbrowser, "open", opened.append)
    monkeypatch.setattr(srv, "can_open_browser", lambda: display)
    monkeypatch.setattr(uvicorn, "Server", _Servers)
    _Servers.made = []
    errors: list[BaseException] = []

    def run() -> None:
        try:
            srv.serve(tmp_path, 0, True, said.append)
        except BaseException as exc:   # pragma: no cover - reported below
            errors.append(exc)

    t = threading.Thread(target=run, daemon=True)
    t.start()
    deadline = time.monotonic() + 60
    while not (_Servers.made and _Servers.made[0].started) and time.monotonic() < deadline and t.is_alive():
        time.sleep(0.05)
    assert _Servers.made and _Servers.made[0].started, (said, errors)
    try:
        text = "\n".join(said)
        assert f"collateral serve: the cases in {tmp_path.resolve()}" in text
        assert "Only this computer can connect. Press Ctrl-C to stop." in text
        m = re.search(r"http://127\.0\.0\.1:(\d+)/\?token=(\S+)", text)
        assert m
        port = int(m.group(1))
        assert opened == ([m.group(0)] if display else [])
        assert _get(port, "/").status == 403                     # no token: refused
        r = _get(port, f"/?token={m.group(2)}")
        assert r.status == 303 and r.getheader("location") == "/"
        cookie = r.getheader("set-cookie").split(";")[0]
        assert cookie.startswith(f"collateral_{port}=")           # one cookie per port
        assert r.getheader("server") is None and r.getheader("date") is None
        page = _get(port, "/", cookie)
        assert page.status == 200
    finally:
        _Servers.made[0].should_exit = True
        t.join(30)
    assert not t.is_alive() and not errors
    with pytest.raises(ConnectionRefusedError):   # the port is let go
        socket.create_connection(("127.0.0.1", port), timeout=5).close()


# ------------------------------------------------------------------------------------------ workspace


def test_case_list_keeps_a_broken_file_and_leaves_out_what_is_not_a_case(tmp_path: Path) -> None:
    shutil.copy(EXAMPLE, tmp_path / "ca.yaml")
    shutil.copy(EXAMPLE, tmp_path / "old.yml")
    (tmp_path / "broken.yaml").write_text("format: 1\noptions: [unclosed\n")
    (tmp_path / "notes.yaml").write_text("- just\n- a list\n")
    (tmp_path / "ca.review.yaml").write_text("format: 1\noptions: []\n")
    (tmp_path / ".hidden.yaml").write_text(EXAMPLE.read_text())
    (tmp_path / "bad name.yaml").write_text(EXAMPLE.read_text())
    (tmp_path / "sub").mkdir()
    shutil.copy(EXAMPLE, tmp_path / "sub" / "inner.yaml")
    ws = Workspace(tmp_path)
    assert ws.names() == ["broken", "ca", "old"]
    assert ws.path("old") == (tmp_path / "old.yml").resolve()
    broken = ws.read("broken")
    assert broken.src is None and broken.error is not None and "broken.yaml" in str(broken.error)
    assert ws.read("ca").src is not None and ws.read("ca").commented


@pytest.mark.parametrize("name", ["../outside", ".hidden", "a/b", "ca.yaml", "x..y", "", "-dash", "a" * 101])
def test_names_that_could_leave_the_workspace_are_refused(tmp_path: Path, name: str) -> None:
    ws = Workspace(tmp_path)
    assert not ws.exists(name)
    with pytest.raises(NotACase):
        ws.path(name)
    with pytest.raises(NotACase):
        ws.write(name, {"format": 1})
    assert list(tmp_path.iterdir()) == []


def test_slug_makes_a_file_name_or_nothing() -> None:
    assert slug("  LA-2026 / CR 0142 ") == "LA-2026-CR-0142"
    assert slug("../..") == "" and slug("case.yaml") == ""


def test_write_keeps_the_mode_of_an_existing_file_and_writes_dates_as_dates(tmp_path: Path) -> None:
    ws = Workspace(tmp_path)
    (tmp_path / "c.yaml").write_text("format: 1\n")
    os.chmod(tmp_path / "c.yaml", 0o640)
    path = ws.write("c", {"format": 1, "as_of": dt.datetime(2026, 3, 14, 9, 30), 7: ["x"]})
    assert path == (tmp_path / "c.yaml").resolve()
    assert oct(path.stat().st_mode & 0o777) == "0o640"
    assert path.read_text() == "# collateral case file (format 1): docs/case-file.md\nformat: 1\nas_of: 2026-03-14\n'7':\n- x\n"
    assert dump({"d": dt.date(2026, 1, 2)}).endswith("d: 2026-01-02\n")


def test_a_failed_save_leaves_no_temporary_file(tmp_path: Path) -> None:
    ws = Workspace(tmp_path)
    (tmp_path / "c.yaml").mkdir()   # a folder where the file would go: the rename fails
    with pytest.raises(OSError):
        ws.write("c", {"format": 1})
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.yaml"]
    assert list((tmp_path / "c.yaml").iterdir()) == []
    assert yaml.safe_load(dump({"format": 1})) == {"format": 1}
