"""What every dashboard view receives: the scenario as set, its result, and the preset's."""

from __future__ import annotations

from dataclasses import dataclass

from model import Result, Scenario


@dataclass(frozen=True)
class ViewContext:
    """The current scenario and its evaluation, plus the chosen preset's for deltas."""

    preset_id: str
    scenario: Scenario
    result: Result
    preset_scenario: Scenario
    preset_result: Result

    @property
    def label(self) -> str:
        """Short description of the scenario for chart titles."""
        s = self.scenario
        changed = len(s.diff(self.preset_scenario))
        suffix = f", {changed} input{'s' if changed != 1 else ''} changed" if changed else ""
        return (
            f"{self.preset_id}{suffix}: {s.gw_built:g} GW at US${s.capex_per_gw_busd:g} B/GW, "
            f"lease US${s.lease_rate_busd_per_gw_year:g} B/GW-yr, efficiency {s.efficiency_multiplier:g}x"
        )
