"""Every model figure README.md quotes is the model's (methodology §12.1 and the README's worked
example): ``scripts/readme_numbers.py --check`` passes, and the check can fail."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "scripts" / "readme_numbers.py"


def _script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("readme_numbers", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["readme_numbers"] = module
    spec.loader.exec_module(module)
    return module


rn = _script()


def test_the_readme_and_the_methodology_quote_the_models_figures() -> None:
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "--check"], capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, (
        "README.md or docs/methodology.md quotes a stale figure; run "
        "`python scripts/readme_numbers.py --write`:\n" + done.stdout + done.stderr
    )


def test_a_stale_figure_is_found_and_rewritten() -> None:
    figures, blocks = rn.figures(), rn.blocks()
    text = (
        "NPV <!-- rn market.npv -->US$ 99.9 B<!-- /rn --> and\n"
        "<!-- readme-numbers:start readings-table -->\nold table\n<!-- readme-numbers:end -->\n"
    )
    new, stale, unknown, used = rn.render(text, "x.md", figures, blocks)
    assert not unknown and used == {"market.npv", "readings-table"}
    assert {s.name for s in stale} == {"market.npv", "readings-table"}
    assert f"<!-- rn market.npv -->{figures['market.npv']}<!-- /rn -->" in new
    assert blocks["readings-table"] in new and "old table" not in new
    again, stale_again, _, _ = rn.render(new, "x.md", figures, blocks)
    assert again == new and not stale_again  # rewriting is idempotent


def test_the_worked_example_is_the_models() -> None:
    from model import evaluate, load_preset
    from model.metrics import format_metric

    s = load_preset("bofa-base")
    r = evaluate(s)
    table = rn.blocks()["worked-example"]
    for metric in ("npv_busd", "irr", "mirr", "gross_lease_yield", "residual_pv_busd"):
        assert format_metric(metric, r.metrics()[metric]) in table, metric
    # the power line's arithmetic as the table states it: GW x 8,760 h x load x US$ per MWh
    power = float(r.cash_flows["power_cost"].iloc[s.build_years + 1])
    want = s.gw_built * 8760 * s.power_load_factor * s.power_price_usd_per_mwh / 1e6
    assert power == pytest.approx(want, rel=1e-9)


def test_an_unknown_marker_is_an_error(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text("<!-- rn no.such.figure -->1<!-- /rn -->\n", encoding="utf-8")
    _, problems = rn.run(write=False, files=(page,))
    assert any("no.such.figure" in p for p in problems)
