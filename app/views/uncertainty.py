"""Uncertainty tab: Monte Carlo over chosen inputs with rank correlations (Gaussian copula).

Defaults (which inputs, their distributions and correlations, with sources) come from
``data/distributions.toml``; by default they follow the scenario (methodology §9). The tab's
default run is ``model.uncertainty.monte_carlo(scenario)``: the same draws as the exports and the
report. All computation (draws, summary, the gap explanation, drivers) is in
:mod:`model.uncertainty`; this module only lays it out. The run is cached on the scenario's
``model_dump()`` and the settings; the section is an ``st.fragment``, so editing the settings
reruns only this tab's section.
"""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np
import pandas as pd
import streamlit as st

from app.charts import analysis as ca
from app.context import ViewContext, plain_names
from app.ui import escape_markdown, grid_height, show_chart, text_table
from model import FIELD_NAMES, FIELD_SPECS, Scenario, make_scenario
from model.metrics import format_metric
from model.scenario import scenario_values
from model.uncertainty import (
    DEFAULT_DRAWS,
    DEFAULT_SEED,
    FOLLOW,
    KINDS,
    SESSION_MAX_DRAWS,
    MonteCarloError,
    _check_scale_base,
    check_session_draws,
    default_distributions,
    default_spec,
    format_field,
    is_percent_field,
    monte_carlo,
    parse_distribution,
)

KEY = "unc_"
#: Draws offered, up to the hosted demo's limit per run (SESSION_MAX_DRAWS).
DRAW_OPTIONS = [
    d for d in (1_000, 2_000, 5_000, 10_000, 20_000, 50_000, 100_000) if d <= SESSION_MAX_DRAWS
]
FOLLOWING = "Follow the scenario"
ABSOLUTE = "Absolute ranges (as sourced)"
FOLLOW_LABELS = {
    "scale": "scaled with the value as set",
    "shift": "shifted with the value as set",
    "absolute": "absolute (as stated)",
}
KIND_LABELS = {
    "uniform": "uniform",
    "triangular": "triangular",
    "pert": "PERT",
    "normal": "normal",
    "lognormal": "lognormal",
}
SCREEN_COLUMNS = ["field", "input", "kind", "follow", "low", "mode", "high", "reference", "source"]
#: Columns of the distribution table holding numbers in the field's unit (shown in % for rates).
NUMBER_COLUMNS = ("low", "mode", "high", "reference")


