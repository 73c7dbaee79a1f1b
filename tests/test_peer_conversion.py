"""Exact checks of the peer-parameter conversions in benchmarks/peers/convert.py.

The conversions are checked by enumeration of all 2^10 states: a conversion is right when the
converted Ising log-weights equal the original parametrization's log-weights up to one constant
(the log Z difference), i.e. when the log-probability differences of all states agree. The
Ising side is evaluated with maxent's own IsingModel (an independent implementation).

The last tests run the peers' own energy functions in their virtual environments
(benchmarks/.peers/, made by benchmarks/peers/setup_peers.sh) and skip when those are absent.
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
from pathlib import Path

import numpy as np
import pytest

from maxent.model.ising import IsingModel

ROOT = Path(__file__).resolve().parents[1]
PEERS = ROOT / "benchmarks" / "peers"
_spec = importlib.util.spec_from_file_location("peer_convert", PEERS / "convert.py")
convert = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(convert)

N = 10


def _log_prob(logw: np.ndarray) -> np.ndarray:
    return logw - np.logaddexp.reduce(logw)


def _random_potts(rng: np.random.Generator, L: int, scale: float = 0.7) -> tuple[np.ndarray, np.ndarray]:
    """Random q=2 Potts parameters in no particular gauge: non-symmetric couplings, non-zero
    diagonal blocks -- the hardest case for the conversion."""
    return rng.normal(0, scale, size=(L, 2)), rng.normal(0, scale, size=(L, 2, L, 2))


def test_potts_log_weights_matches_explicit_double_sum():
    """The vectorized Potts energy equals the literal definition -E = sum h_i(a_i) + 1/2 sum_{i,j} J."""
    rng = np.random.default_rng(0)
    L = 4
    bias, coupling = _random_potts(rng, L)
    A = rng.integers(0, 2, size=(7, L))
    literal = np.array(
        [
            sum(bias[i, a[i]] for i in range(L))
            + 0.5 * sum(coupling[i, a[i], j, a[j]] for i in range(L) for j in range(L))
            for a in A
        ]
    )
    np.testing.assert_allclose(convert.potts_log_weights(A, bias, coupling), literal, atol=1e-12)


@pytest.mark.parametrize("plus_state", [0, 1])
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_potts2_to_ising_exact_on_all_states(plus_state, seed):
    rng = np.random.default_rng(seed)
    bias, coupling = _random_potts(rng, N)
    h, J = convert.potts2_to_ising(bias, coupling, plus_state=plus_state)
    np.testing.assert_array_equal(J, J.T)
    np.testing.assert_array_equal(np.diag(J), 0.0)
    S = convert.all_spin_states(N)
    A = np.where(S > 0, plus_state, 1 - plus_state)
    lp_potts = _log_prob(convert.potts_log_weights(A, bias, coupling))
    lp_ising = IsingModel(h, J).log_prob(S)
    np.testing.assert_allclose(lp_ising, lp_potts, atol=1e-10, rtol=0)


def test_potts2_gauge_invariance_and_round_trip():
    rng = np.random.default_rng(4)
    h = rng.normal(0, 0.3, N)
    J = np.triu(rng.normal(0, 0.4, (N, N)), 1)
    J = J + J.T
    bias, coupling = convert.ising_to_potts2(h, J)
    h2, J2 = convert.potts2_to_ising(bias, coupling)
    np.testing.assert_allclose(h2, h, atol=1e-14)
    np.testing.assert_allclose(J2, J, atol=1e-14)
    # a gauge change leaves the distribution, hence the converted (h, J), unchanged: shift every
    # h_i(a) by a constant c_i, and J_ij(a, b) by g_ij(a) for all b (i != j), compensated in the
    # fields by h_i(a) -= 1/2 sum_j g_ij(a) (the ordered double sum carries a factor 1/2)
    g = rng.normal(size=(N, 2, N))
    g[np.arange(N), :, np.arange(N)] = 0.0
    coupling_g = coupling + g[:, :, :, None]
    bias_g = bias + rng.normal(size=(N, 1)) - 0.5 * g.sum(axis=2)
    S = convert.all_spin_states(N)
    A = np.where(S > 0, 0, 1)
    lp = _log_prob(convert.potts_log_weights(A, bias, coupling))
    lp_g = _log_prob(convert.potts_log_weights(A, bias_g, coupling_g))
    np.testing.assert_allclose(lp_g, lp, atol=1e-10)  # the gauge change is one
    h3, J3 = convert.potts2_to_ising(bias_g, coupling_g)
    np.testing.assert_allclose(h3, h, atol=1e-12)
    np.testing.assert_allclose(J3, J, atol=1e-12)


def test_zero_one_to_ising_exact():
    rng = np.random.default_rng(5)
    a = rng.normal(size=N)
    b = np.triu(rng.normal(size=(N, N)), 1)
    b = b + b.T
    h, J = convert.zero_one_to_ising(a, b)
    S = convert.all_spin_states(N)
    x = (1 + S) / 2
    lp01 = _log_prob(x @ a + 0.5 * np.einsum("mi,ij,mj->m", x, b, x))
    np.testing.assert_allclose(IsingModel(h, J).log_prob(S), lp01, atol=1e-10)
    np.testing.assert_allclose(J, b / 4)  # the factor 4 of the couplings, explicitly


def test_daniels_matrix_to_ising_exact():
    """ConIII's mean-field matrix D: P(x) ∝ exp(-sum_i D_ii x_i - sum_{i≠j} D_ij x_i x_j), x ∈ {0,1}."""
    rng = np.random.default_rng(6)
    D = rng.normal(size=(N, N))
    D = 0.5 * (D + D.T)
    h, J = convert.daniels_matrix_to_ising(D)
    S = convert.all_spin_states(N)
    x = (1 + S) / 2
    off = D - np.diag(np.diag(D))
    lpD = _log_prob(-(x @ np.diag(D)) - np.einsum("mi,ij,mj->m", x, off, x))
    np.testing.assert_allclose(IsingModel(h, J).log_prob(S), lpD, atol=1e-10)


