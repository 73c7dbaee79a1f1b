"""The companion stages in the pipeline: sensitivity and dimension of the trained ensembles."""

from __future__ import annotations

import pandas as pd
import pytest
import yaml
from test_pipeline import TINY  # noqa: I001  (the shared tiny config)

from maxent.pipeline import run_pipeline
from maxent.pipeline.config import ConfigError, config_hash, parse_config
from maxent.pipeline.report_companion import sensitivity_verdicts
from maxent.pipeline.results import Results

COMPANION = {
    **TINY,
    "outputs": {"figures": True, "dpi": 40},
    "sensitivity": {"enabled": True, "levels": [0.9, 0.5], "n_draws": 2, "n_boot": 20},
    "dimension": {"enabled": True, "n_boot": 20},
}


@pytest.fixture(scope="module")
def companion_run(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("companion")
    (tmp / "c.yaml").write_text(yaml.safe_dump(COMPANION, sort_keys=False))
    out = tmp / "out"
    run_pipeline(tmp / "c.yaml", out, progress=False, verbose=False)
    return out


def test_companion_stages_write_tables_figures_and_report(companion_run):
    out = companion_run
    sens = pd.read_csv(out / "tables" / "sensitivity.csv")
    assert list(sens.columns[:2]) == ["setting", "ensemble"]
    assert set(sens["ensemble"]) == {"trained", "shuffled null"}
    assert set(sens["setting"]) == {"deep", "shallow"} and set(sens["perturbation"]) == {"dilution", "flip"}
    assert (sens["ci_low"] <= sens["value"] + 1e-12).all() and (
        sens["value"] <= sens["ci_high"] + 1e-12
    ).all()
    contrasts = pd.read_csv(out / "tables" / "sensitivity_contrasts.csv")
    # the shallow net has one block: nothing to contrast; the deep one compares W2 with W1 and W3
    assert set(contrasts["setting"]) == {"deep"} and set(contrasts["block"]) == {"W1", "W3"}
    dim = pd.read_csv(out / "tables" / "dimension.csv")
    assert set(dim["setting"]) == {"deep"}  # only settings with hidden layers
    assert {"trained", "ising", "independent", "shuffled null"} <= set(dim["source"])
    share = pd.read_csv(out / "tables" / "dimension_share.csv")
    assert list(share["layer"]) == [1, 2, 3]
    for name in ("sensitivity_deep", "sensitivity_deep_null", "sensitivity_shallow", "dimension_deep"):
        assert (out / "figures" / f"{name}.png").stat().st_size > 1000
    report = (out / "report.md").read_text()
    assert "## Sensitivity to dilution and sign flips" in report and "inferred" in report
    assert "## Dimension of hidden representations" in report
    # the report is a function of the folder's results, companion sections included
    from maxent.pipeline.report import render_report

    assert render_report(Results.load(out)) == report


def test_sensitivity_is_stated_only_when_resolved_everywhere_and_not_by_the_null():
    def rows(ensemble, diffs, excl):
        return [
            {"setting": "s", "perturbation": "dilution", "reference": "W2", "block": "W1", "rho": r,
             "metric": "agreement", "difference": d, "excludes_zero": e, "ensemble": ensemble}
            for r, d, e in zip((0.9, 0.5), diffs, excl, strict=True)
        ]  # fmt: skip

    resolved = rows("trained", (0.02, 0.05), (True, True))
    v = sensitivity_verdicts(pd.DataFrame(resolved + rows("shuffled null", (0.01, 0.0), (False, False))))
    assert v["stated"].tolist() == [True] and v["less"].tolist() == [2]
    # the null shows the same ordering at one level: not stated
    v = sensitivity_verdicts(pd.DataFrame(resolved + rows("shuffled null", (0.01, 0.04), (False, True))))
    assert v["stated"].tolist() == [False] and v["null_less"].tolist() == [1]
    # resolved at one level only: not stated; without a null: never stated
    half = rows("trained", (0.02, 0.05), (False, True))
    assert not sensitivity_verdicts(pd.DataFrame(half + rows("shuffled null", (0, 0), (False, False))))[
        "stated"
    ].any()
    assert not sensitivity_verdicts(pd.DataFrame(resolved))["stated"].any()
    # more sensitive is counted, never stated as less
    worse = rows("trained", (-0.02, -0.05), (True, True))
    v = sensitivity_verdicts(pd.DataFrame(worse + rows("shuffled null", (0, 0), (False, False))))
    assert v["more"].tolist() == [2] and not v["stated"].any()


def test_companion_config_checks_and_hash():
    base = parse_config(TINY)
    # disabled (the default) companion sections leave a config's identity unchanged
    assert config_hash(
        parse_config({**TINY, "sensitivity": {"enabled": False, "n_boot": 50}})
    ) == config_hash(base)
    assert config_hash(parse_config(COMPANION)) != config_hash(base)
    with pytest.raises(ConfigError, match=r"sensitivity\.levels"):
        parse_config({**TINY, "sensitivity": {"enabled": True, "levels": [1.5]}})
    with pytest.raises(ConfigError, match=r"sensitivity\.max_networks"):
        parse_config({**TINY, "sensitivity": {"enabled": True, "max_networks": 3}})
    with pytest.raises(ConfigError, match=r"dimension\.n_boot"):
        parse_config({**TINY, "dimension": {"enabled": True, "n_boot": 1}})


def test_large_ensembles_are_subsampled_with_their_run_ids():
    import numpy as np

    from maxent.data.samples import WeightSamples
    from maxent.pipeline.companion import _at_most

    rng = np.random.default_rng(0)
    spins = rng.choice(np.array([-1, 1], dtype=np.int8), size=(50, 10))
    smp = WeightSamples(spins, (3, 2, 2), np.full(50, 0.5), np.full(50, 0.5), np.repeat(np.arange(10), 5), {})
    assert _at_most(smp, 100, seed=1) is smp
    sub = _at_most(smp, 20, seed=1)
    assert sub.n_samples == 20 and len(np.unique(sub.run)) > 1
    # the rows kept are rows of the original, each with its own run id
    rows = [
        int(np.flatnonzero((spins == s).all(axis=1) & (smp.run == r))[0])
        for s, r in zip(sub.spins, sub.run, strict=True)
    ]
    assert len(set(rows)) == 20
    assert _at_most(smp, 20, seed=1).spins.tobytes() == sub.spins.tobytes()  # deterministic


def test_results_load_refuses_a_corrupt_run_state(companion_run, tmp_path):
    import shutil

    out = tmp_path / "copy"
    shutil.copytree(companion_run, out, ignore=shutil.ignore_patterns(".cache"))
    assert Results.load(out).config_hash  # the recorded hash travels with the results
    (out / ".maxent" / "results.json").write_text("{not json")
    with pytest.raises(ValueError, match="corrupt run state"):
        Results.load(out)
    (out / ".maxent" / "run.json").unlink()
    with pytest.raises(FileNotFoundError, match="no maxent run"):
        Results.load(out)