@st.cache_data(max_entries=16, show_spinner="Running the simulation…")
def _run(
    values: dict[str, Any],
    dists_json: str,
    corr_json: str,
    n: int,
    seed: int,
    follow: bool,
) -> dict[str, Any]:
    """The Monte Carlo run, reduced to what the tab draws (cache-friendly)."""
    dists = json.loads(dists_json)
    corr = {(a, b): float(r) for a, b, r in json.loads(corr_json)}
    s = make_scenario(values)
    mc = monte_carlo(s, dists, n, seed, corr, follow_scenario=follow)
    irr = mc.draws["irr"].to_numpy()
    wacc = mc.draws["wacc"].to_numpy() if "wacc" in mc.draws else np.full(n, s.wacc)
    return {
        "summary": mc.summary,
        "table": mc.table(),
        "reason": mc.gap.reason,
        "parts": mc.gap.parts(),
        "gap_inputs": mc.gap.inputs,
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
    return f"{spec.label} ({_unit(f)})"


def _unit(f: str) -> str:
    """The unit shown on screen: rates and shares in %."""
    unit = FIELD_SPECS[f].unit
    return "%" + unit.removeprefix("fraction") if is_percent_field(f) else unit


def _to_screen(f: str, x: object) -> float | None:
    v = _clean(x)
    return None if v is None else (v * 100.0 if is_percent_field(f) else v)


def default_row(name: str, s: Scenario) -> dict[str, Any]:
    """A sourced default distribution for one input (model units), or a stated fallback."""
    spec, source = default_spec(name, s)
    return {
        "field": name,
        "kind": spec["kind"],
        "follow": spec.get("follow", "absolute"),
        "low": float(spec["low"]),
        "mode": float(spec["mode"]) if spec.get("mode") is not None else None,
        "high": float(spec["high"]),
        "reference": float(spec["reference"]) if spec.get("reference") is not None else None,
        "source": source,
    }


def render(ctx: ViewContext) -> None:
    st.caption(
        escape_markdown(
            "Monte Carlo: each draw picks every uncertain input from its distribution at once "
            "(rank correlations imposed through a Gaussian copula), evaluates the full model, and "
            "keeps every metric of that draw. Other inputs stay as set."
        )
    )
    st.markdown(
        escape_markdown(
            "The distributions follow the scenario: each sourced range moves with the value you "
            "set. Levels (capex, lease rate, IT life, power price) are scaled: the lease rate's "
            "10 to 15 around 12.5 becomes 12 to 18 when you set 15. Rates and shares (WACC, "
            "utilisation) are shifted: WACC 7.4% to 10% around 8.7% becomes 10.4% to 13% when "
            "you set 11.7%. Choose absolute ranges to draw the sourced figures as stated, "
            "wherever the scenario puts the input."
        )
    )
    _section(ctx)


def _row_to_screen(row: dict[str, Any]) -> dict[str, Any]:
    f = str(row["field"])
    out = {
        "field": f,
        "input": _field_name(f),
        "kind": row.get("kind"),
        "follow": row.get("follow") or "absolute",
        "source": row.get("source", ""),
    }
    for c in NUMBER_COLUMNS:
        out[c] = _to_screen(f, row.get(c))
    if out["mode"] is None and out["low"] is not None and out["high"] is not None:
        # a distribution without a mode (uniform, normal, lognormal): show the middle, which
        # such a run ignores, rather than an empty "None" cell; it becomes the mode if the
        # kind is changed to triangular or PERT
        out["mode"] = 0.5 * (float(out["low"]) + float(out["high"]))
    return out


def _running_text(row: dict[str, Any], s: Scenario, follow: bool) -> str:
    """What the run draws for this row at the scenario as set (or why it cannot)."""
    spec = _spec_of(row)
    try:
        d = parse_distribution(str(row["field"]), spec)
    except ValueError as exc:
        return f"cannot run: {exc}"
    if follow:
        value_as_set = float(getattr(s, d.field))
        try:  # the run's own refusal (a "scale" range below 0 would flip), in the same words
            _check_scale_base(d, value_as_set)
        except MonteCarloError as exc:
            return f"cannot run: {exc}"
        drawn = d.at(value_as_set)
    else:
        drawn = d.at_reference()
    text = drawn.text().split(": ", 1)[-1]
    if not drawn.truncated():
        return text
    # the stated range reaches past the input's bounds: say what is actually drawn
    bounds = FIELD_SPECS[d.field]
    lo, hi = (float(x) for x in drawn.ppf(np.array([1e-9, 1.0 - 1e-9])))
    kept = (
        f"every draw is {format_field(d.field, lo)}"
        if format_field(d.field, lo) == format_field(d.field, hi)
        else f"draws from {format_field(d.field, lo)} to {format_field(d.field, hi)}"
    )
    allowed = f"{format_field(d.field, bounds.low)} to {format_field(d.field, bounds.high)}"
    return f"{text}, truncated to the allowed {allowed}: {kept}"


def _spec_of(row: dict[str, Any]) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "kind": row.get("kind"),
        "low": _clean(row.get("low")),
        "high": _clean(row.get("high")),
        "follow": row.get("follow") or "absolute",
    }
    if row.get("kind") in ("triangular", "pert"):
        spec["mode"] = _clean(row.get("mode"))
    if spec["follow"] != "absolute" and _clean(row.get("reference")) is not None:
        spec["reference"] = _clean(row.get("reference"))
    return spec