def test_vec_to_ising_layout():
    """ConIII's multiplier vector: h first, then J_01, J_02, ..., J_12, ... (row-major i<j)."""
    n = 4
    h, J = convert.vec_to_ising(np.arange(10.0), n)
    np.testing.assert_array_equal(h, [0, 1, 2, 3])
    assert (J[0, 1], J[0, 2], J[0, 3], J[1, 2], J[1, 3], J[2, 3]) == (4, 5, 6, 7, 8, 9)
    np.testing.assert_array_equal(convert.ising_to_vec(h, J), np.arange(10.0))
    with pytest.raises(ValueError, match="expected 4 \\+ 6 multipliers"):
        convert.vec_to_ising(np.arange(9.0), n)


def test_bad_shapes_are_refused():
    with pytest.raises(ValueError, match="bias must have shape"):
        convert.potts2_to_ising(np.zeros((3, 3)), np.zeros((3, 3, 3, 3)))
    with pytest.raises(ValueError, match="coupling must have shape"):
        convert.potts2_to_ising(np.zeros((3, 2)), np.zeros((3, 2, 2, 2)))
    with pytest.raises(ValueError, match="plus_state"):
        convert.potts2_to_ising(np.zeros((3, 2)), np.zeros((3, 2, 3, 2)), plus_state=2)


def test_sklearn_baseline_recovers_symmetrized_couplings():
    """The per-spin logistic baseline's factor 2 (sigmoid(2 s H)): on exact samples it lands on J."""
    spec = importlib.util.spec_from_file_location("run_local", PEERS / "run_local.py")
    run_local = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(run_local)
    model = IsingModel.random_sk(8, beta=0.8, random_state=3)
    X = model.sample(20_000, random_state=4)
    h, J = run_local.sklearn_per_spin(X, C=1e6)
    iu = np.triu_indices(8, 1)
    assert np.sqrt(np.mean((J[iu] - model.J[iu]) ** 2)) < 0.03
    assert np.sqrt(np.mean((h - model.h) ** 2)) < 0.03
    # a factor-2 slip (w/2 instead of w/4) would double J: far outside that tolerance
    assert np.sqrt(np.mean((2 * J[iu] - model.J[iu]) ** 2)) > 0.1


# ------------------------------------------------------------------ against the peers' own code
def _peer_python(name: str) -> Path:
    py = ROOT / "benchmarks" / ".peers" / name / "bin" / "python"
    if not py.exists():
        pytest.skip(f"peer venv {name} absent (run benchmarks/peers/setup_peers.sh)")
    return py


