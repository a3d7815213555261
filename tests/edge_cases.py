"""Scenarios at the edge of the input space: where Hypothesis shrinks a failing case to (every
field at its lower bound but a few), kept as regression examples by the tests that found them."""

from __future__ import annotations

from model import FIELD_SPECS, Scenario


def at_field_lows(**changes: float) -> Scenario:
    """Every field at the lower bound of its range (``data/ranges.csv``) but ``changes``."""
    lows: dict[str, float] = {
        name: int(spec.low) if spec.integer else float(spec.low)
        for name, spec in FIELD_SPECS.items()
    }
    return Scenario(**{**lows, **changes})
