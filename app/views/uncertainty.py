"""Uncertainty tab: Monte Carlo over chosen inputs with rank correlations (Gaussian copula).

Defaults (which inputs, their distributions and correlations, with sources) come from
``data/distributions.toml``. The run is cached on the scenario's ``model_dump()`` and the settings;
the section is an ``st.fragment``, so editing the settings reruns only this tab's section.
"""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np
import pandas as pd
import streamlit as st

from app import charts_analysis as ca
from app.context import ViewContext
from app.ui import escape_markdown, show_chart
from model import FIELD_NAMES, FIELD_SPECS, Scenario, default_ranges, make_scenario
from model.uncertainty import KINDS, default_distributions, monte_carlo

KEY = "unc_"
DRAW_OPTIONS = [1_000, 2_000, 5_000, 10_000, 20_000, 50_000, 100_000]
DEFAULT_DRAWS = 10_000
SUMMARY_METRICS = ["npv_busd", "irr", "mirr", "payback_years", "roic", "npv_per_share_usd"]


@st.cache_data(max_entries=16, show_spinner="Running the simulation…")
def _run(
    values: dict[str, Any], dists_json: str, corr_json: str, n: int, seed: int
) -> dict[str, Any]:
    """The Monte Carlo run, reduced to what the tab draws (cache-friendly)."""
    dists = json.loads(dists_json)
    corr = {(a, b): float(r) for a, b, r in json.loads(corr_json)}
    s = make_scenario(values)
    mc = monte_carlo(s, dists, n, seed, corr)
    irr = mc.draws["irr"].to_numpy()
    wacc = mc.draws["wacc"].to_numpy() if "wacc" in mc.draws else np.full(n, s.wacc)
    return {
        "summary": mc.summary,
        "npv": mc.draws["npv_busd"].to_numpy(),
        "irr": irr,
        "drivers_npv": mc.drivers,
        "drivers_irr": mc.ranking("irr"),
        "notes": mc.notes,
        "prob_loss": mc.prob_loss,
        "prob_irr_below_wacc": float(np.mean(~(irr >= wacc))),
        "n": mc.n,
        "wacc_uncertain": "wacc" in dists,
    }


def _field_name(f: str) -> str:
    spec = FIELD_SPECS[f]
    return f"{spec.label} ({spec.unit})"


def default_row(name: str, s: Scenario) -> dict[str, Any]:
    """A sourced default distribution for one input, or a stated fallback."""
    d = default_distributions()
    if name in d.distributions:
        spec = d.distributions[name]
        return {
            "field": name,
            "kind": spec["kind"],
            "low": float(spec["low"]),
            "mode": float(spec["mode"]) if "mode" in spec else None,
            "high": float(spec["high"]),
            "source": d.sources[name],
        }
    v = float(getattr(s, name))
    fs = FIELD_SPECS[name]
    if name in default_ranges():
        lo, hi, src = default_ranges()[name]
        lo, hi = min(lo, v), max(hi, v)
        source = f"Range from data/ranges.csv: {src}; the value as set most likely"
    else:
        span = abs(v) * 0.2 or 0.1 * (fs.high - fs.low)
        lo, hi = v - span, v + span
        source = "No sourced range: the value as set ± 20% (an assumption; edit it)"
    lo, hi = max(lo, fs.low), min(hi, fs.high)
    if not lo < hi:
        lo, hi = fs.low, fs.high
    return {
        "field": name,
        "kind": "triangular",
        "low": lo,
        "mode": min(max(v, lo), hi),
        "high": hi,
        "source": source,
    }


def render(ctx: ViewContext) -> None:
    st.caption(
        "Monte Carlo: each draw picks every uncertain input from its distribution at once "
        "(rank correlations imposed through a Gaussian copula), evaluates the full model, and "
        "keeps every metric of that draw. Other inputs stay as set. Defaults and their sources "
        "are in data/distributions.toml."
    )
    _section(ctx)


def _distribution_table(ctx: ViewContext, selected: list[str]) -> pd.DataFrame:
    ss = st.session_state
    store: dict[str, dict[str, Any]] = ss.setdefault(KEY + "store", {})
    nonce = int(ss.get(KEY + "nonce", 0))
    sel_key = "|".join(selected) + f"#{nonce}"
    snap = ss.get(KEY + "snap")
    if snap is None or snap[0] != sel_key:
        rows = [store.get(f) or default_row(f, ctx.scenario) for f in selected]
        snap = (
            sel_key,
            pd.DataFrame(rows, columns=["field", "kind", "low", "mode", "high", "source"]),
        )
        ss[KEY + "snap"] = snap
    edited = st.data_editor(
        snap[1],
        key=KEY + "dist_" + sel_key,
        hide_index=True,
        width="stretch",
        num_rows="fixed",
        disabled=["field", "source"],
        column_config={
            "field": st.column_config.TextColumn("Input"),
            "kind": st.column_config.SelectboxColumn(
                "Distribution",
                options=list(KINDS),
                required=True,
                help="uniform (low, high); triangular and pert (low, mode, high); normal and "
                "lognormal: low and high are the 5th and 95th percentiles.",
            ),
            "low": st.column_config.NumberColumn(
                "Low", help="Minimum, or the 5th percentile for normal/lognormal. Input's unit."
            ),
            "mode": st.column_config.NumberColumn(
                "Most likely", help="Used by triangular and pert only. Input's unit."
            ),
            "high": st.column_config.NumberColumn(
                "High", help="Maximum, or the 95th percentile for normal/lognormal."
            ),
            "source": st.column_config.TextColumn("Source of the default", width="large"),
        },
    )
    for row in edited.to_dict("records"):
        store[str(row["field"])] = row
    return edited


