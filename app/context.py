"""What every dashboard view receives: the scenario as set, its result, and the preset's.

Also the few field helpers every layer needs without Streamlit: whether an input is a share or a
rate shown in percent (:func:`is_percent`, derived from the field's unit), how a value reads
(:func:`field_value_text`), and the file stem exports are named after (:attr:`ViewContext.file_stem`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from model import FIELD_SPECS, FieldSpec, Readings, Result, Scenario
from model.conditions import compare_to
from model.derived import price_target_gap_share
from model.fields import format_field_value, is_percent_unit
from model.metrics import format_metric

#: Changed inputs named in a label or a file name before "and N more".
NAMED_CHANGES = 3


def is_percent(spec: FieldSpec) -> bool:
    """True for a share or a rate: the model keeps a fraction, the screen shows percent.

    Derived from the unit (``fraction of capex``, ``fraction per year``...), so a new field with
    such a unit is shown in percent without further work.
    """
    return is_percent_unit(spec.unit)


def percent_unit(spec: FieldSpec) -> str:
    """The unit as shown: ``fraction per year`` -> ``% per year``, ``fraction of capex`` -> ``% of capex``."""
    if not is_percent(spec):
        return spec.unit
    rest = spec.unit[len("fraction") :].strip()
    rest = re.sub(r"\(0 (.*?), 1 (.*?)\)", r"(0% \1, 100% \2)", rest)
    return f"% {rest}".strip()


def display_scale(name: str) -> float:
    """Factor from the model's value to the value shown for a field (100 for percentages)."""
    return 100.0 if is_percent(FIELD_SPECS[name]) else 1.0


def field_value_text(name: str, value: float) -> str:
    """A field value as people read it: ``9.5%`` for a rate, ``4.5`` otherwise (no unit).

    Examples
    --------
    >>> field_value_text("wacc", 0.087), field_value_text("gw_built", 4.5)
    ('8.7%', '4.5')
    """
    return format_field_value(name, value)  # the one format, from the table of fields


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9.]+", "-", text.lower()).strip("-.")


@dataclass(frozen=True)
class ViewContext:
    """The current scenario and its evaluation, plus the chosen preset's for deltas.

    ``readings`` holds the still-market and moving-market readings of the scenario
    (:func:`model.market_readings`) where the caller computed them; the verdict gives both.
    """

    preset_id: str
    scenario: Scenario
    result: Result
    preset_scenario: Scenario
    preset_result: Result
    readings: Readings | None = None

    @property
    def changes(self) -> list[str]:
        """Changed inputs in plain words, e.g. ``['GW built 3 → 4.5', 'WACC 8.7% → 9.5%']``."""
        return [
            f"{FIELD_SPECS[k].label} {field_value_text(k, b)} → {field_value_text(k, a)}"
            for k, (a, b) in self.scenario.diff(self.preset_scenario).items()
        ]

    @property
    def changes_short(self) -> str:
        """The changed inputs named (at most three, then a count); empty when none changed."""
        diff = self.scenario.diff(self.preset_scenario)
        if not diff:
            return ""
        named = [f"{FIELD_SPECS[k].label} {field_value_text(k, a)}" for k, (a, _) in diff.items()]
        more = len(named) - NAMED_CHANGES
        text = ", ".join(named[:NAMED_CHANGES])
        return text + (f" and {more} more" if more > 0 else "")

    @property
    def label(self) -> str:
        """Short description of the scenario for chart subtitles: preset, changes, headline inputs."""
        s = self.scenario
        changed = self.changes_short
        suffix = f" with {changed}" if changed else ""
        return (
            f"{self.preset_id}{suffix}: {s.gw_built:g} GW at US$ {s.capex_per_gw_busd:g} B/GW, "
            f"lease US$ {s.lease_rate_busd_per_gw_year:g} B/GW-yr, "
            f"efficiency {s.efficiency_multiplier:g}x"
        )

    @property
    def file_stem(self) -> str:
        """File-name stem naming the preset and the changed inputs, e.g. ``bofa-base_gw-built-4.5``.

        The same stem names the Export tab's downloads and each chart toolbar's image.
        """
        diff = self.scenario.diff(self.preset_scenario)
        parts = [_slug(self.preset_id) or "scenario"]
        for k, (a, _) in list(diff.items())[:NAMED_CHANGES]:
            value = float(a) * display_scale(k)
            parts.append(f"{_slug(FIELD_SPECS[k].label)}-{_slug(f'{value:.4g}')}")
        if len(diff) > NAMED_CHANGES:
            parts.append(f"and-{len(diff) - NAMED_CHANGES}-more")
        return "_".join(parts)[:120]


