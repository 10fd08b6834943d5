"""Safe YAML (and JSON) loading that remembers the line of every value, for error messages."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
from pathlib import Path
from typing import Any, Optional

import yaml

from .errors import InputError, Problem

Loc = tuple[Any, ...]


class Located:
    """Data loaded from a file plus the line of each path in it."""

    def __init__(self, data: Any, lines: dict[Loc, int], file: str) -> None:
        self.data = data
        self.lines = lines
        self.file = file

    def line(self, loc: Loc) -> int:
        """The line of the deepest known prefix of loc."""
        loc = tuple(loc)
        while loc:
            if loc in self.lines:
                return self.lines[loc]
            loc = loc[:-1]
        return self.lines.get((), 1)


def _construct(node: yaml.Node, loader: Any, loc: Loc, lines: dict[Loc, int]) -> Any:
    lines[loc] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        out: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            key = loader.construct_object(key_node, deep=True)
            if isinstance(key, (list, dict)):
                raise yaml.constructor.ConstructorError(None, None, "a mapping key must be a scalar", key_node.start_mark)
            if key in out:
                raise yaml.constructor.ConstructorError(None, None, f"duplicate key '{key}'", key_node.start_mark)
            out[key] = _construct(value_node, loader, loc + (key,), lines)
            lines[loc + (key,)] = key_node.start_mark.line + 1
        return out
    if isinstance(node, yaml.SequenceNode):
        return [_construct(v, loader, loc + (i,), lines) for i, v in enumerate(node.value)]
    return loader.construct_object(node, deep=True)


_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)   # libyaml when PyYAML was built with it


def load_text(text: str, file: str) -> Located:
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        lines: dict[Loc, int] = {}
        data = _construct(node, loader, (), lines) if node is not None else None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else 0
        raise InputError("YAML", [Problem(file, line, "", f"not valid YAML: {exc.problem or exc}")]) from None
    except yaml.YAMLError as exc:
        raise InputError("YAML", [Problem(file, 0, "", f"not valid YAML: {exc}")]) from None
    finally:
        loader.dispose()
    return Located(data, lines, file)


def load_file(path: Path, cache: bool = False) -> Located:
    """Load a YAML or JSON file. cache=True (rule packs only, never case files, which are privileged) keeps
    the parsed data as JSON under the user's cache folder, keyed by the file's content hash."""
    try:
        raw = path.read_bytes()
        text = raw.decode("utf-8")
    except OSError as exc:
        raise InputError("file", [Problem(str(path), 0, "", f"cannot read: {exc.strerror}")]) from None
    except UnicodeDecodeError:
        raise InputError("file", [Problem(str(path), 0, "", "not UTF-8 text")]) from None
    if not cache:
        return load_text(text, str(path))
    folder = cache_dir()
    key = hashlib.sha256(b"v1\0" + raw).hexdigest()
    entry = folder / f"{key}.json" if folder else None
    if entry is not None and entry.is_file():
        try:
            stored = json.loads(entry.read_text(encoding="utf-8"), object_hook=_decode)
            return Located(stored["data"], {tuple(k): v for k, v in stored["lines"]}, str(path))
        except (ValueError, KeyError, OSError):
            pass
    located = load_text(text, str(path))
    if entry is not None and _str_keys(located.data):
        try:
            tmp = entry.with_suffix(f".{os.getpid()}.tmp")
            tmp.write_text(json.dumps({"data": located.data, "lines": [[list(k), v] for k, v in located.lines.items()]},
                                      default=_encode), encoding="utf-8")
            os.replace(tmp, entry)
        except (OSError, TypeError, ValueError):
            pass
    return located


def _str_keys(v: Any) -> bool:
    """JSON keeps only string keys: data with other keys is not cached."""
    if isinstance(v, dict):
        return all(isinstance(k, str) and _str_keys(x) for k, x in v.items())
    if isinstance(v, list):
        return all(_str_keys(x) for x in v)
    return True


def cache_dir() -> Optional[Path]:
    """$COLLATERAL_CACHE, else $XDG_CACHE_HOME/collateral, else ~/.cache/collateral; None to disable ("off")."""
    base = os.environ.get("COLLATERAL_CACHE")
    if base == "off":
        return None
    folder = Path(base) if base else Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "collateral" / "yaml"
    try:
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    except OSError:
        return None
    return folder


def _encode(o: Any) -> Any:
    if isinstance(o, dt.datetime):
        raise TypeError("datetime values are not cached")
    if isinstance(o, dt.date):
        return {"__date__": o.isoformat()}
    raise TypeError(type(o).__name__)


def _decode(d: dict[str, Any]) -> Any:
    if len(d) == 1 and "__date__" in d:
        return dt.date.fromisoformat(d["__date__"])
    return d


def dotted(loc: Loc) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out
