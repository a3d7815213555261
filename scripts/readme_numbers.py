"""The model's figures that README.md (and methodology §12.1) quote, computed from the model.

Each quoted figure sits between markers the script owns; everything else is prose it leaves alone:

* inline, for a number in a sentence: ``<!-- rn NAME -->US$ 18.0 B<!-- /rn -->``;
* a block, for a table: ``<!-- readme-numbers:start NAME -->`` ... ``<!-- readme-numbers:end -->``.

Usage::

    python scripts/readme_numbers.py            # same as --check
    python scripts/readme_numbers.py --check    # exit 1 listing every stale figure (file, name, shown, model)
    python scripts/readme_numbers.py --write    # rewrite the stale figures in place
    python scripts/readme_numbers.py --list     # every figure and its value

After a change that moves the model's numbers, ``--write`` alone brings the README up to date;
``tests/test_readme_numbers.py`` runs the check, so a stale README fails the suite. A marker that
names no figure, or a figure no file quotes, is an error too (exit 2), so the two cannot drift
apart silently. Money, rates and years use the one format of :mod:`model.metrics`.
"""

from __future__ import annotations

import argparse
import math
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from model import Result, Scenario, evaluate, load_preset, market_readings, preset_ids  # noqa: E402
from model.data import entrant_profiles  # noqa: E402
from model.engine import user_cost_busd_per_gw_year  # noqa: E402
from model.fields import FIELD_SPECS  # noqa: E402
from model.metrics import format_busd, format_metric, format_percent  # noqa: E402
from model.results import scenario_params  # noqa: E402

#: The files whose marked figures the script owns.
FILES: tuple[Path, ...] = (ROOT / "README.md", ROOT / "docs" / "methodology.md")

INLINE = re.compile(r"<!-- rn (?P<name>[A-Za-z0-9_.-]+) -->(?P<value>.*?)<!-- /rn -->", re.S)
BLOCK = re.compile(
    r"(?P<head><!-- readme-numbers:start (?P<name>[A-Za-z0-9_.-]+) -->\n)"
    r"(?P<value>.*?)(?P<tail><!-- readme-numbers:end -->)",
    re.S,
)


def _g(x: float, digits: int = 2) -> str:
    """A plain number, at most ``digits`` decimals, no trailing zeros (``42.5``, ``3``)."""
    return f"{round(float(x), digits):,.{digits}f}".rstrip("0").rstrip(".")


def _pct(x: float) -> str:
    """A fraction as a percentage without trailing zeros (``80%``, ``10.25%``)."""
    return f"{_g(float(x) * 100.0, 2)}%"


@dataclass(frozen=True)
class Case:
    """A scenario and its result."""

    scenario: Scenario
    result: Result

    @classmethod
    def of(cls, scenario: Scenario) -> Case:
        return cls(scenario, evaluate(scenario))

    @property
    def first_operating_year(self) -> int:
        return int(self.scenario.build_years)

    def cash(self, column: str, year: int | None = None) -> float:
        """A cash-flow line in an operating year (the first full one by default)."""
        cf = self.result.cash_flows
        row = self.first_operating_year + 1 if year is None else year
        return float(cf[column].iloc[row])

    def market(self, column: str, year: int | None = None) -> float:
        row = self.first_operating_year if year is None else year
        return float(self.result.market[column].iloc[row])


