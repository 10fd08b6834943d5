"""Named conditions in a rules file: a `conditions:` section and `{use: NAME}` in a rule's `when`
(docs/rule-authoring.md §9), expanded when the pack is loaded."""

from __future__ import annotations

import copy
from typing import Any

from engine.model.errors import Problem, nearest
from engine.model.yamlsrc import Located


def expand_uses(src: Located, problems: list[Problem]) -> Any:
    """The data of a rules file with every `{use: NAME}` replaced by the file's `conditions: NAME` (a copy: the
    loaded file is left as it is). A name may use another; an unknown name or a cycle is a problem with its line."""
    data = src.data
    if not isinstance(data, dict) or ("conditions" not in data and not _has_use(data.get("rules"))):
        return data
    named = data.get("conditions")
    if named is None:
        named = {}
    if not isinstance(named, dict):
        problems.append(Problem(src.file, src.line(("conditions",)), "conditions",
                                "expected a mapping of names to conditions"))
        return data

    cycles: set[frozenset[str]] = set()

    def expand(c: Any, loc: tuple[Any, ...], field: str, stack: tuple[str, ...]) -> Any:
        if isinstance(c, list):
            return [expand(x, loc + (i,), field, stack) for i, x in enumerate(c)]
        if not isinstance(c, dict):
            return c
        if "use" in c:
            name = c["use"]
            where = field + _suffix(loc[3:] if loc[:1] == ("rules",) else loc[2:])
            if len(c) != 1:
                problems.append(Problem(src.file, src.line(loc), where, "'use' takes a condition name and nothing beside it"))
                return c
            if not isinstance(name, str) or name not in named:
                problems.append(Problem(src.file, src.line(loc + ("use",)), where,
                                        f"unknown condition name '{name}'; this file's conditions: "
                                        f"{', '.join(sorted(named)) or 'none'}", nearest(str(name), list(named))))
                return c
            if name in stack:
                members = stack[stack.index(name):]
                if frozenset(members) not in cycles:   # one report per cycle
                    cycles.add(frozenset(members))
                    ring = " -> ".join(members + (name,))
                    problems.append(Problem(src.file, src.line(("conditions", name)), f"conditions.{name}",
                                            f"named conditions use each other in a cycle: {ring}"))
                return c
            return expand(copy.deepcopy(named[name]), ("conditions", name), f"conditions.{name}", stack + (name,))
        return {k: expand(v, loc + (k,), field, stack) for k, v in c.items()}

    out = dict(data)
    rules = data.get("rules")
    if isinstance(rules, list):
        new_rules = []
        for i, r in enumerate(rules):
            if isinstance(r, dict) and "when" in r:
                rid = r.get("id", f"rules[{i}]")
                r = {**r, "when": expand(r["when"], ("rules", i, "when"), f"{rid}: when", ())}
            new_rules.append(r)
        out["rules"] = new_rules
    for name, c in named.items():   # report problems inside conditions no rule uses, too
        expand(c, ("conditions", name), f"conditions.{name}", (str(name),))
    return out


def _suffix(loc: tuple[Any, ...]) -> str:
    return "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in loc)


def _has_use(v: Any) -> bool:
    if isinstance(v, dict):
        return "use" in v or any(_has_use(x) for x in v.values())
    if isinstance(v, list):
        return any(_has_use(x) for x in v)
    return False
