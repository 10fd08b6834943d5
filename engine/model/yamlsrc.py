"""Safe YAML (and JSON) loading that remembers the line of every value, for error messages.

Every document is bounded before anything is built from it (docs/limits.md): at most MAX_BYTES bytes, at most
MAX_VALUES values once anchors and aliases are expanded (a "billion laughs" document is refused in
milliseconds, before any expansion), nesting at most MAX_DEPTH deep, and no alias that contains itself. A value
that YAML reads as a date but is no date (2026-02-31) is an error with its line, never a traceback.

Rule-pack files (never case files, which are privileged) may be cached as JSON in a folder the user owns
(cache_dir: mode 0700, owner checked, never pickle). An entry is named by the SHA-256 of the file it
replaces, states that digest, and carries an HMAC under a per-user key kept in the same private folder: an
entry that does not match the file being read, was not written by this user's collateral, or is not a
private regular file owned by the user is ignored (and replaced)."""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import hmac
import json
import os
import stat
from pathlib import Path
from typing import Any, Optional

import yaml

from engine.model.errors import InputError, Problem

Loc = tuple[Any, ...]

MAX_BYTES = 4 * 1024 * 1024      # the largest document read (the largest bundled catalog is about 265 kB)
MAX_VALUES = 250_000             # values in a document with every alias expanded (a 265 kB catalog has about 6,000)
MAX_DEPTH = 64                   # nesting of mappings and lists (a case file nests about 6 deep)
CACHE_FORMAT = 2


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


_KIND = {"tag:yaml.org,2002:timestamp": "date", "tag:yaml.org,2002:int": "whole number",
         "tag:yaml.org,2002:float": "number"}


def _scalar(node: yaml.Node, loader: Any, file: str, loc: Loc) -> Any:
    try:
        return loader.construct_object(node, deep=True)
    except (ValueError, OverflowError, TypeError) as exc:   # e.g. 2026-02-31: matches the date form, is no date
        kind = _KIND.get(str(node.tag), "value")
        raise InputError("YAML", [Problem(file, node.start_mark.line + 1, dotted(loc),
                                          f"'{node.value}' is not a valid {kind} ({exc})")]) from None


def _construct(node: yaml.Node, loader: Any, loc: Loc, lines: dict[Loc, int], file: str) -> Any:
    lines[loc] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        out: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                raise yaml.constructor.ConstructorError(None, None, "a mapping key must be a scalar", key_node.start_mark)
            key = _scalar(key_node, loader, file, loc)
            if isinstance(key, (list, dict)):
                raise yaml.constructor.ConstructorError(None, None, "a mapping key must be a scalar", key_node.start_mark)
            if key in out:
                raise yaml.constructor.ConstructorError(None, None, f"duplicate key '{key}'", key_node.start_mark)
            out[key] = _construct(value_node, loader, loc + (key,), lines, file)
            lines[loc + (key,)] = key_node.start_mark.line + 1
        return out
    if isinstance(node, yaml.SequenceNode):
        return [_construct(v, loader, loc + (i,), lines, file) for i, v in enumerate(node.value)]
    return _scalar(node, loader, file, loc)


def _measure(root: yaml.Node, file: str) -> None:
    """Refuse a document that would expand to more than MAX_VALUES values, nests deeper than MAX_DEPTH, or has
    an alias inside the node it names. Linear in the distinct nodes: an alias bomb is refused unexpanded."""
    sizes: dict[int, int] = {}
    open_nodes: set[int] = set()

    def fail(node: yaml.Node, msg: str) -> None:
        raise InputError("YAML", [Problem(file, node.start_mark.line + 1, "", msg)])

    def size(node: yaml.Node, depth: int) -> int:
        key = id(node)
        if key in sizes:
            return sizes[key]
        if key in open_nodes:
            fail(node, "an alias refers to a node that contains it (a recursive document)")
        if depth > MAX_DEPTH:
            fail(node, f"nested more than {MAX_DEPTH} levels deep (the limit; docs/limits.md)")
        total = 1
        if isinstance(node, (yaml.MappingNode, yaml.SequenceNode)):
            open_nodes.add(key)
            children = [x for pair in node.value for x in pair] if isinstance(node, yaml.MappingNode) else node.value
            for child in children:
                total += size(child, depth + 1)
                if total > MAX_VALUES:
                    fail(node, f"the document expands to more than {MAX_VALUES:,} values (anchors and aliases repeat "
                               f"what they name); the limit is {MAX_VALUES:,} (docs/limits.md)")
            open_nodes.discard(key)
        sizes[key] = total
        return total

    size(root, 0)


_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)   # libyaml when PyYAML was built with it


def _too_big(file: str, size: int) -> InputError:
    return InputError("file", [Problem(file, 0, "", f"the document is larger than {MAX_BYTES:,} bytes "
                                                    f"({size:,} or more); the limit is {MAX_BYTES:,} bytes (docs/limits.md)")])


def load_text(text: str, file: str) -> Located:
    if len(text) > MAX_BYTES or len(text.encode("utf-8", "surrogatepass")) > MAX_BYTES:
        raise _too_big(file, len(text.encode("utf-8", "surrogatepass")))
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        lines: dict[Loc, int] = {}
        if node is not None:
            _measure(node, file)
        data = _construct(node, loader, (), lines, file) if node is not None else None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else 0
        raise InputError("YAML", [Problem(file, line, "", f"not valid YAML: {exc.problem or exc}")]) from None
    except yaml.YAMLError as exc:
        raise InputError("YAML", [Problem(file, 0, "", f"not valid YAML: {exc}")]) from None
    except RecursionError:
        raise InputError("YAML", [Problem(file, 0, "", f"nested more than {MAX_DEPTH} levels deep (docs/limits.md)")]) from None
    finally:
        loader.dispose()
    return Located(data, lines, file)