def _correlation_table(selected: list[str]) -> pd.DataFrame:
    d = default_distributions()
    ss = st.session_state
    nonce = int(ss.get(KEY + "nonce", 0))
    sel_key = "|".join(selected) + f"#{nonce}"
    rows = [
        {"a": a, "b": b, "spearman": r, "source": d.sources.get(f"{a}~{b}", "")}
        for (a, b), r in d.correlation.items()
        if a in selected and b in selected
    ]
    return st.data_editor(
        pd.DataFrame(rows, columns=["a", "b", "spearman", "source"]),
        key=KEY + "corr_" + sel_key,
        hide_index=True,
        width="stretch",
        num_rows="dynamic",
        disabled=["source"],
        column_config={
            "a": st.column_config.SelectboxColumn("Input A", options=selected, required=True),
            "b": st.column_config.SelectboxColumn("Input B", options=selected, required=True),
            "spearman": st.column_config.NumberColumn(
                "Spearman rank correlation",
                min_value=-1.0,
                max_value=1.0,
                step=0.05,
                required=True,
                help="-1 to 1: how closely the two inputs' rankings move together.",
            ),
            "source": st.column_config.TextColumn("Source", width="large"),
        },
    )


def _clean(x: object) -> float | None:
    if x is None:
        return None
    try:
        v = float(x)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return None if math.isnan(v) else v


def _describe(name: str, spec: dict[str, Any]) -> str:
    fs = FIELD_SPECS[name]
    kind = spec.get("kind")
    lo, hi, mode = spec.get("low"), spec.get("high"), spec.get("mode")
    if kind in ("normal", "lognormal"):
        body = (
            f"{kind}, 5th-95th percentile {lo:g} to {hi:g}"
            if lo is not None and hi is not None
            else str(kind)
        )
    elif kind in ("triangular", "pert") and None not in (lo, mode, hi):
        body = f"{kind} {lo:g} / {mode:g} / {hi:g}"
    elif lo is not None and hi is not None:
        body = f"{kind} {lo:g} to {hi:g}"
    else:
        body = str(kind)
    return f"{fs.label} {body} {fs.unit}"


@st.fragment
def _section(ctx: ViewContext) -> None:
    defaults = default_distributions()
    c1, c2, c3 = st.columns([3, 1, 1])
    selected = c1.multiselect(
        "Uncertain inputs",
        list(FIELD_NAMES),
        default=list(defaults.distributions),
        format_func=_field_name,
        key=KEY + "fields",
        help="Every other input stays as set in the sidebar.",
    )
    n = c2.select_slider(
        "Draws",
        DRAW_OPTIONS,
        value=DEFAULT_DRAWS,
        key=KEY + "n",
        help="More draws: smoother percentiles, slower run (10,000 takes well under a second).",
    )
    seed = c3.number_input(
        "Random seed",
        min_value=0,
        max_value=2**32 - 1,
        value=1,
        step=1,
        key=KEY + "seed",
        help="The same seed and settings give the same draws.",
    )
    if not selected:
        st.info("Choose at least one uncertain input.")
        return
    with st.expander("Distributions and correlations", expanded=False):
        st.caption(
            "Values in each input's own unit (see the input's name). Normal and lognormal tails "
            "are truncated at the input's allowed range; whole-number inputs are rounded."
        )
        table = _distribution_table(ctx, selected)
        st.caption("Rank correlations between uncertain inputs (add rows with +).")
        corr_table = _correlation_table(selected)
        if st.button("Reset distributions to the sourced defaults", key=KEY + "reset"):
            st.session_state[KEY + "nonce"] = int(st.session_state.get(KEY + "nonce", 0)) + 1
            st.session_state.pop(KEY + "store", None)
            st.session_state.pop(KEY + "snap", None)
            st.rerun(scope="fragment")
    dists: dict[str, dict[str, Any]] = {}
    for row in table.to_dict("records"):
        spec: dict[str, Any] = {
            "kind": row["kind"],
            "low": _clean(row["low"]),
            "high": _clean(row["high"]),
        }
        if row["kind"] in ("triangular", "pert"):
            spec["mode"] = _clean(row["mode"])
        dists[str(row["field"])] = spec
    corr_rows = [
        (str(r["a"]), str(r["b"]), _clean(r["spearman"]))
        for r in corr_table.to_dict("records")
        if r.get("a") and r.get("b")
    ]
    missing = [f"{a}-{b}" for a, b, r in corr_rows if r is None]
    if missing:
        st.warning(
            escape_markdown(f"Correlation without a value: {', '.join(missing)} (allowed: -1 to 1)")
        )
        return
    st.caption(
        escape_markdown(
            "Running: "
            + "; ".join(_describe(f, d) for f, d in dists.items())
            + (
                ". Rank correlations: "
                + "; ".join(
                    f"{FIELD_SPECS[a].label} ~ {FIELD_SPECS[b].label} {r:+.2f}"
                    for a, b, r in corr_rows
                )
                if corr_rows
                else ". No correlations"
            )
            + ". Edit them under Distributions and correlations."
        )
    )
    try:
        out = _run(
            ctx.scenario.model_dump(),
            json.dumps(dists, sort_keys=True),
            json.dumps(corr_rows),
            int(n),
            int(seed),
        )
    except (ValueError, TypeError) as exc:
        st.warning(escape_markdown(f"Cannot run the simulation: {exc}"))
        return
    _results(ctx, out)


