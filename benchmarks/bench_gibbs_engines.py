"""Benchmark: the compiled Gibbs sweep against the torch sweep, per sweep, same chains.

Models: SK-like J ~ N(0, beta^2/N), h ~ N(0, 0.3^2) (``IsingModel.random_sk``) at N = 300, 675
and 2000, from weak (beta 0.5: ~37% of updates change a spin) to frozen (beta 6: ~1%); C chains.
For each model both engines of :class:`maxent.model.sampling.PersistentChains` start from the
same seed, are burned in for ``--burn`` sweeps, then timed over ``--sweeps`` sweeps (best of
``--repeats``), one torch thread. The compiled engine picks its kernel from the change rate (GEMM
blocks above 10%, incremental per-chain fields below); the row reports the rate and whether the
two engines' chains are still identical after all sweeps (float32 chains: they can part where a
field lies within round-off of its threshold, probability ~1e-7 per update).

Run: .venv/bin/python benchmarks/bench_gibbs_engines.py
     (writes benchmarks/results/gibbs_engines.{json,md})
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from _report import machine_line, md_table, new_doc, records, write_results  # noqa: E402

from maxent._threads import limit_threads  # noqa: E402
from maxent.model.ising import IsingModel  # noqa: E402
from maxent.model.sampling import PersistentChains  # noqa: E402

CASES = [(300, 200, b) for b in (0.5, 1.5, 3.0, 6.0)]
CASES += [(675, 1000, b) for b in (0.5, 3.0)] + [(2000, 1000, 0.5)]


def time_case(n: int, C: int, beta: float, burn: int, sweeps: int, repeats: int) -> dict:
    model = IsingModel.random_sk(n, beta=beta, h_std=0.3, random_state=1)
    row: dict = {"N": n, "chains": C, "beta": beta}
    chains = {}
    for engine in ("torch", "compiled"):
        pc = PersistentChains(model.h, model.J, C, rng=0, engine=engine)
        pc.run(burn)
        best = float("inf")
        for _ in range(repeats):
            t0 = time.perf_counter()
            pc.run(sweeps)
            best = min(best, (time.perf_counter() - t0) / sweeps)
        row[f"{engine} ms/sweep"] = 1e3 * best
        chains[engine] = pc
    row["speed-up"] = row["torch ms/sweep"] / row["compiled ms/sweep"]
    row["change rate"] = chains["compiled"]._change_rate
    row["same chains"] = bool((chains["torch"].spins == chains["compiled"].spins).all())
    print(row, flush=True)
    return row


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--burn", type=int, default=20)
    ap.add_argument("--sweeps", type=int, default=5)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results")
    args = ap.parse_args(argv)
    doc = new_doc("gibbs engines: compiled vs torch sweep", vars(args) | {"out": str(args.out)})
    with limit_threads(1):
        rows = [time_case(n, C, b, args.burn, args.sweeps, args.repeats) for n, C, b in CASES]
    df = pd.DataFrame(rows)
    doc["rows"] = records(df)

    def markdown(d: dict) -> str:
        return "\n".join(
            [
                "# Gibbs sweep: compiled engine vs torch engine",
                "",
                f"SK-like models, h ~ N(0, 0.3^2); one torch thread. Best of {args.repeats} x {args.sweeps} "
                f"sweeps after {args.burn} sweeps of burn-in, both engines from the same seed.",
                "",
                machine_line(d),
                "",
                md_table(df, index=False, digits=3),
                "",
                "Reproduce: `.venv/bin/python benchmarks/bench_gibbs_engines.py`",
                "",
            ]
        )

    write_results("gibbs_engines", doc, markdown, args.out)
    print(markdown(doc))
    return doc


if __name__ == "__main__":
    main()
