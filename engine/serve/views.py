"""What the pages show, computed from the result document (docs/result-format.md)."""

from __future__ import annotations

from typing import Any, Optional

SEVERITY = ("info", "low", "medium", "high", "critical")
SEVERITY_LABEL = {"critical": "Critical", "high": "High", "medium": "Medium", "low": "Low", "info": "Info", "none": "None"}
CERTAINTY = {"clear": "settled law", "likely": "likely", "unsettled": "unsettled law", "circuit_split": "the circuits are split"}
DOMAIN_LABEL = {"imm": "Immigration", "fines": "Fines and fees"}
DOWNLOADS = [("memo.docx", "Memo (Word)"), ("memo.pdf", "Memo (PDF)"), ("memo.html", "Memo (HTML)"), ("memo.md", "Memo (Markdown)"),
             ("letter-en.docx", "Client letter, English (Word)"), ("letter-es.docx", "Client letter, Spanish (Word)"),
             ("letter-en.pdf", "Client letter, English (PDF)"), ("letter-es.pdf", "Client letter, Spanish (PDF)"),
             ("result.json", "Result (JSON)")]


def rank(severity: str) -> int:
    return SEVERITY.index(severity) if severity in SEVERITY else -1


def domain_label(d: str) -> str:
    return DOMAIN_LABEL.get(d, d.replace("_", " ").capitalize())


def worst_by_domain(result: dict[str, Any]) -> list[dict[str, Any]]:
    """Per area: each option's worst applying consequence (comparison.by_domain), with its title; what only
    turns on facts not yet known is given apart."""
    comparison = result.get("comparison") or {}
    possible = comparison.get("by_domain_possible") or {}
    rows = []
    for domain, per_option in (comparison.get("by_domain") or {}).items():
        cells = []
        for o in result["options"]:
            sev = per_option.get(o["id"], "none")
            title = ""
            if sev != "none":
                f = next((f for f in o["findings"] if f["domain"] == domain and f["kind"] == "consequence"
                          and f["status"] == "applies" and f["severity"] == sev), None)
                title = f["title"] if f else ""
            maybe = (possible.get(domain) or {}).get(o["id"], "none")
            cells.append({"severity": sev, "label": SEVERITY_LABEL.get(sev, sev), "title": title,
                          "possible": SEVERITY_LABEL.get(maybe, maybe) if rank(maybe) > rank(sev) else ""})
        rows.append({"domain": domain, "label": domain_label(domain), "cells": cells})
    return rows


def _trace(f: dict[str, Any]) -> dict[str, Any]:
    return {"id": f["id"], "flag_id": f.get("flag_id") or "", "rules": f.get("rules") or [f.get("rule")],
            "pack": f.get("pack") or "", "because": f.get("because") or [], "facts": sorted((f.get("facts") or {}).items()),
            "burden": f.get("burden") or "", "silent_record": f.get("silent_record") or [], "arithmetic": f.get("arithmetic") or ""}


def _where(counts: list[int], history: list[int], n_counts: int) -> str:
    parts = []
    if counts and n_counts > 1:
        parts.append(("count " if len(counts) == 1 else "counts ") + ", ".join(str(i + 1) for i in counts))
    if history:
        parts.append(("prior conviction " if len(history) == 1 else "prior convictions ") + ", ".join(str(i + 1) for i in history))
    return "; ".join(parts)


def finding_view(group: list[dict[str, Any]], n_counts: int) -> dict[str, Any]:
    """One consequence (the same code and status on several counts is one entry naming them), expandable to its
    test, citations and trace (one per count it was found on)."""
    f = group[0]
    counts = sorted({i for g in group for i in g.get("counts") or []})
    history = sorted({i for g in group for i in g.get("history") or []})
    severity = max((g["severity"] for g in group), key=rank)

    def union(key: str) -> list[Any]:
        out: list[Any] = []
        for g in group:
            out += [x for x in g.get(key) or [] if x not in out]
        return out

    return {
        "id": f["id"], "anchor": "f-" + "".join(c if c.isalnum() else "-" for c in f["id"]), "title": f["title"],
        "where": _where(counts, history, n_counts),
        "severity": severity, "severity_label": SEVERITY_LABEL.get(severity, severity),
        "status": f["status"], "kind": f["kind"], "domain": domain_label(f["domain"]),
        "certainty": CERTAINTY.get(f["certainty"], f["certainty"]), "summary": f.get("summary") or "",
        "explanation": f.get("explanation") or "", "citations": f.get("citations") or [],
        "padilla": f.get("padilla") or "", "mandatory": f.get("mandatory"), "duration": f.get("duration") or "",
        "mitigations": union("mitigations"), "record_checklist": union("record_checklist"), "missing": union("missing_facts"),
        "amount": f.get("amount") if len(group) == 1 else None, "arithmetic": f.get("arithmetic") or "",
        "timeline": f.get("timeline") or "", "traces": [_trace(g) for g in group],
    }


def _grouped(findings: list[dict[str, Any]], n_counts: int) -> list[dict[str, Any]]:
    groups: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for f in findings:
        groups.setdefault((f["code"], f["status"]), []).append(f)
    views = [finding_view(g, n_counts) for g in groups.values()]
    return sorted(views, key=lambda v: (-rank(v["severity"]), v["title"]))


def option_view(o: dict[str, Any], memo_option: Optional[Any]) -> dict[str, Any]:
    findings = o["findings"]
    n = len(o["counts"])
    applies = _grouped([f for f in findings if f["kind"] == "consequence" and f["status"] == "applies"], n)
    possible = _grouped([f for f in findings if f["kind"] == "consequence" and f["status"] == "possible"], n)
    other = _grouped([f for f in findings if f["kind"] != "consequence" and f["status"] in ("applies", "possible")], n)
    return {
        "id": o["id"], "label": o.get("label") or o["id"], "anchor": "o-" + "".join(c if c.isalnum() else "-" for c in o["id"]),
        "counts": [f"{c['statute']} — {c['title']}" + ("" if c.get("in_catalog", True) else " (not in the catalog)")
                   + f"; {str(c.get('disposition') or 'disposition not given').replace('_', ' ')}" for c in o["counts"]],
        "sentences": list(getattr(memo_option, "sentences", []) or []),
        "row": dict(getattr(memo_option, "row", {}) or {}),
        "applies": applies, "possible": possible, "other": other,
        "alternatives": [{"index": i, "change": a["change"], "avoids": a.get("avoids_titles") or a.get("avoids") or [],
                          "avoids_other": a.get("avoids_other", 0), "triggers": a.get("triggers_titles") or a.get("triggers") or []}
                         for i, a in enumerate(o.get("alternatives") or [])],
        "record": [(r.verb, r.text) for r in getattr(memo_option, "record", []) or []],
        "money": (o.get("financial") or {}).get("total"),
    }


BOTTOM_ROWS = [("immigration", "Removal"), ("af", "Aggravated felony"), ("detention", "Mandatory detention"),
               ("relief", "Relief"), ("work", "Work and licenses"), ("money", "Money owed"), ("custody", "Custody")]