def _distribution_table(
    ctx: ViewContext, selected: list[str], follow: bool
) -> list[dict[str, Any]]:
    """The editable table; returns the rows in model units (fractions for rates)."""
    ss = st.session_state
    store: dict[str, dict[str, Any]] = ss.setdefault(KEY + "store", {})
    nonce = int(ss.get(KEY + "nonce", 0))
    sel_key = "|".join(selected) + f"#{nonce}"
    snap = ss.get(KEY + "snap")
    if snap is None or snap[0] != sel_key:
        rows = [store.get(f) or default_row(f, ctx.scenario) for f in selected]
        screen = pd.DataFrame(
            [_row_to_screen(r) for r in rows],
            columns=SCREEN_COLUMNS,
        )
        snap = (sel_key, screen)
        ss[KEY + "snap"] = snap
    base: pd.DataFrame = snap[1]
    edited = st.data_editor(
        base,
        key=KEY + "dist_" + sel_key,
        hide_index=True,
        width="stretch",
        height=grid_height(len(base)),
        num_rows="fixed",
        disabled=["field", "input", "source"],
        column_config={
            "field": None,
            "input": st.column_config.TextColumn("Input (unit)"),
            "kind": st.column_config.SelectboxColumn(
                "Distribution",
                options=list(KINDS),
                format_func=lambda k: KIND_LABELS.get(str(k), str(k)),
                required=True,
                help="uniform (low, high); triangular and PERT (low, most likely, high); normal "
                "and lognormal: low and high are the 5th and 95th percentiles.",
            ),
            "follow": st.column_config.SelectboxColumn(
                "Follows the scenario",
                options=list(FOLLOW),
                format_func=lambda k: FOLLOW_LABELS.get(str(k), str(k)),
                required=True,
                help="Scaled: low, most likely and high x (value as set / reference). Shifted: "
                "+ (value as set - reference). Absolute: as stated.",
            ),
            "low": st.column_config.NumberColumn(
                "Low", help="Minimum, or the 5th percentile for normal/lognormal. Input's unit."
            ),
            "mode": st.column_config.NumberColumn(
                "Most likely", help="Used by triangular and PERT only. Input's unit."
            ),
            "high": st.column_config.NumberColumn(
                "High", help="Maximum, or the 95th percentile for normal/lognormal."
            ),
            "reference": st.column_config.NumberColumn(
                "Reference",
                help="The value low, most likely and high are stated around (the sourced "
                "default); a run scales or shifts them by the value as set against it.",
            ),
            "source": st.column_config.TextColumn("Source of the default", width="large"),
        },
    )
    out = []
    for row, old in zip(edited.to_dict("records"), snap[1].to_dict("records"), strict=True):
        f = str(row["field"])
        kept = store.get(f) or default_row(f, ctx.scenario)
        new = dict(kept)
        new["kind"], new["follow"] = row["kind"], row["follow"]
        for c in NUMBER_COLUMNS:
            shown, before = _clean(row.get(c)), _clean(old.get(c))
            # edited on screen, or a mode now needed that was only shown: back to the model's unit
            if shown != before or (c == "mode" and new.get(c) is None and shown is not None):
                new[c] = (
                    None if shown is None else (shown / 100.0 if is_percent_field(f) else shown)
                )
        store[f] = new
        out.append(new)
    text_table(
        pd.DataFrame(
            {
                "Input": [FIELD_SPECS[str(r["field"])].label for r in out],
                "Drawn for the scenario as set": [
                    _running_text(r, ctx.scenario, follow) for r in out
                ],
            }
        )
    )
    return out


