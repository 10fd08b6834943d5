"""The workspace: a folder of case files, the same YAML files the command line reads and writes.

A case is named by its file name without the extension. Names are checked before any path is built from them
(no separators, no leading dot), and a file is only ever read or written directly inside the workspace."""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import os
import re
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

import yaml

from engine.model.errors import InputError
from engine.model.yamlsrc import Located, load_file

HEADER = "# collateral case file (format 1): docs/case-file.md\n"
NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")
SUFFIXES = (".yaml", ".yml")


class NotACase(LookupError):
    pass


@dataclass
class CaseFileOnDisk:
    name: str
    path: Path
    digest: str
    src: Optional[Located]                 # None when the file cannot be read as YAML
    error: Optional[InputError] = None
    commented: bool = False                # the file has comments, which a save from the app does not keep


def valid_name(name: str) -> bool:
    return bool(NAME.match(name)) and not name.endswith(SUFFIXES) and ".." not in name


def slug(text: str) -> str:
    s = re.sub(r"[^A-Za-z0-9_.-]+", "-", text.strip()).strip("-.")[:80]
    return s if s and valid_name(s) else ""


class Workspace:
    def __init__(self, folder: Path) -> None:
        self.folder = folder.resolve()

    def _is_case_file(self, p: Path) -> bool:
        return (p.suffix in SUFFIXES and p.is_file() and not p.name.startswith(".")
                and not p.name.endswith((".review.yaml", ".review.yml")) and valid_name(p.stem))

    def names(self) -> list[str]:
        """The case files in the folder (not its subfolders), by name; review files and other YAML are left out."""
        out = []
        for p in sorted(self.folder.iterdir()):
            if not self._is_case_file(p):
                continue
            try:
                data = load_file(p).data
            except InputError:
                out.append(p.stem)   # listed, so the attorney sees what is wrong with it
                continue
            if isinstance(data, dict) and "format" in data and "options" in data:
                out.append(p.stem)
        return out

    def path(self, name: str) -> Path:
        if not valid_name(name):
            raise NotACase(name)
        for suffix in SUFFIXES:
            p = self.folder / f"{name}{suffix}"
            if p.is_file():
                return p
        raise NotACase(name)

    def exists(self, name: str) -> bool:
        try:
            self.path(name)
        except NotACase:
            return False
        return True

    def read(self, name: str) -> CaseFileOnDisk:
        p = self.path(name)
        raw = p.read_bytes()
        digest = hashlib.sha256(raw).hexdigest()
        commented = any(line != HEADER.rstrip("\n") and re.search(r"(^|\s)#", line)
                        for line in raw.decode("utf-8", "replace").splitlines())
        try:
            return CaseFileOnDisk(name, p, digest, load_file(p), commented=commented)
        except InputError as exc:
            return CaseFileOnDisk(name, p, digest, None, exc, commented)

    def write(self, name: str, data: dict[str, Any]) -> Path:
        """Write the case file atomically (a private temporary file, then a rename); a new file is mode 0600,
        an existing one keeps its mode."""
        if not valid_name(name):
            raise NotACase(name)
        try:
            target = self.path(name)
        except NotACase:
            target = self.folder / f"{name}.yaml"
        text = dump(data)
        tmp = target.parent / f".{target.name}.{os.getpid()}.{os.urandom(4).hex()}.tmp"
        try:
            mode = stat.S_IMODE(os.stat(target).st_mode)
        except FileNotFoundError:
            mode = 0o600
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o600)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write(text)
                fh.flush()
                os.fsync(fh.fileno())
                os.fchmod(fh.fileno(), mode)
            os.replace(tmp, target)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise
        return target


def dump(data: dict[str, Any]) -> str:
    """A case file as YAML, as `collateral interview` writes one."""
    return HEADER + yaml.safe_dump(
        _plain(data), sort_keys=False, allow_unicode=True, default_flow_style=False)


def _plain(v: Any) -> Any:
    if isinstance(v, dict):
        return {str(k): _plain(x) for k, x in v.items()}
    if isinstance(v, list):
        return [_plain(x) for x in v]
    if isinstance(v, dt.datetime):
        return v.date()
    return v