def _worked_example_table(c: Case) -> str:
    """The bofa-base table: each quantity, its arithmetic from the inputs, the model's value."""
    s, r = c.scenario, c.result
    b, n = int(s.build_years), int(s.operating_years)
    capex = s.gw_built * s.capex_per_gw_busd
    it = capex * s.it_share_of_capex
    fac = capex - it
    refreshes = c.result.cash_flows["capex_refresh"]
    starts = []
    t = b + s.it_life_years
    while t < b + n - 1e-9:
        starts.append(t)
        t += s.it_life_years
    per_refresh = float(refreshes.sum()) / len(starts) if starts else math.nan
    start_text = " and ".join(_g(x, 2) for x in starts) if starts else "none"
    # the last vintage's life left at the horizon (its rents the residual value counts)
    years_left = starts[-1] + s.it_life_years - (b + n) if starts else math.nan
    rows = [
        ("quantity", "arithmetic", "value"),
        (
            "initial capex",
            f"{_g(s.gw_built)} GW x US$ {_g(s.capex_per_gw_busd)} B",
            f"{format_metric('capex_initial_busd', r.capex_initial_busd)}, spread over {b} build "
            "years",
        ),
        (
            "lease revenue",
            f"{_g(s.gw_built)} GW x US$ {_g(s.lease_rate_busd_per_gw_year)} B x "
            f"{_pct(s.lease_utilization)}",
            f"{format_busd(c.cash('revenue_lease'))} per year for {n} operating years",
        ),
        (
            "gross lease yield",
            f"{_g(s.lease_rate_busd_per_gw_year)} / {_g(s.capex_per_gw_busd)}",
            format_metric("gross_lease_yield", r.gross_lease_yield),
        ),
        (
            "power",
            f"{_g(s.gw_built)} GW x 8,760 h x {_pct(s.power_load_factor)} load x "
            f"US$ {_g(s.power_price_usd_per_mwh)}/MWh",
            f"{format_busd(c.cash('power_cost'), 2)} per year",
        ),
        (
            "depreciation",
            f"{_g(it)} / {_g(s.it_life_years)} yr (IT) + {_g(fac)} / "
            f"{_g(s.facility_life_years)} yr (facility)",
            f"{format_busd(c.cash('depreciation'), 2)} per year",
        ),
        (
            "IT refreshes",
            f"{_pct(s.it_share_of_capex)} of capex, like for like, starting at years {start_text} "
            "(paid split between the year ends around the start)",
            f"{format_busd(per_refresh, 2)} each",
        ),
        (
            "residual value",
            f"the last IT vintage at market value (its {_g(years_left)} years of rents left, "
            "scaled by the cost of new IT over a new vintage's rents) plus the facility's "
            "annuity value and the site's surplus that scaling strips (methodology 2.5), taxed "
            "on the gain over book",
            f"{format_metric('residual_pv_busd', r.residual_pv_busd)} of present value",
        ),
        (
            f"NPV at {format_percent(s.wacc)} WACC",
            "from the free cash flows",
            f"about {format_metric('npv_busd', r.npv_busd)} "
            f"({format_metric('npv_per_share_usd', r.npv_per_share_usd)} per share)",
        ),
        (
            "IRR / MIRR",
            "",
            f"{format_metric('irr', r.irr)} / {format_metric('mirr', r.mirr)}",
        ),
        (
            "payback",
            "from the first capex year (last crossing) / from the start of operation (first "
            "crossing)",
            f"{_g(r.payback_years or math.nan, 1)} / "
            f"{_g(r.payback_from_operation_years or math.nan, 1)} years",
        ),
        (
            "breakeven lease rate",
            "NPV = 0",
            f"{format_busd(r.breakeven_lease_rate_busd_per_gw_year)} per GW-year",
        ),
    ]
    lines = [f"| {' | '.join(rows[0])} |", "|---|---|---|"]
    lines += [f"| {' | '.join(row)} |".replace("|  |", "| |") for row in rows[1:]]
    return "\n".join(lines) + "\n"


