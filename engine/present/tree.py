"""The rendered HTML of a memo or letter, read back into a small tree of the elements our templates use.

The HTML template is the single source of every document: Markdown and DOCX are written from this tree, PDF
from the HTML itself, so each format carries the same content. Text nodes hold plain text (character
references resolved); each writer escapes it for its own format."""

from __future__ import annotations

from dataclasses import dataclass, field
from html.parser import HTMLParser

VOID = {"br", "hr", "meta", "link", "img", "input", "col", "wbr"}
SKIP = {"style", "script", "head", "title", "template"}


@dataclass
class Node:
    tag: str
    attrs: dict[str, str] = field(default_factory=dict)
    children: list[Node | str] = field(default_factory=list)

    @property
    def classes(self) -> set[str]:
        return set(self.attrs.get("class", "").split())

    def elements(self) -> list[Node]:
        return [c for c in self.children if isinstance(c, Node)]

    def text(self) -> str:
        """All text inside, whitespace collapsed."""
        parts: list[str] = []

        def walk(n: Node) -> None:
            for c in n.children:
                if isinstance(c, str):
                    parts.append(c)
                elif c.tag == "br":
                    parts.append(" ")
                else:
                    walk(c)
        walk(self)
        return " ".join("".join(parts).split())

    def find_all(self, tag: str) -> list[Node]:
        out: list[Node] = []
        for c in self.elements():
            if c.tag == tag:
                out.append(c)
            out.extend(c.find_all(tag))
        return out


class _Builder(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = Node("root")
        self.stack = [self.root]
        self.skipping = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in SKIP:
            self.skipping += 1
            return
        if self.skipping:
            return
        node = Node(tag, {k: v or "" for k, v in attrs})
        self.stack[-1].children.append(node)
        if tag not in VOID:
            self.stack.append(node)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in SKIP or self.skipping:
            return
        self.stack[-1].children.append(Node(tag, {k: v or "" for k, v in attrs}))

    def handle_endtag(self, tag: str) -> None:
        if tag in SKIP:
            self.skipping = max(0, self.skipping - 1)
            return
        if self.skipping or tag in VOID:
            return
        for i in range(len(self.stack) - 1, 0, -1):
            if self.stack[i].tag == tag:
                del self.stack[i:]
                return

    def handle_data(self, data: str) -> None:
        if not self.skipping:
            self.stack[-1].children.append(data)


def parse(html: str) -> Node:
    """The <body> of the document (or everything, for a fragment)."""
    b = _Builder()
    b.feed(html)
    b.close()
    bodies = b.root.find_all("body")
    return bodies[0] if bodies else b.root
