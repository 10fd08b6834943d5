"""The folder shows the architecture: engine/ has one subpackage per phase, and a lower phase never imports a
higher one (docs/engine.md, "Layout"); only engine/run/durable_engine.py touches durable_rules."""

from __future__ import annotations

import ast
from pathlib import Path

ENGINE = Path(__file__).resolve().parent.parent / "engine"
LAYERS = ["model", "law", "compile", "run", "explain", "present", "review", "author", "batch", "serve"]


def _imports(path: Path) -> list[tuple[int, str]]:
    out = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.ImportFrom) and node.module:
            if node.level:   # relative: resolve against the module's package
                base = path.relative_to(ENGINE.parent).with_suffix("").parts[:-node.level]
                out.append((node.lineno, ".".join([*base, node.module])))
            else:
                out.append((node.lineno, node.module))
        elif isinstance(node, ast.Import):
            out.extend((node.lineno, a.name) for a in node.names)
    return out


def _layer(module: str) -> int | None:
    parts = module.split(".")
    return LAYERS.index(parts[1]) if len(parts) > 1 and parts[0] == "engine" and parts[1] in LAYERS else None


def test_every_engine_module_lives_in_a_phase_subpackage() -> None:
    loose = sorted(p.name for p in ENGINE.glob("*.py") if p.name != "__init__.py")
    assert loose == []
    assert sorted(p.name for p in ENGINE.iterdir() if p.is_dir() and (p / "__init__.py").exists()) == sorted(LAYERS)


def test_no_phase_imports_a_higher_one() -> None:
    upward = []
    for path in sorted(ENGINE.rglob("*.py")):
        rel = path.relative_to(ENGINE)
        if len(rel.parts) < 2:
            continue
        own = LAYERS.index(rel.parts[0])
        for line, module in _imports(path):
            layer = _layer(module)
            if layer is not None and layer > own:
                upward.append(f"engine/{rel}:{line} ({rel.parts[0]}) imports {module} ({LAYERS[layer]})")
    assert upward == []


def test_only_the_run_phase_touches_durable_rules() -> None:
    users = sorted(str(p.relative_to(ENGINE)) for p in ENGINE.rglob("*.py")
                   if any(m.split(".")[0] in ("durable", "durable_rules_engine") for _, m in _imports(p)))
    assert users == ["run/durable_engine.py"]
