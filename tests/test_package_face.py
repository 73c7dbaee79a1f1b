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


@pytest.mark.parametrize("package", ["data", "model", "geometry", "stats"])
def test_package_faces_export_their_modules_names_lazily(package):
    face = importlib.import_module(f"maxent.{package}")
    for name in face.__all__:
        obj = getattr(face, name)
        module = getattr(obj, "__module__", None)
        if module is not None and not isinstance(obj, (int, float, str, tuple, dict, list, frozenset)):
            assert module.startswith(("maxent.", "builtins")), (name, module)
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        face.nope  # noqa: B018
    # importing the face imports none of its modules beyond those ``import maxent`` needs (the
    # top-level IsingModel, Moments, WeightSamples): stage code fingerprints stay per module
    code = (
        "import sys, maxent; before = set(sys.modules); "
        f"import maxent.{package}; "
        "print(sorted(m for m in set(sys.modules) - before if m.startswith('maxent')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == f"['maxent.{package}']" or out.strip() == "[]"


def test_face_names_match_the_modules_all():
    from maxent.geometry import entropy_landscape, tap_states
    from maxent.model import ExactMoments, IsingModel, run_bp

    assert entropy_landscape.__module__ == "maxent.geometry.landscape"
    assert tap_states.__module__ == "maxent.model.tap"
    assert (ExactMoments.__module__, IsingModel.__module__, run_bp.__module__) == (
        "maxent.model.enumerate",
        "maxent.model.ising",
        "maxent.model.bp",
    )


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("maxent.ising", "maxent.model.ising"),
        ("maxent.mcmc", "maxent.model.sampling"),
        ("maxent.bp", "maxent.model.bp"),
        ("maxent.io", "maxent.formats"),
        ("maxent.samples", "maxent.data.samples"),
        ("maxent.train", "maxent.data.train"),
        ("maxent.fit.mcmc", "maxent.fit.boltzmann_mcmc"),
    ],
)
def test_old_import_paths_are_deprecated_aliases(old, new):
    code = (
        "import warnings, importlib, sys\n"
        "with warnings.catch_warnings(record=True) as w:\n"
        "    warnings.simplefilter('always')\n"
        f"    old = importlib.import_module({old!r})\n"
        f"print(old is importlib.import_module({new!r}), "
        f"any(issubclass(x.category, DeprecationWarning) and {new!r} in str(x.message) for x in w))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["True", "True"]


def test_stats_exports_its_names_lazily_and_config_stays_light():
    import maxent.stats as stats

    assert stats.column_shuffle.__module__ == "maxent.stats.nulls"
    assert stats.ClaimSettings.__module__ == "maxent.stats.settings"
    # the pipeline config extends ClaimSettings without importing the statistics (scipy.stats)
    code = (
        "import sys, maxent.pipeline.config; "
        "print('maxent.stats.claims' in sys.modules, 'scipy.stats' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False", "False"]
