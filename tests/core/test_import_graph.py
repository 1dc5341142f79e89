"""The import graph of the source tree: data flows one way and no module imports itself back.

Read from the sources (every ``import`` anywhere in a module: function-level and ``if TYPE_CHECKING:``
ones included, only the ``if __name__ == "__main__":`` block left out), with the folder -> package
map of setup.cfg, so a cycle hidden behind a local or a type-only import counts too.
"""

from __future__ import annotations

import ast
import configparser
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

#: Layers: a module may import its own layer or a lower one (architecture.md's one direction).
LAYERS = (("fdpose.cli", 5), ("fdpose.demo", 5), ("fdpose.__main__", 5), ("fdpose.synth", 4),
          ("fdpose.aqa_model", 4), ("fdpose.pipelines", 3), ("fdpose.hrnet_finetune", 2), ("fdpose.annotations", 1))

#: No cycle is left (the last, tracking/ camera <-> tracklets, went with tracking/borders.py); the
#: tuple stays for the test's form: a cycle must lie inside one of these to pass, and nothing may join.
KNOWN_CYCLES: tuple[frozenset[str], ...] = ()


def package_dirs() -> dict[str, Path]:
    cfg = configparser.ConfigParser()
    cfg.read(REPO / "setup.cfg")
    lines = [ln.strip() for ln in cfg["options"]["package_dir"].splitlines() if ln.strip()]
    return {pkg.strip(): REPO / folder.strip() for pkg, folder in (ln.split("=") for ln in lines)}


def modules() -> dict[str, Path]:
    dirs = package_dirs()
    out: dict[str, Path] = {}
    for pkg, folder in dirs.items():
        for f in folder.rglob("*.py"):
            rel = f.relative_to(folder).with_suffix("").parts
            if "configs" in rel:  # mmengine config files, read by path
                continue
            parts = rel[:-1] if rel[-1] == "__init__" else rel
            name = ".".join((pkg, *parts))
            if pkg == "fdpose" and parts and f"fdpose.{parts[0]}" in dirs:
                continue  # a stage folder mapped elsewhere
            out[name] = f
    return out


def _skipped(node: ast.AST) -> bool:
    if not isinstance(node, ast.If):
        return False
    test = ast.unparse(node.test)
    return test.replace("'", '"') == '__name__ == "__main__"'


def imports_of(path: Path, known: dict[str, Path]) -> set[str]:
    deps: set[str] = set()

    def visit(node: ast.AST) -> None:
        for child in ast.iter_child_nodes(node):
            if _skipped(child):
                continue
            if isinstance(child, ast.Import):
                deps.update(a.name for a in child.names)
            elif isinstance(child, ast.ImportFrom) and child.module and child.level == 0:
                for a in child.names:  # "from pkg import module" depends on the module, not the package
                    sub = f"{child.module}.{a.name}"
                    deps.add(sub if sub in known else child.module)
            visit(child)

    visit(ast.parse(path.read_text(encoding="utf-8")))
    return {d for d in deps if d in known}


def import_graph() -> dict[str, set[str]]:
    known = modules()
    return {name: imports_of(path, known) - {name} for name, path in known.items()}


def cycles(graph: dict[str, set[str]]) -> list[set[str]]:
    """Strongly connected components with more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[set[str]] = []
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            v, it = work[-1]
            w = next(it, None)
            if w is not None:
                if w not in index:
                    index[w] = low[w] = len(index)
                    stack.append(w)
                    on_stack.add(w)
                    work.append((w, iter(sorted(graph[w]))))
                elif w in on_stack:
                    low[v] = min(low[v], index[w])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[v])
            if low[v] == index[v]:
                comp = set()
                while True:
                    w = stack.pop()
                    on_stack.discard(w)
                    comp.add(w)
                    if w == v:
                        break
                if len(comp) > 1:
                    found.append(comp)
    return found


def layer(module: str) -> int:
    for prefix, rank in LAYERS:
        if module == prefix or module.startswith(prefix + "."):
            return rank
    return 0  # the core floor: fdpose.io, errors, skeleton, metrics, video, progress, ...


def test_the_analysis_sees_modules_and_local_imports() -> None:
    graph = import_graph()
    assert len(graph) > 100
    assert "fdpose.video" in graph["fdpose.pipelines.frames"]
    # main registers the commands through a function-level import: still an edge
    assert "fdpose.cli.track" in graph["fdpose.cli.main"]
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [{"a", "b", "c"}]


def test_local_and_type_only_imports_count(tmp_path: Path) -> None:
    src = tmp_path / "m.py"
    src.write_text("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from fdpose.io import read_json\n"
                   "def f():\n    import fdpose.errors\n"
                   "if __name__ == '__main__':\n    from fdpose.cli.main import main\n")
    known = {"fdpose.io": src, "fdpose.errors": src, "fdpose.cli.main": src}
    assert imports_of(src, known) == {"fdpose.io", "fdpose.errors"}


def test_no_import_cycles() -> None:
    bad = [sorted(c) for c in cycles(import_graph()) if not any(c <= known for known in KNOWN_CYCLES)]
    assert bad == []


def test_no_stage_imports_a_later_stage() -> None:
    graph = import_graph()
    upward = sorted(f"{m} -> {d}" for m, deps in graph.items() for d in deps if layer(d) > layer(m))
    assert upward == []


def test_the_aqa_stage_imports_no_pipeline_module() -> None:
    """The AQA stage reads the files the pipeline wrote (pose .npz by its own reader); the run of the
    pipeline and the reader of its clip JSON are handed in from above (fdpose.cli.score_pose)."""
    graph = import_graph()
    reaching = sorted(f"{m} -> {d}" for m, deps in graph.items() if m.startswith("fdpose.aqa_model")
                      for d in deps if d == "fdpose.pipelines" or d.startswith("fdpose.pipelines."))
    assert reaching == []
    # the score command's pose step and the clip JSON reader live above the stages
    assert {"fdpose.pipelines.runner", "fdpose.pipelines.clip_json"} <= graph["fdpose.cli.score_pose"]
