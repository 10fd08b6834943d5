"""Amounts that turn on an unknown fact: the arithmetic of the result (engine/compile/expr.py `show`, where `?` is the
unknown) is read back and evaluated, so the memo can say what the unknown costs instead of printing `?`."""

from __future__ import annotations

import math
import re
from collections.abc import Callable

Fn = Callable[[float], float]
_TOKEN = re.compile(r"\s*(rounded (?:up|down) to a multiple of|[0-9][0-9,]*(?:\.[0-9]+)?|\?|[()×÷+−,]|[a-z_]+)")


def _tokens(text: str) -> list[str]:
    text = re.sub(r"\s*\(unknown\)\s*$", "", text.strip())
    out: list[str] = []
    pos = 0
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if not m:
            raise ValueError(f"cannot read the arithmetic at {text[pos:]!r}")
        out.append(m.group(1))
        pos = m.end()
    return out


def parse(text: str) -> Fn:
    """`((? rounded up to a multiple of 10 ÷ 10) × 7)` -> a function of the unknown."""
    toks = _tokens(text)
    pos = 0

    def peek() -> str | None:
        return toks[pos] if pos < len(toks) else None

    def take(expected: str | None = None) -> str:
        nonlocal pos
        tok = peek()
        if tok is None or (expected is not None and tok != expected):
            raise ValueError(f"expected {expected or 'more'} in {text!r}")
        pos += 1
        return tok

    def atom() -> Fn:
        tok = take()
        if tok == "?":
            return lambda x: x
        if tok == "(":
            inner = expr()
            take(")")
            return inner
        if tok[0].isdigit():
            v = float(tok.replace(",", ""))
            return lambda x: v
        if tok in ("round", "min", "max"):
            take("(")
            args = [expr()]
            while peek() == ",":
                take(",")
                args.append(expr())
            take(")")
            if tok == "round":
                a, b = args
                return lambda x: round(a(x), int(b(x)))
            pick = min if tok == "min" else max
            return lambda x: pick(f(x) for f in args)
        raise ValueError(f"unexpected {tok!r} in {text!r}")

    def postfix() -> Fn:
        left = atom()
        while peek() in ("rounded up to a multiple of", "rounded down to a multiple of"):
            up = take() == "rounded up to a multiple of"
            step, base = atom(), left
            rnd = math.ceil if up else math.floor
            left = (lambda b, s, r: (lambda x: r(b(x) / s(x)) * s(x)))(base, step, rnd)
        return left

    def expr() -> Fn:
        left = postfix()
        while peek() in ("+", "−", "×", "÷"):
            op = take()
            right = postfix()
            left = (lambda a, b, o: (lambda x: a(x) + b(x) if o == "+" else a(x) - b(x) if o == "−"
                                     else a(x) * b(x) if o == "×" else a(x) / b(x)))(left, right, op)
        return left

    fn = expr()
    if peek() is not None:
        raise ValueError(f"unexpected {peek()!r} in {text!r}")
    return fn


def unknown_function(arithmetic: str | None) -> Fn | None:
    """The amount as a function of its one unknown, or None when the arithmetic cannot be read."""
    if not arithmetic or "?" not in arithmetic:
        return None
    try:
        fn = parse(arithmetic)
        fn(1000.0)
    except (ValueError, ZeroDivisionError, TypeError):
        return None
    return fn


BIG = 1e9


def bounds(fn: Fn) -> tuple[float, float] | None:
    """(least, most) when the amount stays bounded however large the unknown; None when it grows with it."""
    lo, hi = fn(0.0), fn(BIG)
    if abs(hi) >= BIG / 1000:
        return None
    return (min(lo, hi), max(lo, hi))
