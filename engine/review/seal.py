"""Sealed results: the digests that let a result be re-run and checked later (docs/review.md, "Sealed results").

A seal names what the result was computed from (the parsed case, each pack, the engine version and the other
inputs: counter-offer search, redaction, a review file, an earlier result) and the digest of the result itself.
`verify` re-runs the case and says which of them are still the same."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from typing import Any, Optional

from engine import __version__
from engine.model import casefile as cf


def _default(o: Any) -> Any:
    if isinstance(o, (dt.date, dt.datetime)):
        return o.isoformat()
    raise TypeError(f"not JSON: {type(o).__name__}")


def canonical(obj: Any) -> bytes:
    """The canonical JSON of obj: keys sorted, no spaces, UTF-8 (dates as ISO text)."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=_default).encode("utf-8")


def digest(obj: Any) -> str:
    return "sha256:" + hashlib.sha256(canonical(obj)).hexdigest()


def case_digest(case: cf.CaseFile) -> str:
    """The digest of the parsed case (every field, defaults included): the same facts however the file is written."""
    return digest(case.model_dump(mode="json", by_alias=True))


def result_body(result: dict[str, Any]) -> dict[str, Any]:
    """The result without its seal and without the evaluator's name (both evaluators give the same result)."""
    body = {k: v for k, v in result.items() if k != "seal"}
    engine = body.get("engine")
    if isinstance(engine, dict):
        body["engine"] = {k: v for k, v in engine.items() if k != "evaluator"}
    return body


def result_digest(result: dict[str, Any]) -> str:
    return digest(result_body(result))


def result_text(result: dict[str, Any]) -> str:
    """The JSON document as `advise --format json` writes it."""
    return json.dumps(result, indent=2, ensure_ascii=False, sort_keys=False) + "\n"


def seal(result: dict[str, Any], case: cf.CaseFile, inputs: dict[str, Any]) -> dict[str, Any]:
    """Add `seal` to the result (last: the result digest covers everything else) and return it."""
    result.pop("seal", None)
    result["seal"] = {
        "case_digest": case_digest(case),
        "packs": {p["id"]: p["digest"] for p in result.get("packs", [])},
        "engine_version": __version__,
        "inputs": inputs,
        "result_digest": result_digest(result),
    }
    return result


def verify(stored: dict[str, Any], stored_text: Optional[str], fresh: dict[str, Any], case_now: str) -> tuple[bool, list[str]]:
    """Compare a sealed result with the result of re-running its case now. Returns (all the same, report lines)."""
    s = stored.get("seal") or {}
    f = fresh.get("seal") or {}
    lines: list[str] = []
    same = True
    if result_digest(stored) != s.get("result_digest"):
        same = False
        lines.append("sealed:  NO: the result file was changed after it was sealed "
                     f"(its content is {result_digest(stored)}, the seal says {s.get('result_digest')})")
    else:
        lines.append(f"sealed:  yes ({s.get('result_digest')})")
    if s.get("case_digest") == case_now:
        lines.append(f"facts:   same ({case_now})")
    else:
        same = False
        lines.append(f"facts:   different: the case file's facts changed ({s.get('case_digest')} -> {case_now})")
    old_packs: dict[str, str] = s.get("packs") or {}
    new_packs: dict[str, str] = f.get("packs") or {}
    versions_old = {p["id"]: p.get("version", "?") for p in stored.get("packs", [])}
    versions_new = {p["id"]: p.get("version", "?") for p in fresh.get("packs", [])}
    pack_lines = []
    for pid in sorted(set(old_packs) | set(new_packs)):
        if pid not in new_packs:
            pack_lines.append(f"{pid} {versions_old.get(pid, '?')} is no longer applied")
        elif pid not in old_packs:
            pack_lines.append(f"{pid} {versions_new.get(pid, '?')} is applied now")
        elif old_packs[pid] != new_packs[pid]:
            vo, vn = versions_old.get(pid, "?"), versions_new.get(pid, "?")
            pack_lines.append(f"{pid} {vo} -> {vn}" if vo != vn else f"{pid} {vo} edited without a new version")
    if pack_lines:
        same = False
        lines.append("packs:   different: " + "; ".join(pack_lines))
    else:
        lines.append(f"packs:   same ({len(old_packs)} packs)")
    if s.get("engine_version") == f.get("engine_version"):
        lines.append(f"engine:  same ({f.get('engine_version')})")
    else:
        same = False
        lines.append(f"engine:  different ({s.get('engine_version')} -> {f.get('engine_version')})")
    fresh_digest = f.get("result_digest")
    if fresh_digest == s.get("result_digest") and result_digest(stored) == fresh_digest:
        if stored_text is not None and stored_text == result_text(fresh):
            lines.append("result:  same, byte for byte")
        else:
            lines.append("result:  same content (the file's JSON layout differs)")
    else:
        same = False
        lines.append(f"result:  different ({s.get('result_digest')} -> {fresh_digest})")
    return same, lines
