"""Markdown from the rendered HTML tree. Every text node is escaped here: Markdown and HTML punctuation
(`|`, `*`, `_`, `<`, `#`, ...) gets a backslash, newlines become spaces, and a block never starts with
something Markdown would read as a heading, list or quote. Text in the case file cannot make structure."""

from __future__ import annotations

import re

from engine.present.tree import Node, parse

HEADINGS = {f"h{i}": i for i in range(1, 7)}
BLOCKS = {"p", "ul", "ol", "table", "div", "section", "header", "footer", "main", "article", "hr", "blockquote",
          "nav", "aside", "dl", "figure"} | set(HEADINGS)
_PUNCT = re.compile(r"([\\`*_\[\]<>|#~&])")
_LEADING = re.compile(r"^(\d+)([.)])")


def escape(text: str) -> str:
    """Plain text -> Markdown text that shows exactly that text (whitespace collapsed)."""
    return _PUNCT.sub(r"\\\1", " ".join(text.split()))


def _guard_start(line: str) -> str:
    if line and line[0] in "-+=":   # a list item or a setext underline; '>' and '#' are escaped already
        return "\\" + line
    return _LEADING.sub(r"\1\\\2", line, count=1)


def _code(text: str) -> str:
    text = " ".join(text.split())
    ticks = max((len(m) for m in re.findall(r"`+", text)), default=0) + 1
    fence = "`" * ticks
    pad = " " if text.startswith("`") or text.endswith("`") or ticks > 1 else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def inline(children: list[Node | str]) -> str:
    out: list[str] = []
    for c in children:
        if isinstance(c, str):
            out.append(escape(c) if c.strip() else " ")
            if c.strip():
                if c[:1].isspace():
                    out[-1] = " " + out[-1]
                if c[-1:].isspace():
                    out[-1] += " "
            continue
        if c.tag == "br":
            out.append(" ")
        elif c.tag == "code":
            out.append(_code(c.text()))
        elif c.tag in ("strong", "b", "em", "i"):
            inner = inline(c.children)
            mark = "**" if c.tag in ("strong", "b") else "*"
            core = inner.strip()
            if core:
                lead = " " if inner[:1] == " " else ""
                trail = " " if inner[-1:] == " " else ""
                out.append(f"{lead}{mark}{core}{mark}{trail}")
        elif c.tag in BLOCKS or c.tag == "li":
            out.append(" " + inline(c.children) + " ")
        else:   # span, a, small, sup, ...: their text
            out.append(inline(c.children))
    return re.sub(r" {2,}", " ", "".join(out))


def _table(t: Node) -> str:
    rows: list[list[str]] = []
    header: list[str] | None = None
    for tr in t.find_all("tr"):
        cells = [c for c in tr.elements() if c.tag in ("td", "th")]
        texts = [inline(c.children).strip() or " " for c in cells]
        if header is None and cells and all(c.tag == "th" for c in cells):
            header = texts
        else:
            rows.append(texts)
    if header is None:
        header, rows = (rows[0], rows[1:]) if rows else ([" "], [])
    width = max([len(header)] + [len(r) for r in rows])
    lines = ["| " + " | ".join(header + [" "] * (width - len(header))) + " |",
             "|" + "---|" * width]
    lines += ["| " + " | ".join(r + [" "] * (width - len(r))) + " |" for r in rows]
    return "\n".join(lines)


def _list(node: Node, depth: int) -> str:
    lines: list[str] = []
    ordered = node.tag == "ol"
    for i, li in enumerate((c for c in node.elements() if c.tag == "li"), start=1):
        marker = f"{i}." if ordered else "-"
        if "todo" in li.classes:
            marker += " [ ]"
        text_parts = [c for c in li.children if not (isinstance(c, Node) and c.tag in ("ul", "ol"))]
        text = _guard_start(inline(text_parts).strip())
        lines.append("  " * depth + f"{marker} {text}".rstrip())
        for sub in li.elements():
            if sub.tag in ("ul", "ol"):
                lines.append(_list(sub, depth + 1))
    return "\n".join(lines)


def blocks(node: Node, depth: int = 0) -> list[str]:
    out: list[str] = []
    pending: list[Node | str] = []

    def flush() -> None:
        text = inline(pending).strip()
        if text:
            out.append(_guard_start(text))
        pending.clear()

    for c in node.children:
        if isinstance(c, str) or c.tag not in BLOCKS:
            pending.append(c)
            continue
        flush()
        if "page-break" in c.classes or "screen-only" in c.classes:
            continue
        if c.tag in HEADINGS:
            text = inline(c.children).strip()
            if text:
                out.append("#" * HEADINGS[c.tag] + " " + text)
        elif c.tag == "p":
            text = inline(c.children).strip()
            if text:
                out.append(_guard_start(text))
        elif c.tag in ("ul", "ol"):
            if c.elements():
                out.append(_list(c, 0))
        elif c.tag == "table":
            out.append(_table(c))
        elif c.tag == "hr":
            out.append("---")
        elif c.tag == "blockquote":
            out.extend("> " + b.replace("\n", "\n> ") for b in blocks(c, depth + 1))
        else:
            out.extend(blocks(c, depth + 1))
    flush()
    return out


def to_markdown(html: str) -> str:
    return "\n\n".join(blocks(parse(html))) + "\n"
