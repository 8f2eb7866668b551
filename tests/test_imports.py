"""The layering of ``mmae/__init__.py`` is true: every import of every module (those inside
functions too: a lazy import is still an edge) points to a lower layer, and no import cycle
closes between modules. The layers are read from :data:`mmae.LAYERS`."""
import ast
from pathlib import Path

import pytest

import mmae

PACKAGE = Path(mmae.__file__).parent
LAYER = {name: i for i, names in enumerate(mmae.LAYERS) for name in names}


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def is_module(name: str) -> bool:
    path = PACKAGE.parent.joinpath(*name.split("."))
    return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()


def imported(node: ast.AST, here: str, is_package: bool) -> list[str]:
    """The ``mmae`` modules that ``node`` imports: ``import a.b``, ``from a import b`` (module b or
    module a), relative imports, and ``import_module("a.b")`` / ``__import__("a.b")`` of a literal."""
    if isinstance(node, ast.Import):
        return [a.name for a in node.names]
    if isinstance(node, ast.ImportFrom):
        base = node.module or ""
        if node.level:
            parts = here.split(".") if is_package else here.split(".")[:-1]
            base = ".".join(parts[:len(parts) - node.level + 1] + ([node.module] if node.module else []))
        subs = [f"{base}.{a.name}" for a in node.names if is_module(f"{base}.{a.name}")]
        return subs if len(subs) == len(node.names) else [base, *subs]
    if (isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
            and getattr(node.func, "id", getattr(node.func, "attr", None)) in ("import_module", "__import__")):
        return [node.args[0].value]
    return []


def edges() -> list[tuple[str, str, str]]:
    """(importing module, imported module, where) for every import of an ``mmae`` module."""
    out = []
    for path in sorted(PACKAGE.rglob("*.py")):
        here = module_name(path)
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            for name in imported(node, here, path.name == "__init__.py"):
                if name.startswith("mmae.") and name != here:
                    out.append((here, name, f"{path.relative_to(PACKAGE.parent)}:{node.lineno}"))
    return out


def part(module: str) -> str:
    """The sub-package or top-level module a module belongs to: mmae.study.zoo -> study."""
    return module.split(".")[1]


def test_every_part_of_the_package_has_a_layer():
    parts = {p.stem for p in PACKAGE.glob("*.py") if p.name != "__init__.py"}
    parts |= {p.parent.name for p in PACKAGE.glob("*/__init__.py")}
    assert parts - set(LAYER) == set(), "these parts of mmae are in no layer of mmae.LAYERS"
    assert set(LAYER) - parts == set(), "mmae.LAYERS names parts that do not exist"


def not_downwards(found: list[tuple[str, str, str]]) -> list[str]:
    """A sentence for every edge that does not run to a lower layer."""
    wrong = []
    for source, target, where in found:
        a, b = part(source), part(target)
        if a != b and LAYER[b] >= LAYER[a]:
            side = "beside" if LAYER[b] == LAYER[a] else "above"
            wrong.append(f"{where}: {source} imports {target}, but {b} (layer {LAYER[b]}) is {side} "
                         f"{a} (layer {LAYER[a]})")
    return wrong


def test_imports_run_only_downwards():
    wrong = not_downwards(edges())
    assert not wrong, "imports that do not run downwards (see mmae.LAYERS):\n" + "\n".join(wrong)


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan's algorithm)."""
    index, low, stack, on_stack, found = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while not component or component[-1] != v:
                component.append(stack.pop())
                on_stack.discard(component[-1])
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_no_import_cycle_between_modules():
    graph, where = {}, {}
    for source, target, at in edges():
        graph.setdefault(source, set()).add(target)
        where.setdefault((source, target), at)
    found = cycles(graph)
    lines = [f"{' <-> '.join(c)}: " + ", ".join(f"{where[s, t]} imports {t}" for s in c for t in sorted(graph[s])
                                                 if t in c) for c in found]
    assert not found, "import cycles (a lazy import still closes one):\n" + "\n".join(lines)


@pytest.mark.parametrize("code, expected", [
    ("from mmae.data import sets", ["mmae.data.sets"]),
    ("from mmae.data import load_features", ["mmae.data"]),
    ("from . import bundle", ["mmae.data.bundle"]),
    ("import mmae.media.show", ["mmae.media.show"]),
    ("import_module('mmae.report.plots')", ["mmae.report.plots"]),
])
def test_the_reader_of_imports_sees_every_form(code, expected):
    node = ast.parse(code).body[0]
    node = node.value if isinstance(node, ast.Expr) else node
    assert imported(node, "mmae.data.sets", False) == expected


def test_an_upward_or_sideways_edge_is_named_with_its_layers():
    found = [("mmae.data.sets", "mmae.media.show", "mmae/data/sets.py:9"),
             ("mmae.training.loop", "mmae.evaluation.probe", "mmae/training/loop.py:3"),
             ("mmae.report.plots", "mmae.atomic", "mmae/report/plots.py:14"),
             ("mmae.study.zoo", "mmae.study.tuning", "mmae/study/zoo.py:20")]
    up, side = not_downwards(found)
    assert up == (f"mmae/data/sets.py:9: mmae.data.sets imports mmae.media.show, but media (layer {LAYER['media']}) "
                  f"is above data (layer {LAYER['data']})")
    assert side.startswith("mmae/training/loop.py:3: mmae.training.loop imports mmae.evaluation.probe") and "beside" in side


def test_a_cycle_is_found_and_a_chain_is_not():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": {"c"}, "d": {"a", "c"}}) == []
