"""The dated lease-rate curve's editable table (methodology section 4.8), in the sidebar's
market inputs.

The curve lives in ``st.session_state[state.CURVE_KEY]`` (a :class:`model.curves.LeaseCurve` or
None) beside the field widgets: share links and scenario files load it there
(:func:`app.state.apply_to_session`, which also bumps :data:`app.state.CURVE_VERSION_KEY` so the
table shows the loaded curve), and :func:`app.state.scenario_from_session` puts it in the
scenario. A table with a bad cell shows the message (year, value, allowed range) and keeps the
last valid curve: the rest of the dashboard keeps working.
"""

from __future__ import annotations

import math

import pandas as pd
import streamlit as st

from app import state
from app.text import escape_markdown
from model.curves import (
    FRONTIER,
    MAX_POINTS,
    UNIT_TEXT,
    UNITS,
    CurveError,
    LeaseCurve,
    make_curve,
)

#: Session-state key of the last table's problems (shown under it).
CURVE_PROBLEMS_KEY = "lease_curve_problems"


def curve_frame(curve: LeaseCurve | None) -> pd.DataFrame:
    """The table the editor starts from: one row per point, ``year`` and ``value``."""
    years = [y for y, _ in curve.points] if curve is not None else []
    values = [v for _, v in curve.points] if curve is not None else []
    return pd.DataFrame(
        {"year": pd.Series(years, dtype="Int64"), "value": pd.Series(values, dtype="float64")}
    )


def curve_from_table(
    frame: pd.DataFrame, unit: str, gpus_per_gw: float, tenor_years: float, basis: str
) -> LeaseCurve | None:
    """The curve an edited table holds (None for an empty table); raises CurveError naming
    each bad cell's year and value. Rows with neither a year nor a value are ignored; a
    ``gpus_per_gw`` of 0 means the scenario's own GPU count."""
    rows: list[tuple[object, object]] = []
    for year, value in zip(frame.get("year", []), frame.get("value", []), strict=False):
        blank_year = year is None or year is pd.NA or (isinstance(year, float) and math.isnan(year))
        blank_value = value is None or value is pd.NA
        if blank_year and blank_value:
            continue
        rows.append((None if blank_year else year, value))
    if not rows:
        return None
    return make_curve(
        rows,
        unit=unit,
        gpus_per_gw=gpus_per_gw if gpus_per_gw > 0 else None,
        tenor_years=tenor_years,
        basis=basis,
    )


def curve_editor() -> None:
    """The editable table of the dated lease-rate curve and its tags (unit, GPUs, tenor,
    basis); stores the valid curve in the session."""
    curve: LeaseCurve | None = st.session_state.get(state.CURVE_KEY)
    version = int(st.session_state.get(state.CURVE_VERSION_KEY, 0))
    st.markdown("**Dated lease-rate curve** (optional, methodology 4.8)")
    st.caption(
        "Rents by calendar year, followed in the years given (log-linear between points); "
        "outside them the model continues from the curve's ends. Leave empty for none. "
        f"At most {MAX_POINTS} points."
    )
    edited = st.data_editor(
        curve_frame(curve),
        key=f"curve_table_{version}",
        num_rows="dynamic",
        hide_index=True,
        column_config={
            "year": st.column_config.NumberColumn("Calendar year", step=1, format="%d"),
            "value": st.column_config.NumberColumn("Rent", format="%.4g"),
        },
        width="stretch",
    )
    unit = st.selectbox(
        "Curve unit",
        UNITS,
        index=UNITS.index(curve.unit) if curve is not None else 0,
        format_func=lambda u: UNIT_TEXT[u],
        key=f"curve_unit_{version}",
    )
    gpus = st.number_input(
        "GPUs per GW for a GPU-hour curve (0: the scenario's)",
        min_value=0.0,
        max_value=5_000_000.0,
        value=float(curve.gpus_per_gw or 0.0) if curve is not None else 0.0,
        step=1000.0,
        key=f"curve_gpus_{version}",
    )
    tenor = st.number_input(
        "Curve tenor (years, 0 = spot)",
        min_value=0.0,
        max_value=10.0,
        value=float(curve.tenor_years) if curve is not None else 0.0,
        step=1.0,
        key=f"curve_tenor_{version}",
    )
    basis = st.text_input(
        'Curve basis ("frontier" or "age <years>")',
        value=curve.basis if curve is not None else FRONTIER,
        key=f"curve_basis_{version}",
    )
    try:
        new = curve_from_table(edited, str(unit), float(gpus), float(tenor), str(basis))
    except CurveError as exc:
        for problem in exc.problems[:5]:
            st.warning(escape_markdown(problem) + ". Using the last valid curve meanwhile.")
        return
    st.session_state[state.CURVE_KEY] = new


__all__ = ["curve_editor", "curve_frame", "curve_from_table"]
