"""Lazy package faces (scipy style): ``from maxent.geometry import entropy_landscape`` works, and
``import maxent.geometry`` imports none of its modules until a name is used.

A package lists its modules; the names it exports are those modules' ``__all__``, read from
their source (``ast``, no import) so the face never repeats them by hand. A name in the
``__all__`` of two modules is ambiguous and is not exported (import it from its module). Lazy
imports also keep each pipeline stage's code fingerprint to the modules it really uses.
"""

from __future__ import annotations

import ast
import functools
import importlib
from collections.abc import Callable, Sequence
from pathlib import Path


def module_all(path: Path) -> list[str]:
    """The literal ``__all__`` of a module's source file ([] when it has none)."""
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == "__all__" for t in node.targets
        ):
            return list(ast.literal_eval(node.value))
    return []


def attach(
    package: str, package_file: str, modules: Sequence[str]
) -> tuple[Callable[[str], object], Callable[[], list[str]]]:
    """``(__getattr__, __dir__)`` for ``package`` exporting its ``modules``' names.

    The modules' sources are read on the first lookup of a name the package does not define
    (``__all__`` included), not when the package is imported: ``import maxent`` stays cheap.
    """
    folder = Path(package_file).resolve().parent

    @functools.cache
    def where() -> dict[str, str]:
        owners: dict[str, list[str]] = {}
        for module in modules:
            for name in module_all(folder / f"{module}.py"):
                owners.setdefault(name, []).append(module)
        return {name: mods[0] for name, mods in owners.items() if len(mods) == 1}

    def __getattr__(name: str) -> object:
        if name == "__all__":
            return sorted(where())
        if name in where():
            return getattr(importlib.import_module(f"{package}.{where()[name]}"), name)
        if name in modules:
            return importlib.import_module(f"{package}.{name}")
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    def __dir__() -> list[str]:
        return sorted(set(where()) | set(modules))

    return __getattr__, __dir__
