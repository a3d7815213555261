"""``python -m model evaluate``: the scenario's metrics as a table, or everything as JSON.

Bad input exits with status 2 and one line per problem on stderr (the first
:data:`MAX_PROBLEM_LINES`, then a count of the rest), never a traceback. ``--preset`` and
``--scenario`` are exclusive: a file names its own preset.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections.abc import Sequence
from typing import Any, NoReturn

from model.conditions import conditions_of, conditions_text
from model.data import DEFAULT_PRESET
from model.io import load_scenario_file, parse_assignment
from model.results import METRIC_UNITS, Result, evaluate
from model.scenario import (
    Scenario,
    ScenarioError,
    load_preset,
    make_scenario,
    preset_ids,
    scenario_values,
)

EXIT_BAD_INPUT = 2
#: Problems printed one per line before the rest is only counted.
MAX_PROBLEM_LINES = 20


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        sys.stderr.write(f"error: {message}\n")
        raise SystemExit(EXIT_BAD_INPUT)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="python -m model", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    ev = sub.add_parser("evaluate", help="evaluate one scenario")
    ev.error = parser.error  # type: ignore[method-assign]
    source = ev.add_mutually_exclusive_group()
    source.add_argument(
        "--preset",
        default=None,
        help=f"preset id (default {DEFAULT_PRESET}); one of: {', '.join(preset_ids())}",
    )
    source.add_argument(
        "--scenario",
        default=None,
        metavar="FILE",
        help="scenario file (.toml or .json; it names its own preset)",
    )
    ev.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="FIELD=VALUE",
        help="override one field (repeatable)",
    )
    ev.add_argument(
        "--json",
        action="store_true",
        help="print scenario, metrics, cash flows and market indices as JSON",
    )
    return parser


def resolve_scenario(
    preset: str | None, scenario_file: str | None, sets: Sequence[str]
) -> tuple[Scenario, str]:
    """Scenario from a preset or a file, then ``--set`` overrides (raises ScenarioError).

    ``preset`` and ``scenario_file`` are exclusive (a file names its own preset; relabelling its
    values as another preset would misstate them): giving both raises ScenarioError.
    """
    if scenario_file is not None and preset is not None:
        raise ScenarioError(
            ["--preset and --scenario are exclusive (a scenario file names its own preset)"]
        )
    if scenario_file is not None:
        base, preset_id = load_scenario_file(scenario_file)
    else:
        preset_id = preset or DEFAULT_PRESET
        base = load_preset(preset_id)
    overrides: dict[str, float] = {}
    problems: list[str] = []
    for item in sets:
        try:
            key, value = parse_assignment(item)
            overrides[key] = value
        except ScenarioError as exc:
            problems += exc.problems
    if problems:
        raise ScenarioError(problems)
    return make_scenario({**scenario_values(base), **overrides}), preset_id


def capped_problems(problems: Sequence[str], limit: int = MAX_PROBLEM_LINES) -> list[str]:
    """The first ``limit`` problems, then one line counting the rest (for the CLIs).

    Examples
    --------
    >>> capped_problems([f"p{i}" for i in range(23)], 2)
    ['p0', 'p1', '... and 21 more problems']
    """
    shown = list(problems[:limit])
    if len(problems) > limit:
        rest = len(problems) - limit
        shown.append(f"... and {rest:,} more problem{'s' if rest != 1 else ''}")
    return shown


def _clean(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if hasattr(value, "item"):
        return _clean(value.item())
    return value


def result_json(result: Result, preset: str) -> dict[str, Any]:
    """The JSON object printed by ``--json``: scenario, metrics, conditions, cash_flows, market.

    ``conditions`` lists what the result carries (:func:`model.conditions.conditions_of`):
    ``code``, ``severity`` and ``text`` each.
    """
    return {
        "preset": preset,
        "scenario": result.scenario.model_dump(),
        # a dated curve (methodology 4.8), as a scenario file writes it; null without one
        "curves": (
            {"lease_rate": result.scenario.lease_curve.document()}
            if result.scenario.lease_curve is not None
            else None
        ),
        "metrics": {
            k: _clean(v) for k, v in {**result.metrics(), **result.surplus_metrics()}.items()
        },
        "conditions": [
            {"code": c.code, "severity": c.severity, "text": c.text} for c in conditions_of(result)
        ],
        "cash_flows": [
            {k: _clean(v) for k, v in row.items()}
            for row in result.dated_cash_flows.to_dict("records")
        ],
        "market": [
            {k: _clean(v) for k, v in row.items()} for row in result.dated_market.to_dict("records")
        ],
    }


def format_table(result: Result) -> str:
    """The metrics as an aligned text table with units."""
    rows = []
    for name, value in result.metrics().items():
        unit = METRIC_UNITS.get(name, "")
        text = "n/a" if value is None else f"{value:,.4f}"
        rows.append((name, text, unit))
    w1 = max(len(r[0]) for r in rows)
    w2 = max(len(r[1]) for r in rows)
    return "\n".join(f"{a:<{w1}}  {b:>{w2}}  {c}" for a, b, c in rows)


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        scenario, preset = resolve_scenario(args.preset, args.scenario, args.set)
    except ScenarioError as exc:
        for problem in capped_problems(exc.problems):
            sys.stderr.write(f"error: {problem}\n")
        return EXIT_BAD_INPUT
    result = evaluate(scenario)
    if args.json:
        sys.stdout.write(json.dumps(result_json(result, preset), indent=2, allow_nan=False) + "\n")
    else:
        sys.stdout.write(
            f"Scenario: preset {preset}; {scenario.gw_built:g} GW at US$"
            f"{scenario.capex_per_gw_busd:g} B per GW\n"
        )
        sys.stdout.write(format_table(result) + "\n")
        for line in conditions_text(result):
            sys.stdout.write(line + "\n")
    return 0
