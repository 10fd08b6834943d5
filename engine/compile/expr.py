"""Arithmetic expressions in rule packs (amounts and derived facts): data, never code.

Forms: a number; {fact: PATH}; {param: NAME}; {add: [e, ...]}; {sub: [a, b]}; {mul: [e, ...]};
{div: [a, b]}; {min: [e, ...]}; {max: [e, ...]}; {round_up: [e, step]} (up to a multiple of step: "$1 for
every $10 or part of $10"); {round_down: [e, step]}; {round: [e, places]} (half up);
{sum: e, over: option_counts | all_counts} (option scope only: e summed over the counts).
Money and rates are computed with Decimal. A fact that is unknown makes the whole value unknown (None).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_UP, Decimal
from typing import Any, Optional

OPS_N = ("add", "mul", "min", "max")
OPS_2 = ("sub", "div", "round_up", "round_down", "round")


@dataclass(frozen=True)
class Expr:
    op: str                       # num | fact | param | add | sub | ... | sum
    args: tuple[Any, ...]


def parse(raw: Any, err: Callable[[str], None], facts: set[str], param_value: Callable[[str], Any], scope: str) -> Optional[Expr]:
    """Validate and resolve parameters (as of the compile date). err() is called for each problem."""
    if isinstance(raw, bool):
        err("an amount expression cannot be true/false")
        return None
    if isinstance(raw, (int, float)):
        return Expr("num", (Decimal(str(raw)),))
    if not isinstance(raw, dict) or not raw:
        err(f"expected a number or one of fact, param, {', '.join(OPS_N + OPS_2)}, sum; got {raw!r}")
        return None
    if "sum" in raw:
        over = raw.get("over", "option_counts")
        if scope != "option" or over not in ("option_counts", "all_counts") or set(raw) - {"sum", "over"}:
            err("sum is written {sum: EXPR, over: option_counts | all_counts} in an option-scope rule or derived fact")
            return None
        inner = parse(raw["sum"], err, facts, param_value, "count")
        return Expr("sum", (inner, over)) if inner else None
    if len(raw) != 1:
        err(f"one operator per expression; got {sorted(raw)}")
        return None
    op, val = next(iter(raw.items()))
    if op == "fact":
        if val not in facts:
            from engine.model.errors import nearest
            hint = nearest(str(val), facts)
            err(f"unknown fact '{val}'" + (f" (did you mean '{hint}'?)" if hint else ""))
            return None
        if str(val).startswith("count.") and scope != "count":
            err(f"'{val}' is a count fact; in an option scope use sum")
            return None
        return Expr("fact", (val,))
    if op == "param":
        try:
            v = param_value(str(val))
        except KeyError as exc:
            err(str(exc.args[0]))
            return None
        if isinstance(v, bool) or not isinstance(v, (int, float, str)):
            err(f"parameter '{val}' is not a number")
            return None
        return Expr("num", (Decimal(str(v)),), ) if not isinstance(v, str) else _num_str(v, err)
    if op in OPS_N + OPS_2:
        if not isinstance(val, list) or (op in OPS_2 and len(val) != 2) or (op in OPS_N and len(val) < 2):
            err(f"{op} takes {'two' if op in OPS_2 else 'two or more'} expressions in a list")
            return None
        items = [parse(v, err, facts, param_value, scope) for v in val]
        if any(i is None for i in items):
            return None
        return Expr(op, tuple(items))
    err(f"unknown operator '{op}'")
    return None


def _num_str(v: str, err: Callable[[str], None]) -> Optional[Expr]:
    try:
        return Expr("num", (Decimal(v),))
    except Exception:
        err(f"parameter value '{v}' is not a number")
        return None


def _dec(v: Any) -> Optional[Decimal]:
    if v is None or isinstance(v, (bool, dt.date, list)):
        return None
    return Decimal(str(v))


def evaluate(e: Expr, values: dict[str, Any], counts: list[dict[str, Any]] | None = None) -> Optional[Decimal]:
    if e.op == "num":
        num: Decimal = e.args[0]
        return num
    if e.op == "fact":
        return _dec(values.get(e.args[0]))
    if e.op == "sum":
        inner, over = e.args
        total = Decimal(0)
        for c in counts or []:
            if over == "option_counts" and c.get("count.source") != "option":
                continue
            v = evaluate(inner, {**values, **c})
            if v is None:
                return None
            total += v
        return total
    vals = [evaluate(a, values, counts) for a in e.args]
    if any(v is None for v in vals):
        return None
    xs: list[Decimal] = [v for v in vals if v is not None]
    if e.op == "add":
        return sum(xs, Decimal(0))
    if e.op == "mul":
        out = Decimal(1)
        for x in xs:
            out *= x
        return out
    if e.op == "min":
        return min(xs)
    if e.op == "max":
        return max(xs)
    a, b = xs
    if e.op == "sub":
        return a - b
    if e.op == "div":
        return None if b == 0 else a / b
    if e.op == "round_up":
        return (a / b).to_integral_value(rounding=ROUND_CEILING) * b
    if e.op == "round_down":
        return (a / b).to_integral_value(rounding=ROUND_FLOOR) * b
    if e.op == "round":
        return a.quantize(Decimal(1).scaleb(-int(b)), rounding=ROUND_HALF_UP)
    raise ValueError(e.op)


_SYM = {"add": " + ", "mul": " × ", "sub": " − ", "div": " ÷ "}


def show(e: Expr, values: dict[str, Any], counts: list[dict[str, Any]] | None = None) -> str:
    """The arithmetic with the values filled in, for an attorney to check by hand."""
    if e.op == "num":
        return _fmt(e.args[0])
    if e.op == "fact":
        v = _dec(values.get(e.args[0]))
        return "?" if v is None else _fmt(v)
    if e.op == "sum":
        inner, over = e.args
        parts = [show(inner, {**values, **c}) for c in counts or [] if over == "all_counts" or c.get("count.source") == "option"]
        return "(" + " + ".join(parts) + ")" if len(parts) > 1 else (parts[0] if parts else "0")
    parts = [show(a, values, counts) for a in e.args]
    if e.op in _SYM:
        return "(" + _SYM[e.op].join(parts) + ")"
    if e.op == "round_up":
        return f"{parts[0]} rounded up to a multiple of {parts[1]}"
    if e.op == "round_down":
        return f"{parts[0]} rounded down to a multiple of {parts[1]}"
    return f"{e.op}({', '.join(parts)})"


def _fmt(d: Decimal) -> str:
    return f"{d:,.2f}".rstrip("0").rstrip(".") if d != d.to_integral_value() else f"{d:,.0f}"


def facts_of(e: Expr) -> list[str]:
    if e.op == "fact":
        return [e.args[0]]
    if e.op == "num":
        return []
    if e.op == "sum":
        return facts_of(e.args[0])
    return [p for a in e.args for p in facts_of(a)]
