"""Cache keys of tasks: seeds derived from names, fingerprints of the code a stage runs.

A task's key hashes the config subsection it depends on, the keys of its upstream results, the
library version and the source of the modules its stage runs (``stages.STAGE_CODE``, followed
through their imports), so editing code invalidates exactly the results it computed.
"""

from __future__ import annotations

from pathlib import Path

from maxent import __version__
from maxent.pipeline.config import stable_hash

#: bump when the pipeline changes how results are computed (task inputs, splits, seeds): it is
#: part of every cache key, as is the code of the library modules a stage uses (STAGE_CODE)
PIPELINE_LOGIC_VERSION = 1

__all__ = ["task_seed", "code_fingerprint", "code_closure", "PIPELINE_LOGIC_VERSION"]


def task_seed(*parts: object) -> int:
    """A 32-bit seed determined by ``parts`` only (stable across runs, orders and backends)."""
    return int(stable_hash(list(parts), 8), 16)


_PKG_DIR = Path(__file__).resolve().parents[1]  # the maxent package
_CODE_CACHE: dict[tuple[str, ...], str] = {}


def _module_file(name: str) -> Path | None:
    """Source file of a maxent module name (package -> its __init__.py), or None."""
    parts = name.split(".")
    if parts[0] != "maxent":
        return None
    base = _PKG_DIR.joinpath(*parts[1:])
    for cand in (base.with_suffix(".py"), base / "__init__.py"):
        if cand.is_file():
            return cand
    return None


def _maxent_imports(path: Path, name: str) -> set[str]:
    """maxent modules imported in a source file (top level and inside functions; imports under
    ``if TYPE_CHECKING:`` are skipped, they never run)."""
    import ast

    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()

    def type_checking(node: ast.AST) -> bool:
        test = getattr(node, "test", None)
        return isinstance(node, ast.If) and (
            (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING")
            or (isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")
        )

    todo: list[ast.AST] = [tree]
    while todo:
        node = todo.pop()
        if type_checking(node):
            todo.extend(node.orelse)  # type: ignore[attr-defined]
            continue
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.split(".")[0] == "maxent")
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                mod = ".".join(base + ([node.module] if node.module else []))
            else:
                mod = node.module or ""
            if mod.split(".")[0] == "maxent":
                found.add(mod)
                found.update(f"{mod}.{a.name}" for a in node.names)  # submodules imported by name
        todo.extend(ast.iter_child_nodes(node))
    return found


def code_closure(modules: tuple[str, ...]) -> list[Path]:
    """Source files of ``modules`` and of every maxent module they import, transitively."""
    seen: dict[str, Path] = {}
    todo = list(modules)
    while todo:
        name = todo.pop()
        path = _module_file(name)
        if path is None or name in seen:
            continue
        seen[name] = path
        parent = name.rpartition(".")[0]
        if parent:  # importing a submodule runs its packages' __init__ too
            todo.append(parent)
        todo.extend(_maxent_imports(path, name))
    return sorted(set(seen.values()))


def code_fingerprint(modules: tuple[str, ...]) -> str:
    """Hash of the version and the source of ``modules`` and of every maxent module they import
    (a stage declares its modules: :data:`maxent.pipeline.stages.STAGE_CODE`)."""
    modules = tuple(modules)
    if modules not in _CODE_CACHE:
        import hashlib

        h = hashlib.sha256(__version__.encode())
        for path in code_closure(modules):
            h.update(path.relative_to(_PKG_DIR).as_posix().encode())
            h.update(path.read_bytes())
        _CODE_CACHE[modules] = h.hexdigest()[:16]
    return _CODE_CACHE[modules]