def _run_in_peer(py: Path, code: str, payload: dict, tmp_path: Path) -> dict:
    inp, out = tmp_path / "in.npz", tmp_path / "out.npz"
    np.savez(inp, **payload)
    script = (
        f"import sys, numpy as np; sys.path.insert(0, {str(PEERS)!r})\n"
        f"d = dict(np.load({str(inp)!r}))\n" + code + f"\nnp.savez({str(out)!r}, **res)\n"
    )
    proc = subprocess.run([str(py), "-c", script], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return dict(np.load(out))


def test_adabmdca_energy_matches_converted_ising(tmp_path):
    """adabmDCA's compute_energy on all 2^10 one-hot states vs our conversion of its parameters."""
    py = _peer_python("adabmdca")
    rng = np.random.default_rng(7)
    bias, coupling = _random_potts(rng, N)
    coupling = 0.5 * (coupling + coupling.transpose(2, 3, 0, 1))  # adabmDCA's models are symmetric
    coupling[np.arange(N), :, np.arange(N), :] = 0.0  # and have no diagonal blocks (its mask)
    S = convert.all_spin_states(N)
    A = np.where(S > 0, 0, 1)
    code = (
        "import torch\n"
        "from adabmDCA.statmech import compute_energy\n"
        "from adabmDCA.functional import one_hot\n"
        "x = one_hot(torch.as_tensor(d['A']), num_classes=2, dtype=torch.float64)\n"
        "p = {'bias': torch.as_tensor(d['bias']), 'coupling_matrix': torch.as_tensor(d['coupling'])}\n"
        "res = {'E': compute_energy(x, p).numpy()}"
    )
    E = _run_in_peer(py, code, {"A": A, "bias": bias, "coupling": coupling}, tmp_path)["E"]
    h, J = convert.potts2_to_ising(bias, coupling, plus_state=0)
    np.testing.assert_allclose(IsingModel(h, J).log_prob(S), _log_prob(-E), atol=1e-9)


def test_coniii_energy_matches_vec_to_ising(tmp_path):
    """ConIII's calc_e(s, multipliers) on all 2^10 states vs maxent's energy of vec_to_ising."""
    py = _peer_python("coniii")
    rng = np.random.default_rng(8)
    mult = rng.normal(0, 0.5, N + N * (N - 1) // 2)
    S = convert.all_spin_states(N)
    code = (
        "from coniii.utils import define_ising_helper_functions\n"
        "calc_e = define_ising_helper_functions()[0]\n"
        "res = {'E': calc_e(d['S'].astype(np.int64), d['mult'])}"
    )
    E = _run_in_peer(py, code, {"S": S, "mult": mult}, tmp_path)["E"]
    h, J = convert.vec_to_ising(mult, N)
    np.testing.assert_allclose(IsingModel(h, J).energy(S), E, atol=1e-10)


def test_coniii_mean_field_matrix_convention(tmp_path):
    """ConIII's own log-weights of its mean-field matrix D (mean_field_ising.unsummedLogZ, all 2^10
    0/1 states) vs maxent's log-probabilities of daniels_matrix_to_ising(D)."""
    py = _peer_python("coniii")
    rng = np.random.default_rng(11)
    D = rng.normal(0, 0.5, size=(N, N))
    D = 0.5 * (D + D.T)
    code = (
        "import warnings; warnings.simplefilter('ignore')\n"
        "from coniii import mean_field_ising as mfi\n"
        "res = {'logw': np.asarray(mfi.unsummedLogZ(d['D']), float),\n"
        "       'x': np.asarray(mfi.fightPossibilities(len(d['D'])), float)}"
    )
    res = _run_in_peer(py, code, {"D": D}, tmp_path)
    S = 2 * res["x"] - 1
    h, J = convert.daniels_matrix_to_ising(D)
    np.testing.assert_allclose(IsingModel(h, J).log_prob(S), _log_prob(res["logw"]), atol=1e-10)


def test_coniii_mean_field_couplings_and_regularized_factor_two(tmp_path):
    """ConIII's JmeanField couplings, converted, are the ±1 naive mean-field inversion
    J = -(C^-1) off the diagonal; the conversion in RegularizedMeanField.solve (J + J.T, then
    0/1 -> ±1) gives exactly twice our h and J."""
    py = _peer_python("coniii")
    model = IsingModel.random_sk(N, beta=0.4, random_state=9)
    X = model.sample(5000, random_state=10)
    code = (
        "import warnings; warnings.simplefilter('ignore')\n"
        "from coniii import mean_field_ising as mfi\n"
        "from coniii.utils import convert_params, zero_diag\n"
        "from scipy.spatial.distance import squareform\n"
        "D = np.real(mfi.JmeanField(mfi.cooccurrence_matrix((d['X'] + 1) / 2)))\n"
        "Jr = D + D.T\n"  # RegularizedMeanField.solve, after choosing its prior
        "mult = convert_params(-Jr.diagonal(), squareform(-zero_diag(Jr)) * 2, '11', concat=True)\n"
        "res = {'D': D, 'mult': mult}"
    )
    res = _run_in_peer(py, code, {"X": X.astype(np.float64)}, tmp_path)
    h, J = convert.daniels_matrix_to_ising(res["D"])
    J_nmf = -np.linalg.inv(np.cov(X.astype(float).T, bias=True))
    np.fill_diagonal(J_nmf, 0.0)
    np.testing.assert_allclose(J, J_nmf, atol=1e-8)
    h_r, J_r = convert.vec_to_ising(res["mult"], N)
    np.testing.assert_allclose(J_r, 2 * J, atol=1e-8)
    np.testing.assert_allclose(h_r, 2 * h, atol=1e-8)


def test_runner_result_files_round_trip(tmp_path):
    """_common.save_result / load_problem: atomic npz with JSON meta, read without pickle."""
    spec = importlib.util.spec_from_file_location("peer_common", PEERS / "_common.py")
    common = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(common)
    path = tmp_path / "r.npz"
    common.save_result(path, np.zeros(3), np.zeros((3, 3)), 1.5, {"method": "x"})
    with np.load(path, allow_pickle=False) as d:
        assert float(d["fit_time"]) == 1.5
        assert json.loads(str(d["__meta__"]))["method"] == "x"
    bad = tmp_path / "bad.npz"
    np.savez(bad, X=np.array([[1, 0], [1, -1]], dtype=np.int8))
    with pytest.raises(ValueError, match="other than ±1"):
        common.load_problem(bad)