def verdict(ctx: ViewContext) -> str:
    """One line in plain words: IRR against WACC, NPV, share of the re-rating, the NPV if
    today's rent premium lasts and once entrants catch up (when ``ctx.readings`` is set),
    breakeven.

    Plain text (no Markdown); the caller escapes it.

    Examples
    --------
    >>> from model import evaluate, load_preset, market_readings
    >>> s = load_preset("bofa-base")
    >>> r = evaluate(s)
    >>> line = verdict(ViewContext("bofa-base", s, r, s, r, market_readings(s, r)))
    >>> "if today's rent premium lasts;" in line and "once entrants catch up" in line
    True
    """
    r, s = ctx.result, ctx.scenario
    wacc = f"{s.wacc * 100:.1f}%"
    if r.irr is None:
        first = f"No IRR (see the IRR help) against a {wacc} cost of capital"
    else:
        word = compare_to(r.irr, s.wacc)  # at the precision shown: 6.8% is equal to 6.8%
        several = " (one of several IRRs)" if r.irr_multiple else ""
        first = f"Earns {format_metric('irr', r.irr)} a year{several}, {word} the {wacc} cost of capital"
    verb = "creates" if r.npv_busd >= 0 else "destroys"
    text = (
        f"{first}, so the build {verb} {format_metric('npv_busd', abs(r.npv_busd))} of value (NPV)"
    )
    share = r.npv_to_market_reaction
    if share is not None and r.market_reaction_busd > 0 and r.npv_busd > 0 and share >= 0.005:
        text += (
            f", about {share * 100:.0f}% of the "
            f"{format_metric('market_reaction_busd', r.market_reaction_busd)} the market added "
            "on the report"
        )
    text += "."
    if ctx.readings is not None:
        text += " " + ctx.readings.sentence()
    target = target_gap_text(r)
    if target:
        text += " " + target
    be = r.breakeven_lease_rate_busd_per_gw_year
    if be is not None and s.lease_share > 0:
        text += (
            f" Leasing breaks even at US$ {be:,.2f} B per GW-year "
            f"(set at US$ {s.lease_rate_busd_per_gw_year:g} B)."
        )
    return text


def target_gap_text(r: Result) -> str:
    """How much of the gap from the share price to the price target the build's NPV per share
    explains (:func:`model.derived.price_target_gap_share`); empty without a gap.

    Examples
    --------
    >>> from model import evaluate, load_preset
    >>> target_gap_text(evaluate(load_preset("bofa-base")))
    'Its NPV per share, US$ 9.18, is 7% of the US$ 135 gap from the US$ 700 share price to the US$ 835 price target.'
    """
    share = price_target_gap_share(r)
    if share is None:
        return ""
    s = r.scenario
    per_share = format_metric("npv_per_share_usd", r.npv_per_share_usd)
    gap = (
        f"the US$ {s.price_target_usd - s.share_price_usd:,.0f} gap from the "
        f"US$ {s.share_price_usd:,.0f} share price to the US$ {s.price_target_usd:,.0f} price target"
    )
    if share < 0:
        return f"Its NPV per share, {per_share}, works against {gap}."
    return f"Its NPV per share, {per_share}, is {share * 100:.0f}% of {gap}."


def plain_names(text: str) -> str:
    """Text for people: every field's code name replaced by its label.

    >>> plain_names("1 of 10 draws had lease_share + hosting_share > 1")
    '1 of 10 draws had Leased share + Hosted share > 1'
    """
    for field in sorted(FIELD_SPECS, key=len, reverse=True):
        text = text.replace(field, FIELD_SPECS[field].label)
    return text


_CHANGE = re.compile(r"^(\w+) (\S+) -> (\S+)(?: (.*))?$")


def changes_text(text: str) -> str:
    """Changes text for people: labels instead of field names, shares and rates in percent.

    ``wacc 0.087 -> 0.117 fraction per year`` reads ``WACC 8.7% → 11.7%``.
    """
    parts = []
    for item in str(text).split("; "):
        m = _CHANGE.match(item.strip())
        if m and m.group(1) in FIELD_SPECS:
            name, a, b, unit = m.group(1), m.group(2), m.group(3), m.group(4) or ""
            spec = FIELD_SPECS[name]
            try:
                old, new = field_value_text(name, float(a)), field_value_text(name, float(b))
            except ValueError:
                old, new = a, b
            shown_unit = "" if is_percent(spec) else f" {unit}".rstrip()
            parts.append(f"{spec.label} {old} → {new}{shown_unit}")
            continue
        parts.append(plain_names(item).replace(" -> ", " → "))
    return "; ".join(p for p in parts if p)