def _results(ctx: ViewContext, out: dict[str, Any]) -> None:
    summary: pd.DataFrame = out["summary"]
    npv = summary.loc["npv_busd"]
    irr = summary.loc["irr"]
    cols = st.columns(4)
    cols[0].metric(
        "Probability of loss",
        f"{out['prob_loss']:.1%}",
        help="Share of draws with NPV < 0 at the WACC: the build destroys value.",
        border=True,
    )
    cols[1].metric(
        "Median NPV (P50), US$ B",
        f"{npv['p50']:,.1f}",
        delta=f"P10 {npv['p10']:,.1f} · P90 {npv['p90']:,.1f}",
        delta_color="off",
        delta_arrow="off",
        help="50th percentile of NPV over the draws; below it the 10th and 90th, US$ B.",
        border=True,
    )
    cols[2].metric(
        "Median IRR (P50), % per year",
        f"{irr['p50']:.1%}",
        delta=f"P10 {irr['p10']:.1%} · P90 {irr['p90']:.1%}",
        delta_color="off",
        delta_arrow="off",
        help="Percentiles of IRR over the draws where it is defined, % per year.",
        border=True,
    )
    cols[3].metric(
        "Mean NPV, US$ B",
        f"{npv['mean']:,.1f}",
        delta=f"as set {ctx.result.npv_busd:,.1f}",
        delta_color="off",
        delta_arrow="off",
        help="Average NPV over the draws (the expected value), against the NPV of the scenario "
        "as set. They differ when the inputs' distributions are skewed or the model is "
        "non-linear in them.",
        border=True,
    )
    n = int(out["n"])
    left, right = st.columns(2)
    with left:
        show_chart(ca.histogram_chart(out["npv"], "npv_busd", ctx.label, n), "mc_npv_hist", ctx)
        show_chart(ca.cdf_chart(out["npv"], "npv_busd", ctx.label, n), "mc_npv_cdf", ctx)
    with right:
        hurdle_name = "their WACC" if out["wacc_uncertain"] else "the WACC"
        show_chart(
            ca.histogram_chart(
                out["irr"],
                "irr",
                ctx.label,
                n,
                hurdle=(
                    hurdle_name,
                    "WACC as set",
                    ctx.scenario.wacc,
                    out["prob_irr_below_wacc"],
                ),
            ),
            "mc_irr_hist",
            ctx,
        )
        show_chart(ca.cdf_chart(out["irr"], "irr", ctx.label, n), "mc_irr_cdf", ctx)
    show_chart(ca.drivers_chart(out["drivers_npv"], ctx.label), "mc_drivers", ctx)
    st.caption(
        "Drivers: Spearman rank correlation (scipy.stats.spearmanr) between each input's draws "
        "and NPV. The sign is the direction; the size says how closely NPV's ranking follows "
        "the input's. With correlated inputs part of a driver's correlation is borrowed from "
        "the inputs it moves with."
    )
    with st.expander("Summary of every metric, and notes"):
        shown = summary.loc[
            SUMMARY_METRICS,
            ["unit", "mean", "p10", "p50", "p90", "prob_above_zero", "defined_share"],
        ]
        st.dataframe(
            shown.rename(
                columns={
                    "prob_above_zero": "share of draws > 0",
                    "defined_share": "share of draws defined",
                }
            ),
            width="stretch",
        )
        drivers = out["drivers_irr"][["label", "spearman_rho", "p_value"]].rename(
            columns={"label": "Input", "spearman_rho": "rank correlation with IRR"}
        )
        st.dataframe(drivers, hide_index=True, width="stretch")
        for note in out["notes"]:
            st.caption(escape_markdown(note))