def _readings_table() -> str:
    """Every preset's still-market and moving-market NPV and IRR (methodology §12.1)."""
    lines = [
        "| preset | entry lag as set, years | premium lasts: NPV | IRR | entrants catch up: NPV "
        "| IRR |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for pid in preset_ids():
        rd = market_readings(load_preset(pid))
        lines.append(
            f"| {pid} | {_g(rd.scenario.entry_lag_years)} "
            f"| {format_metric('npv_busd', rd.still.npv_busd)} | {format_metric('irr', rd.still.irr)} "
            f"| {format_metric('npv_busd', rd.moving.npv_busd)} "
            f"| {format_metric('irr', rd.moving.irr)} |"
        )
    return "\n".join(lines) + "\n"


def figures() -> dict[str, str]:
    """Every marked figure by name: its text as the files should show it."""
    base = Case.of(load_preset("bofa-base"))
    s, r = base.scenario, base.result
    eff = Case.of(load_preset("openai-efficiency"))
    es = eff.scenario
    builder_only = Case.of(
        es.replace(
            efficiency_diffusion=0.0,
            hosting_share=0.5,
            lease_share=0.5,
        )
    )
    market = Case.of(load_preset("market-base"))
    ms = market.scenario
    neocloud = entrant_profiles()[FIELD_SPECS["entrant_profile"].choices[ms.entrant_profile]]
    hyper = Case.of(
        ms.replace(entrant_profile=FIELD_SPECS["entrant_profile"].choices.index("hyperscaler"))
    )
    own = Case.of(
        ms.replace(entrant_profile=FIELD_SPECS["entrant_profile"].choices.index("builder"))
    )
    cluster = Case.of(load_preset("coreweave-cluster"))
    bofa_readings = market_readings(s, r)
    market_reading = market_readings(ms, market.result)

    def ceiling(c: Case) -> str:
        # the entrant's user cost: the ceiling once entry has caught up (in the first operating
        # year the ceiling may still hold scarcity above it, methodology 4.7)
        return format_busd(float(user_cost_busd_per_gw_year(scenario_params([c.scenario]))[0]))

    m_volume = market.market("token_volume_index", 1) / market.market("token_volume_index", 0)
    out: dict[str, str] = {
        # bofa-base
        "bofa.gw": _g(s.gw_built),
        "bofa.capex": f"US$ {_g(s.capex_per_gw_busd)} B",
        "bofa.rate": f"US$ {_g(s.lease_rate_busd_per_gw_year)} B",
        "bofa.reaction": format_busd(r.market_reaction_busd, 0),
        "bofa.reaction_return": f"{s.market_reaction_excess_return * 100:.0f}%",
        "bofa.share_price": f"US$ {_g(s.share_price_usd)}",
        "bofa.npv_share_of_reaction": format_metric(
            "npv_to_market_reaction", r.npv_to_market_reaction
        ),
        "bofa.lag": _g(s.entry_lag_years),
        "bofa.readings": bofa_readings.sentence(),
        # openai-efficiency: an industry-wide 2x gain, and the builder-only variant
        "eff.price": f"{_g(es.efficiency_multiplier)}^-{_g(es.price_pass_through)}",
        "eff.pass_through": _pct(es.price_pass_through),
        "eff.elasticity": _g(es.demand_elasticity),
        "eff.compute_demand_fall": f"{(1.0 - eff.market('compute_demand_index')) * 100:.0f}%",
        "eff.contract_index": f"{_g(eff.market('contracted_lease_rate_index'))}x",
        "eff.npv": format_metric("npv_busd", eff.result.npv_busd),
        "eff.builder_only_npv": format_metric("npv_busd", builder_only.result.npv_busd),
        "eff.hosting_cap": _pct(es.hosting_market_share_cap),
        # market-base and its entrants
        "market.h": _pct(ms.hardware_cost_decline_per_year),
        "market.volume_growth": f"x{_g(m_volume, 1)}",
        "market.capacity_growth": f"x{_g(1.0 + ms.industry_capacity_growth_per_year, 2)}",
        "market.neocloud_ceiling": ceiling(market),
        "market.neocloud_wacc": _pct(neocloud.wacc),
        "market.neocloud_power": f"US$ {_g(neocloud.power_price_usd_per_mwh)} per MWh",
        "market.neocloud_pue": _g(neocloud.pue),
        "market.neocloud_contract": f"{_g(neocloud.contract_years)}-year",
        "market.npv": format_metric("npv_busd", market.result.npv_busd),
        "market.irr": format_metric("irr", market.result.irr),
        "market.wacc": format_percent(ms.wacc),
        "market.readings": market_reading.sentence(),
        "market.hyperscaler_ceiling": ceiling(hyper),
        "market.hyperscaler_npv": format_metric("npv_busd", hyper.result.npv_busd),
        "market.builder_npv": format_metric("npv_busd", own.result.npv_busd),
        "market.builder_irr": format_metric("irr", own.result.irr),
        "cluster.payback": _g(cluster.result.payback_from_operation_years or math.nan, 1),
    }
    return out


def blocks() -> dict[str, str]:
    """Every marked block by name: its body as the files should show it."""
    return {
        "worked-example": _worked_example_table(Case.of(load_preset("bofa-base"))),
        "readings-table": _readings_table(),
    }


@dataclass(frozen=True)
class Stale:
    file: str
    name: str
    shown: str
    model: str


def render(
    text: str, file: str, inline: dict[str, str], block: dict[str, str]
) -> tuple[str, list[Stale], list[str], set[str]]:
    """``text`` with every marked figure set to the model's; the stale ones, the unknown marker
    names, and the names used."""
    stale: list[Stale] = []
    unknown: list[str] = []
    used: set[str] = set()

    def sub(table: dict[str, str], kind: str) -> Callable[[re.Match[str]], str]:
        def replace(m: re.Match[str]) -> str:
            name, shown = m.group("name"), m.group("value")
            used.add(name)
            if name not in table:
                unknown.append(f"{file}: {kind} {name!r} names no figure")
                return m.group(0)
            want = table[name]
            if shown != want:
                stale.append(Stale(file, name, shown.strip(), want.strip()))
            start, end = m.span("value")
            whole = m.group(0)
            offset = m.start()
            return whole[: start - offset] + want + whole[end - offset :]

        return replace

    text = BLOCK.sub(sub(block, "block"), text)
    text = INLINE.sub(sub(inline, "figure"), text)
    return text, stale, unknown, used


def run(write: bool, files: tuple[Path, ...] = FILES) -> tuple[list[Stale], list[str]]:
    """Check (or rewrite) the files; returns the stale figures and the problems."""
    inline, block = figures(), blocks()
    all_stale: list[Stale] = []
    problems: list[str] = []
    used: set[str] = set()
    for path in files:
        text = path.read_text(encoding="utf-8")
        shown = path.relative_to(ROOT).as_posix() if path.is_relative_to(ROOT) else str(path)
        new, stale, unknown, names = render(text, shown, inline, block)
        all_stale += stale
        problems += unknown
        used |= names
        if write and new != text:
            path.write_text(new, encoding="utf-8")
    for name in sorted((set(inline) | set(block)) - used):
        problems.append(f"figure {name!r} is computed but no file quotes it")
    return all_stale, problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--check", action="store_true", help="list stale figures (the default)")
    mode.add_argument("--write", action="store_true", help="rewrite stale figures in place")
    mode.add_argument("--list", action="store_true", help="print every figure and its value")
    args = parser.parse_args(argv)
    if args.list:
        for name, value in {**figures(), **blocks()}.items():
            print(f"{name}: {value.rstrip()}")
        return 0
    stale, problems = run(write=args.write)
    for p in problems:
        print(f"error: {p}", file=sys.stderr)
    for st in stale:
        verb = "rewrote" if args.write else "stale"
        if "\n" in st.model:
            print(f"{verb}: {st.file} block {st.name}")
        else:
            print(f"{verb}: {st.file} {st.name}: {st.shown!r} -> {st.model!r}")
    if problems:
        return 2
    if stale and not args.write:
        print(
            f"{len(stale)} stale figure(s): run `python scripts/readme_numbers.py --write`",
            file=sys.stderr,
        )
        return 1
    if not stale:
        print("every marked figure matches the model")
    return 0


if __name__ == "__main__":
    sys.exit(main())
