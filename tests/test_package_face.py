"""The package face: submodules reachable from ``maxent``, names exported by subpackages."""

from __future__ import annotations

import importlib
import subprocess
import sys

import pytest

import maxent


def test_submodules_are_attributes_of_the_package():
    for name in sorted(maxent.SUBMODULES):
        assert getattr(maxent, name) is importlib.import_module(f"maxent.{name}")
    assert maxent.fit.PseudoLikelihood.__name__ == "PseudoLikelihood"
    assert set(maxent.SUBMODULES) <= set(dir(maxent))
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        maxent.nope  # noqa: B018


def test_geometry_exports_its_functions_lazily():
    import maxent.geometry as geometry

    for name in geometry.__all__:
        obj = getattr(geometry, name)
        assert obj.__name__ == name and obj.__module__.startswith("maxent.geometry.")
    with pytest.raises(AttributeError):
        geometry.nope  # noqa: B018
    # the lazy table repeats each module's __all__ (it cannot import them to read it): keep in sync
    for module, names in geometry._EXPORTS.items():
        mod = importlib.import_module(f"maxent.geometry.{module}")
        assert set(names) == set(mod.__all__) - {"COLUMNS"}, module
    # importing the package face imports no geometry module (stage code fingerprints stay per module)
    code = "import sys, maxent.geometry; print(any(m.startswith('maxent.geometry.') for m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"


def test_stats_exports_its_names_lazily_and_config_stays_light():
    import maxent.stats as stats

    for name in stats.__all__:
        assert getattr(stats, name) is getattr(
            importlib.import_module(f"maxent.stats.{stats._WHERE[name]}"), name
        )
    with pytest.raises(AttributeError):
        stats.nope  # noqa: B018
    # the pipeline config extends ClaimSettings without importing the statistics (scipy.stats)
    code = (
        "import sys, maxent.config; print('maxent.stats.claims' in sys.modules, 'scipy.stats' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False", "False"]
