"""Check that a change leaves the model's outputs as they were (for speed work).

Dumps every output of a source tree, or compares two dumps, with a relative tolerance of 1e-9
(absolute 1e-12 for values that cancel to about zero), NaN positions identical and IRR root
counts and reason codes equal:

- ``evaluate_batch`` (with breakeven) on 20,000 random scenarios inside the bounds, every field
  random and with the financing, tax and timing inputs at their defaults;
- every annual line, market line and metric of ``engine.run`` on 10,000 random scenarios
  (every field random; run in chunks of :data:`RUN_CHUNK`, with the breakeven);
- every preset through ``evaluate`` (metrics, cash flows, market) and a batch around each preset;
- ``finance.irr_diagnostics``, ``npv``, ``mirr`` and ``payback`` on wild random flows;
- Monte Carlo draws, summary and driver ranking (two presets), tornado, a grid and the stress
  tests.

Usage::

    git worktree add /tmp/before <commit>            # or: git archive <commit> | tar -x -C ...
    python scripts/check_equivalence.py dump /tmp/before /tmp/before.npz
    python scripts/check_equivalence.py dump . /tmp/after.npz
    python scripts/check_equivalence.py compare /tmp/before.npz /tmp/after.npz
    python scripts/check_equivalence.py compare --exact /tmp/before.npz /tmp/after.npz

``--exact`` asks for bit-for-bit equality instead (NaN where NaN, every other value equal as a
float64; for a refactoring that must not change a single operation).

A change that adds an input whose old meaning is one of its values is checked by forcing that
value everywhere in the new tree's dump (random tables, ``engine.run`` scenarios, presets, the
batches around them, the Monte Carlo, tornado, grid and stress scenarios) and leaving the new
input's own distribution out of the Monte Carlo (its draws would shift every other draw)::

    python scripts/check_equivalence.py dump --set entrant_profile=builder \
        --no-draw entrant_wacc . /tmp/after.npz

The new inputs' own columns (in the random tables and the Monte Carlo draws) and new tornado
rows then show as "only in one dump" or as a changed shape; every other output must agree.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

#: Random scenarios evaluated through ``engine.run`` (every annual line compared).
RUN_SCENARIOS = 10_000
#: Scenarios per ``engine.run`` call (bounds the memory of the annual tables).
RUN_CHUNK = 2_500


def _table_columns(prefix: str, frame: object, out: dict[str, np.ndarray]) -> None:
    import pandas as pd

    assert isinstance(frame, pd.DataFrame)
    for c in frame.columns:
        try:
            out[f"{prefix}/{c}"] = frame[c].to_numpy(dtype=np.float64)
        except (TypeError, ValueError):  # text columns (labels) are not compared
            continue


def dump(
    root: str,
    path: str,
    forced: dict[str, str] | None = None,
    no_draw: tuple[str, ...] = (),
) -> None:
    """Every output of the model in ``root`` into the ``.npz`` file ``path``.

    ``forced`` sets fields (by name = text value) in every scenario; ``no_draw`` leaves fields'
    distributions out of the Monte Carlo (see the module docstring).
    """
    sys.path.insert(0, str(Path(root).resolve()))
    sys.path.insert(0, str(Path(root).resolve() / "scripts"))
    import bench_model as bm

    import model
    from model import engine, evaluate, evaluate_batch, finance, preset_ids
    from model.results import scenario_params
    from model.sensitivity import grid, tornado
    from model.stress import stress_tests
    from model.uncertainty import default_distributions, monte_carlo

    assert str(Path(model.__file__).resolve()).startswith(str(Path(root).resolve()))
    force = _forced_values(forced or {})

    def load_preset(pid: str) -> model.Scenario:
        return model.load_preset(pid).replace(**force) if force else model.load_preset(pid)

    res: dict[str, np.ndarray] = {}
    table = _force_table(bm.random_table(20_000, seed=12345), force)
    for tag, tab in (("all", table), ("unlevered", bm.unlevered_table(table))):
        _table_columns(f"batch/{tag}", evaluate_batch(tab, breakeven=True), res)
    small = _force_table(bm.random_table(RUN_SCENARIOS, seed=777), force)
    scenarios = [bm._scenario(r) for r in small.to_dict("records")]
    parts: dict[str, list[np.ndarray]] = {}
    for start in range(0, len(scenarios), RUN_CHUNK):
        chunk = scenarios[start : start + RUN_CHUNK]
        out = engine.run(scenario_params(chunk), with_breakeven=True)
        for group, values in (("line", out.lines), ("market", out.market), ("metric", out.metrics)):
            for k, v in values.items():
                # one row per scenario; chunks have their own year count (padded with NaN)
                parts.setdefault(f"run/{group}/{k}", []).append(np.asarray(v, dtype=np.float64))
    for k, arrays in parts.items():
        width = max((a.shape[1] for a in arrays if a.ndim == 2), default=0)
        res[k] = np.concatenate(
            [
                a
                if a.ndim == 1
                else np.pad(a, ((0, 0), (0, width - a.shape[1])), constant_values=np.nan)
                for a in arrays
            ]
        )
    for pid in preset_ids():
        r = evaluate(load_preset(pid))
        for k, x in r.metrics().items():
            res[f"preset/{pid}/{k}"] = np.array([np.nan if x is None else x], dtype=np.float64)
        for k, x in r.extra.items():
            res[f"preset/{pid}/extra/{k}"] = np.array([x], dtype=np.float64)
        _table_columns(f"preset/{pid}/cash_flows", r.cash_flows, res)
        _table_columns(f"preset/{pid}/market", r.market, res)
        around = evaluate_batch(table.head(2_000).drop(columns=["gw_built"]), load_preset(pid))
        _table_columns(f"preset_batch/{pid}", around, res)
    rng = np.random.default_rng(5)
    for n_t in (2, 5, 17, 30, 41):
        f = rng.standard_normal((4_000, n_t)) * rng.lognormal(0.0, 3.0, (4_000, 1))
        f[:1_000, 0] = -np.abs(f[:1_000, 0]) * 10.0
        f[1_000:1_500] = np.cumsum(f[1_000:1_500], axis=1)
        f[1_500:1_600, 3 % n_t :] = 0.0
        f[1_600:1_700] = np.round(f[1_600:1_700])
        irr, count, reason = finance.irr_diagnostics(f)
        res[f"finance/{n_t}/irr"] = irr
        res[f"finance/{n_t}/irr_root_count"] = count.astype(np.float64)
        res[f"finance/{n_t}/irr_reason"] = reason.astype(np.float64)
        res[f"finance/{n_t}/npv"] = np.asarray(finance.npv(0.07, f))
        res[f"finance/{n_t}/mirr"] = np.asarray(finance.mirr(f, 0.05, 0.08))
        res[f"finance/{n_t}/payback"] = np.asarray(finance.payback(f, 0.05))
    s = load_preset("bofa-base")
    for pid, n in (("bofa-base", 30_000), ("coreweave-spv", 20_000)):
        if no_draw:
            d = default_distributions()
            kept = {f: v for f, v in d.distributions.items() if f not in no_draw}
            mc = monte_carlo(load_preset(pid), kept, n=n, correlation=d.correlation)
        else:
            mc = monte_carlo(load_preset(pid), n=n)
        _table_columns(f"mc/{pid}/draws", mc.draws, res)
        _table_columns(f"mc/{pid}/summary", mc.summary, res)
        _table_columns(f"mc/{pid}/drivers", mc.drivers, res)
    _table_columns("tornado", tornado(s), res)
    xs, ys = np.linspace(30.0, 60.0, 20), np.linspace(5.0, 20.0, 20)
    g = grid(s, "capex_per_gw_busd", xs, "lease_rate_busd_per_gw_year", ys, "irr")
    res["grid"] = np.asarray(getattr(g, "values", g), dtype=np.float64)
    _table_columns("stress", stress_tests(s), res)
    np.savez_compressed(path, **res)
    print(f"{len(res)} outputs of {root} written to {path}")


def _forced_values(forced: dict[str, str]) -> dict[str, float]:
    from model.io import parse_assignment

    return dict(parse_assignment(f"{k}={v}") for k, v in forced.items())


def _force_table(table: object, force: dict[str, float]) -> object:
    import pandas as pd

    assert isinstance(table, pd.DataFrame)
    for k, v in force.items():
        table[k] = v
    return table


def compare(before_path: str, after_path: str, *, exact: bool = False) -> int:
    """0 when every output of the two dumps agrees (see the module docstring), else 1.

    With ``exact`` every value must be the same float64 (NaN where NaN).
    """
    before, after = np.load(before_path), np.load(after_path)
    bad = 0
    values = 0
    for k in sorted(set(before.files) | set(after.files)):
        if k not in before.files or k not in after.files:
            print(f"only in one dump: {k}")
            bad += 1
            continue
        x, y = before[k], after[k]
        if x.shape != y.shape:
            print(f"shape {k}: {x.shape} -> {y.shape}")
            bad += 1
            continue
        values += x.size
        if exact:
            same = (x == y) | (np.isnan(x) & np.isnan(y))
            if not same.all():
                i = int(np.argmin(same.ravel()))
                print(
                    f"values {k}: {int((~same).sum())} of {x.size} differ, e.g. "
                    f"{x.ravel()[i]!r} -> {y.ravel()[i]!r}"
                )
                bad += 1
            continue
        nan_x, nan_y = np.isnan(x), np.isnan(y)
        if (nan_x != nan_y).any():
            print(f"NaN positions {k}: {int((nan_x != nan_y).sum())} differ")
            bad += 1
            continue
        xx, yy = x[~nan_x], y[~nan_y]
        if ("root_count" in k or "reason" in k) and (xx != yy).any():
            print(f"counts {k}: {int((xx != yy).sum())} differ")
            bad += 1
            continue
        inf_x, inf_y = np.isinf(xx), np.isinf(yy)
        if (inf_x != inf_y).any() or (xx[inf_x] != yy[inf_y]).any():
            print(f"infinities {k} differ")
            bad += 1
            continue
        fx, fy = xx[~inf_x], yy[~inf_y]
        tol = np.maximum(1e-9 * np.maximum(np.abs(fx), np.abs(fy)), 1e-12)
        off = np.abs(fx - fy) > tol
        if off.any():
            i = int(np.argmax(off))
            print(f"values {k}: {int(off.sum())} of {fx.size} differ, e.g. {fx[i]!r} -> {fy[i]!r}")
            bad += 1
    mode = "bit for bit" if exact else "to 1e-9"
    print(f"{len(before.files)} outputs ({values:,} values) compared {mode}, {bad} differ")
    return 1 if bad else 0


def main(argv: list[str]) -> int:
    if len(argv) >= 4 and argv[1] == "dump":
        forced: dict[str, str] = {}
        no_draw: list[str] = []
        rest = argv[2:]
        while len(rest) > 2 and rest[0] in ("--set", "--no-draw"):
            if rest[0] == "--set":
                key, _, value = rest[1].partition("=")
                forced[key] = value
            else:
                no_draw.append(rest[1])
            rest = rest[2:]
        if len(rest) == 2:
            dump(rest[0], rest[1], forced, tuple(no_draw))
            return 0
    if len(argv) == 4 and argv[1] == "compare":
        return compare(argv[2], argv[3])
    if len(argv) == 5 and argv[1] == "compare" and argv[2] == "--exact":
        return compare(argv[3], argv[4], exact=True)
    print(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