def _correlation_table(selected: list[str], scenario: Scenario) -> pd.DataFrame:
    d = default_distributions(scenario)
    ss = st.session_state
    nonce = int(ss.get(KEY + "nonce", 0))
    sel_key = "|".join(selected) + f"#{nonce}"
    rows = [
        {"a": a, "b": b, "spearman": r, "source": d.sources.get(f"{a}~{b}", "")}
        for (a, b), r in d.correlation.items()
        if a in selected and b in selected
    ]

    def label(f: object) -> str:
        return FIELD_SPECS[str(f)].label if str(f) in FIELD_SPECS else str(f)

    return st.data_editor(
        pd.DataFrame(rows, columns=["a", "b", "spearman", "source"]),
        key=KEY + "corr_" + sel_key,
        hide_index=True,
        width="stretch",
        num_rows="dynamic",
        disabled=["source"],
        column_config={
            "a": st.column_config.SelectboxColumn(
                "Input A", options=selected, format_func=label, required=True
            ),
            "b": st.column_config.SelectboxColumn(
                "Input B", options=selected, format_func=label, required=True
            ),
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
    except (TypeError, ValueError, OverflowError):
        return None
    return None if math.isnan(v) else v


@st.fragment
def _section(ctx: ViewContext) -> None:
    defaults = default_distributions(ctx.scenario)  # with its counterparty draws (11.12)
    c0, c1, c2, c3 = st.columns([2, 3, 1, 1])
    ranges = c0.radio(
        "Ranges",
        [FOLLOWING, ABSOLUTE],
        key=KEY + "ranges",
        help="Follow the scenario (default): each range moves with the value as set. Absolute: "
        "the ranges as stated, wherever the scenario sets the input.",
    )
    follow = ranges == FOLLOWING
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
        help=f"More draws: smoother percentiles, slower run. This demo allows up to "
        f"{SESSION_MAX_DRAWS:,} draws per run. The exports use {DEFAULT_DRAWS:,} with seed "
        f"{DEFAULT_SEED}, the defaults here.",
    )
    seed = c3.number_input(
        "Random seed",
        min_value=0,
        max_value=2**32 - 1,
        value=DEFAULT_SEED,
        step=1,
        key=KEY + "seed",
        help="The same seed and settings give the same draws.",
    )
    if not selected:
        st.info("Choose at least one uncertain input.")
        return
    with st.expander("Distributions and correlations", expanded=False):
        st.caption(
            "Numbers in each input's own unit (rates and shares in %). Low, most likely and "
            "high are stated around the reference; the second table shows what this run draws "
            "for the scenario as set. Draws are truncated at the input's allowed range; whole-number "
            "inputs are rounded."
        )
        rows = _distribution_table(ctx, selected, follow)
        st.caption("Rank correlations between uncertain inputs (add rows with +).")
        corr_table = _correlation_table(selected, ctx.scenario)
        if st.button("Reset distributions to the sourced defaults", key=KEY + "reset"):
            st.session_state[KEY + "nonce"] = int(st.session_state.get(KEY + "nonce", 0)) + 1
            st.session_state.pop(KEY + "store", None)
            st.session_state.pop(KEY + "snap", None)
            st.rerun(scope="fragment")
    dists = {str(r["field"]): _spec_of(r) for r in rows}
    corr_rows = [
        (str(r["a"]), str(r["b"]), _clean(r["spearman"]))
        for r in corr_table.to_dict("records")
        if r.get("a") and r.get("b")
    ]
    missing = [
        f"{FIELD_SPECS[a].label} - {FIELD_SPECS[b].label}"
        for a, b, r in corr_rows
        if r is None and a in FIELD_SPECS and b in FIELD_SPECS
    ]
    if missing:
        st.warning(
            escape_markdown(f"Correlation without a value: {', '.join(missing)} (allowed: -1 to 1)")
        )
        return
    try:
        n_ok = check_session_draws(int(n))
        out = _run(
            scenario_values(ctx.scenario),
            json.dumps(dists),  # field order kept: it sets which normal feeds which input
            json.dumps(corr_rows),
            n_ok,
            int(seed),
            follow,
        )
    except (ValueError, TypeError) as exc:
        st.warning(escape_markdown(f"Cannot run the simulation: {exc}"))
        return
    st.caption(
        escape_markdown(
            ("Following the scenario. " if follow else "Absolute ranges. ")
            + f"{int(out['n']):,} draws, seed {int(seed)}. "
            + (
                "Rank correlations: "
                + "; ".join(
                    f"{FIELD_SPECS[a].label} ~ {FIELD_SPECS[b].label} {r:+.2f}"
                    for a, b, r in corr_rows
                )
                if corr_rows
                else "No correlations"
            )
            + ". Edit them under Distributions and correlations."
        )
    )
    _results(ctx, out)


def _results(ctx: ViewContext, out: dict[str, Any]) -> None:
    summary: pd.DataFrame = out["summary"]

    def val(metric: str, col: str) -> float:
        return float(summary[col].to_numpy(dtype=np.float64)[summary.index.get_loc(metric)])

    npv = "npv_busd"
    cols = st.columns(4)
    cols[0].metric(
        "NPV as set (point estimate)",
        format_metric(npv, val(npv, "point")),
        help="NPV of the scenario exactly as set, without uncertainty.",
        border=True,
    )
    cols[1].metric(
        "Median NPV (P50)",
        format_metric(npv, val(npv, "p50")),
        delta=f"P10 {format_metric(npv, val(npv, 'p10'))} · "
        f"P90 {format_metric(npv, val(npv, 'p90'))}",
        delta_color="off",
        delta_arrow="off",
        help="50th percentile of NPV over the draws; below it the 10th and 90th.",
        border=True,
    )
    cols[2].metric(
        "Mean NPV",
        format_metric(npv, val(npv, "mean")),
        help="Average NPV over the draws (the expected value).",
        border=True,
    )
    cols[3].metric(
        "Probability of loss",
        f"{out['prob_loss'] * 100:.1f}%",
        help="Share of draws with NPV below zero at the WACC: the build destroys value.",
        border=True,
    )
    st.info(escape_markdown(out["reason"]))
    with st.expander("Why the median differs from the point estimate"):
        parts = out["parts"][["part", "text"]].rename(
            columns={"part": "Part of the gap", "text": "NPV"}
        )
        text_table(parts)
        gi = out["gap_inputs"][
            ["label", "as_set_text", "mean_text", "shift_text", "effect_text"]
        ].rename(
            columns={
                "label": "Input",
                "as_set_text": "As set",
                "mean_text": "Average of its draws",
                "shift_text": "Average minus value as set",
                "effect_text": "NPV moving this input alone to its average",
            }
        )
        text_table(gi)
        st.caption(
            "The gap splits exactly: inputs whose average differs from the value as set (all at "
            "their averages), plus non-linearity (the average NPV over the draws against NPV at "
            "average inputs), plus skew (median against mean). Methodology §9."
        )
    n = int(out["n"])
    left, right = st.columns(2)
    with left:
        show_chart(
            ca.histogram_chart(
                out["npv"], "npv_busd", ctx.label, n, point=val("npv_busd", "point")
            ),
            "mc_npv_hist",
            ctx,
        )
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
    drivers: pd.DataFrame = out["drivers_npv"]
    show_chart(ca.drivers_chart(drivers, ctx.label), "mc_drivers", ctx)
    st.caption(
        "Drivers, most important first: the share of NPV's variance each input explains on its "
        "own (first-order index from SALib's RBD-FAST on the draws); the colour is the direction, "
        "from the sign of the rank correlation. With correlated inputs part of a driver's share "
        "is borrowed from the inputs it moves with."
    )
    text_table(_drivers_table(drivers, "NPV"))
    with st.expander("Summary of the main metrics, and notes"):
        text_table(out["table"])
        text_table(_drivers_table(out["drivers_irr"], "IRR"))
        for note in out["notes"]:
            st.caption(escape_markdown(plain_names(note)))


def _drivers_table(drivers: pd.DataFrame, what: str) -> pd.DataFrame:
    """Drivers for people: share of variance in %, +- its bootstrap half-width, direction."""

    def pct(x: float) -> str:
        return "n/a" if not math.isfinite(x) else f"{max(x, 0.0) * 100:.1f}%"

    rows = []
    for _, r in drivers.iterrows():
        s1, conf, rho = float(r["s1"]), float(r["s1_conf"]), float(r["spearman_rho"])
        rows.append(
            {
                "Input": r["label"],
                f"Share of {what}'s variance": pct(s1)
                + (f" ± {conf * 100:.1f} pp" if math.isfinite(conf) else ""),
                "Direction": "n/a"
                if not math.isfinite(rho)
                else ("higher input, higher " if rho > 0 else "higher input, lower ") + what,
                "Rank correlation": "n/a" if not math.isfinite(rho) else f"{rho:+.2f}",
            }
        )
    return pd.DataFrame(rows)
