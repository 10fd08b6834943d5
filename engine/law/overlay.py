"""Office overlays: local folders of packs layered over the bundled ones (`--packs DIR`, COLLATERAL_PACKS).

An overlay pack is an ordinary pack (manifest, rules, parameters, tests) with its own id. Its rules add to the
bundled ones; a rule replaces a bundled rule only when it says so with `overrides: RULE_ID` (it may keep that
id, or take one of its own pack). Any other rule id used twice, and any pack id used twice, is an error."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Optional

from engine.law.packs import RULES_DIR, LocatedRule, Pack, PackSet, _wanted, discover, load_all, load_checks, load_pack
from engine.model.errors import Problem, nearest

ENV = "COLLATERAL_PACKS"


def env_dirs() -> list[Path]:
    """The overlay folders named by COLLATERAL_PACKS (separated by the path separator, ':' on Unix)."""
    raw = os.environ.get(ENV, "")
    return [Path(p) for p in raw.split(os.pathsep) if p.strip()]


def load_layers(root: Path = RULES_DIR, overlays: Optional[list[Path]] = None,
                jurisdictions: Optional[set[str]] = None) -> PackSet:
    """The bundled packs under root, then every pack under each overlay folder in order (marked `overlay`)."""
    ps = load_all(root, jurisdictions)
    if not overlays:
        return ps
    problems: list[Problem] = []
    added: list[Pack] = []
    for folder in overlays:
        if not folder.is_dir():
            problems.append(Problem(str(folder), 0, "--packs", "not a folder of packs"))
            continue
        found = discover(folder)
        if not found:
            problems.append(Problem(str(folder), 0, "--packs", "no pack.yaml in this folder or below it"))
        for pack_dir in found:
            if jurisdictions is not None and not _wanted(pack_dir, jurisdictions):
                continue
            pack = load_pack(pack_dir, problems)
            if pack is not None:
                pack.overlay = True
                added.append(pack)
    ids = {p.id: p for p in ps.packs}
    for p in added:
        if p.id in ids:
            problems.append(Problem(str(p.folder / "pack.yaml"), 1, "id", f"pack id '{p.id}' is also used by {ids[p.id].folder}; "
                                                                          "an overlay pack takes an id of its own"))
        ids[p.id] = p
    problems.extend(_apply_overrides(ps.packs, added))
    packs = ps.packs + added
    extra = [p for p in load_checks(packs, ps.vocabulary) if p not in ps.problems]
    return PackSet(packs, ps.problems + [p for p in problems + extra if p not in ps.problems], ps.vocabulary, ps.questions,
                   ps.record_labels)


def _apply_overrides(bundled: list[Pack], overlays: list[Pack]) -> list[Problem]:
    """Remove from the bundled packs each rule an overlay rule overrides."""
    problems: list[Problem] = []
    by_id: dict[str, LocatedRule] = {lr.rule.id: lr for p in bundled for lr in p.rules}
    for pack in overlays:
        for lr in pack.rules:
            target = lr.rule.overrides
            if target is None:
                continue
            if target not in by_id:
                problems.append(Problem(lr.file, lr.line, f"{lr.rule.id}: overrides", f"no bundled rule '{target}' to override",
                                        nearest(target, list(by_id))))
                continue
            old = by_id.pop(target)
            old.pack.rules = [x for x in old.pack.rules if x is not old]
    return problems


def overridden(ps: PackSet) -> list[tuple[str, str]]:
    """(overlay rule id, bundled rule id it replaces) for every override in force."""
    return sorted((lr.rule.id, lr.rule.overrides) for p in ps.packs if p.overlay for lr in p.rules if lr.rule.overrides)


def mark_overlays(result: dict[str, Any], ps: PackSet) -> list[str]:
    """Mark the result's overlay packs (`overlay: true`) and return the lines that tell the reader which office
    overlays were applied, with their digests, and which bundled rules they replace."""
    overlay = {p.id: p for p in ps.packs if p.overlay}
    used: list[str] = []
    for entry in result.get("packs", []):
        if entry.get("id") in overlay:
            entry["overlay"] = True
            used.append(f"{entry['id']} {entry.get('version', '')} ({entry.get('digest', '')})")
    if not used:
        return []
    lines = [f"Office overlay packs applied (not part of the bundled law): {', '.join(used)}."]
    repl = [f"{new} replaces {old}" for new, old in overridden(ps)]
    if repl:
        lines.append(f"Bundled rules replaced by an office overlay: {'; '.join(repl)}.")
    return lines