def read_bounded(path: Path) -> bytes:
    """The bytes of a file (or a pipe), at most MAX_BYTES of them: a larger input is an InputError."""
    try:
        with open(path, "rb") as fh:
            raw = fh.read(MAX_BYTES + 1)
    except OSError as exc:
        raise InputError("file", [Problem(str(path), 0, "", f"cannot read: {exc.strerror or exc}")]) from None
    if len(raw) > MAX_BYTES:
        raise _too_big(str(path), len(raw))
    return raw


def load_file(path: Path, cache: bool = False) -> Located:
    """Load a YAML or JSON file. cache=True (rule packs only, never case files, which are privileged) keeps
    the parsed data as JSON in the user's private cache folder, keyed and verified by the file's content digest."""
    raw = read_bounded(path)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise InputError("file", [Problem(str(path), 0, "", "not UTF-8 text")]) from None
    if not cache:
        return load_text(text, str(path))
    folder = cache_dir()
    if folder is None:
        return load_text(text, str(path))
    source = hashlib.sha256(raw).hexdigest()
    entry = folder / f"{hashlib.sha256(b'v2' + bytes(1) + raw).hexdigest()}.json"
    secret = _secret(folder)
    if secret is not None:
        stored = _read_entry(entry, source, secret)
        if stored is not None:
            return Located(stored["data"], {tuple(k): v for k, v in stored["lines"]}, str(path))
    located = load_text(text, str(path))
    if secret is not None and _str_keys(located.data):
        _write_entry(entry, source, secret, located)
    return located


def _private_file(fd: int) -> bool:
    st = os.fstat(fd)
    return stat.S_ISREG(st.st_mode) and st.st_uid == os.geteuid() and not st.st_mode & 0o077


def _secret(folder: Path) -> Optional[bytes]:
    """The per-user key that signs cache entries (created on first use; None when it cannot be trusted)."""
    path = folder / "key"
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o600)
    except FileExistsError:
        pass
    except OSError:
        return None
    else:
        with os.fdopen(fd, "w") as fh:
            fh.write(os.urandom(32).hex())
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    except OSError:
        return None
    with os.fdopen(fd, "rb") as fh:
        if not _private_file(fh.fileno()):
            return None
        key = fh.read(128).strip()
    return key if len(key) == 64 else None


def _mac(secret: bytes, source: str, payload: bytes) -> str:
    return hmac.new(secret, source.encode() + b"\0" + payload, hashlib.sha256).hexdigest()


def _read_entry(entry: Path, source: str, secret: bytes) -> Optional[dict[str, Any]]:
    """The cached payload, or None when the entry is absent or cannot be trusted: not a private regular file of
    this user, made from other content than `source`, or not signed with this user's key."""
    try:
        fd = os.open(entry, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    except OSError:
        return None
    try:
        with os.fdopen(fd, "rb") as fh:
            if not _private_file(fh.fileno()):
                return None
            head, _, payload = fh.read().partition(b"\n")
        header = json.loads(head)
        if (not isinstance(header, dict) or header.get("format") != CACHE_FORMAT or header.get("source") != source
                or not hmac.compare_digest(str(header.get("mac")), _mac(secret, source, payload))):
            return None
        stored = json.loads(payload, object_hook=_decode)
        if not isinstance(stored, dict) or not isinstance(stored.get("lines"), list) or "data" not in stored:
            return None
        return stored
    except (OSError, ValueError, TypeError):
        return None


def _write_entry(entry: Path, source: str, secret: bytes, located: Located) -> None:
    try:
        payload = json.dumps({"data": located.data, "lines": [[list(k), v] for k, v in located.lines.items()]},
                             default=_encode, ensure_ascii=False).encode("utf-8")
    except (TypeError, ValueError):
        return   # what JSON cannot hold (datetimes, keys that are not text) is not cached
    header = json.dumps({"format": CACHE_FORMAT, "source": source, "mac": _mac(secret, source, payload)}).encode()
    tmp = entry.with_name(f".{entry.name}.{os.getpid()}.{os.urandom(4).hex()}.tmp")
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(header + b"\n" + payload)
        os.replace(tmp, entry)
    except OSError:
        with contextlib.suppress(OSError):
            os.unlink(tmp)


def _str_keys(v: Any) -> bool:
    """JSON keeps only string keys: data with other keys is not cached."""
    if isinstance(v, dict):
        return all(isinstance(k, str) and _str_keys(x) for k, x in v.items())
    if isinstance(v, list):
        return all(_str_keys(x) for x in v)
    return True


def private_dir(folder: Path) -> bool:
    """True when folder is a real folder (not a link) owned by the user and closed to everyone else."""
    try:
        st = os.lstat(folder)
    except OSError:
        return False
    return stat.S_ISDIR(st.st_mode) and st.st_uid == os.geteuid() and not st.st_mode & 0o077


def cache_dir() -> Optional[Path]:
    """$COLLATERAL_CACHE, else $XDG_CACHE_HOME/collateral/yaml, else ~/.cache/collateral/yaml; None to disable
    ("off"), and None (no cache) when the folder cannot be made or is not private: owned by the user, mode 0700
    (a shared folder is never used: another user could plant entries there)."""
    base = os.environ.get("COLLATERAL_CACHE")
    if base == "off":
        return None
    folder = Path(base) if base else Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "collateral" / "yaml"
    try:
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    except OSError:
        return None
    return folder if private_dir(folder) else None


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
