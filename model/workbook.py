"""The live workbook: a scenario's annual statement and returns as spreadsheet formulas.

:func:`live_workbook` builds an openpyxl workbook whose sheets recalculate in Excel, LibreOffice
Calc and Google Sheets (only functions all three have: no LAMBDA, LET, dynamic arrays or
macros). ``Inputs`` holds every field as a named cell, ``Market`` the market paths by year
(the frontier rent and its bounds, vintages, hosting: formulas from
:mod:`model.workbook_market`) and the stale flag, ``Derived`` the
scalars the rows share, ``Cash flows`` every line of :data:`model.engine.LINE_NAMES` as one
formula per row copied across the years, ``Returns`` the metrics as named cells and ``Check``
the model's figures beside the workbook's. Conventions: ``docs/methodology.md`` section 13.

Pure: no Streamlit, no Plotly; openpyxl is imported when a workbook is built.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from model.engine import LINE_NAMES
from model.fields import FIELD_NAMES, FIELD_SPECS
from model.metrics import metric_label
from model.results import BATCH_METRICS, Result, evaluate
from model.scenario import Scenario
from model.tax import HIGHEST_FACILITY_CLASS, IT_TAX_CLASS_YEARS, LOWEST_FACILITY_CLASS, macrs_rates
from model.workbook_market import MARKET_SCALARS, RESIDUAL_SCALARS, index_rows, market_rows

#: Inputs that set the workbook's columns (the years of the horizon): editing one raises the
#: stale flag (re-run the model and export again).
STRUCTURAL_INPUTS: tuple[str, ...] = ("build_years", "operating_years")
#: Inputs the workbook's formulas follow exactly: edit them in ``Inputs`` and every line and
#: metric recalculates to what :func:`model.evaluate` gives for the edited scenario (tested in
#: LibreOffice): every field but the two that set the columns.
LIVE_INPUTS: tuple[str, ...] = tuple(n for n in FIELD_NAMES if n not in STRUCTURAL_INPUTS)

#: Root counts of the IRR search: the model's diagnostics, not spreadsheet formulas.
NOT_IN_WORKBOOK: tuple[str, ...] = ("irr_root_count", "equity_irr_root_count")
#: Metrics the ``Returns`` sheet computes: every batch metric of :mod:`model.results` (named as in
#: :mod:`model.metrics`) but the root counts, so a new metric cannot be forgotten.
RETURN_METRICS: tuple[str, ...] = tuple(m for m in BATCH_METRICS if m not in NOT_IN_WORKBOOK)

#: Sheet names.
ABOUT, INPUTS, MARKET, DERIVED, CASH, RETURNS, CHECK, TABLES, CONDITIONS = (
    "About",
    "Inputs",
    "Market",
    "Derived",
    "Cash flows",
    "Returns",
    "Check",
    "Tax tables",
    "Conditions",
)
#: Headers of the ``Conditions`` sheet: as conditions.csv (``app.export.tables.conditions_frame``).
CONDITION_HEADERS: tuple[str, str, str] = ("Condition", "Severity", "What it means for this result")
FIRST_YEAR_COL = 4  # column D: year 0
BUSD_FORMAT = "#,##0.0;-#,##0.0"
INDEX_FORMAT = "0.000"
PERCENT_FORMAT = "0.0%"
YEARS_FORMAT = "0.0"


@dataclass(frozen=True)
class Row:
    """One row of a year-by-year sheet: ``template`` is the formula of a year's cell.

    In a template ``{row}`` is the same year's cell of another row of the sheet, ``{row@prev}``
    the previous year's (0 in year 0), ``{row@all}`` the whole row, ``{Sheet!row}`` a row of
    another sheet; bare names are workbook-level defined names (inputs and derived scalars).
    """

    name: str
    label: str
    template: str
    fmt: str = BUSD_FORMAT


_REF = re.compile(r"\{(?:(?P<sheet>[A-Za-z ]+)!)?(?P<row>\w+)(?:@(?P<mod>\w+))?\}")


def _col(i: int) -> str:
    from openpyxl.utils import get_column_letter

    return str(get_column_letter(i))


def _quote(sheet: str) -> str:
    return f"'{sheet}'"


class _YearSheet:
    """Rows of formulas, one column per year, laid out from row ``first_row`` down."""

    def __init__(self, ws: Any, title: str, n_years: int, first_row: int) -> None:
        self.ws, self.title, self.n = ws, title, n_years
        self.next_row = first_row
        self.row_of: dict[str, int] = {}
        self.registry: dict[str, _YearSheet] = {title: self}

    def span(self, name: str) -> str:
        r = self.row_of[name]
        return f"${_col(FIRST_YEAR_COL)}${r}:${_col(FIRST_YEAR_COL + self.n - 1)}${r}"

    def ref(self, sheet: str | None, row: str, mod: str | None, col: int, host: str) -> str:
        target = self.registry[sheet] if sheet else self
        prefix = f"{_quote(target.title)}!" if target.title != host else ""
        r = target.row_of[row]
        if mod == "all":
            return prefix + target.span(row)
        if mod == "prev":
            return "0" if col == FIRST_YEAR_COL else f"{prefix}{_col(col - 1)}{r}"
        if mod is not None:
            raise ValueError(f"unknown row modifier @{mod}")
        return f"{prefix}{_col(col)}{r}"

    def formula(self, template: str, col: int, host: str | None = None) -> str:
        """The cell formula of ``template`` in column ``col`` of sheet ``host`` (this one)."""
        where = host or self.title
        return "=" + _REF.sub(
            lambda m: self.ref(m["sheet"], m["row"], m["mod"], col, where), template
        )

    def heading(self, text: str) -> None:
        from openpyxl.styles import Font

        self.next_row += 1
        self.ws.cell(self.next_row, 1, text).font = Font(bold=True, size=12)
        self.next_row += 1

    def reserve(self, rows: list[Row]) -> None:
        """Give rows their places first, so templates may refer to rows further down."""
        r = self.next_row
        for row in rows:
            if row.name in self.row_of:
                raise ValueError(f"row {row.name} twice on {self.title}")
            self.row_of[row.name] = r
            r += 1

    def write(self, rows: list[Row], *, values: Mapping[str, np.ndarray] | None = None) -> None:
        """Write rows (placed by :meth:`reserve`) as formulas, or as ``values`` where given."""
        for row in rows:
            r = self.row_of[row.name]
            self.ws.cell(r, 1, row.name)
            self.ws.cell(r, 2, row.label)
            self.ws.cell(r, 3, readable(row.template) if values is None else "value")
            for j in range(self.n):
                c = FIRST_YEAR_COL + j
                if values is not None:
                    v = float(values[row.name][j])
                    cell = self.ws.cell(r, c, v if math.isfinite(v) else None)
                else:
                    cell = self.ws.cell(r, c, self.formula(row.template, c))
                cell.number_format = row.fmt
            self.next_row = max(self.next_row, r + 1)


def readable(template: str) -> str:
    """A row's formula in names: ``{ebitda}-{tax}`` -> ``ebitda-tax`` (text, not a formula)."""

    def one(m: re.Match[str]) -> str:
        mod = m["mod"]
        return m["row"] + ("[t-1]" if mod == "prev" else "[all years]" if mod == "all" else "")

    return _REF.sub(one, template)


# ---- the rows -------------------------------------------------------------------------------

_FIRST = "INDEX({{Market!{0}@all}},1,build_years+1)"


def _ramped(path: str, scale: str = "") -> str:
    """A revenue line: the model's path x the ramp, plus the phased share of its first year."""
    inner = (
        f"{{Market!{path}}}*{{ramp}}+{{phased_share}}*"
        + _FIRST.format(path)
        + "*ramp_first_year_share"
    )
    return f"{scale}*({inner})" if scale else inner


def _phased(path: str) -> str:
    return f"{{Market!{path}}}+{{phased_share}}*" + _FIRST.format(path)


def _integral(x: str, life: str, k: str) -> str:
    """``life x integral_0^u min(floor(w), k) dw``, ``u = max((x - B) / life, 0)`` (sec. 2.2)."""
    u = f"MAX(({x}-build_years)/{life},0)"
    v = f"MIN({u},{k})"
    f = f"INT({v})"
    return f"{life}*({f}*({f}-1)/2+{f}*({v}-{f})+{k}*MAX({u}-{k},0))"


def _colocation(at: str, life: str) -> str:
    """PV at the end of year ``at`` of colocation rent over ``life`` years at the lessor's yield:
    ``c GW (1 + g)^at q (1 - q^l) / (1 - q)`` (``l`` where ``q = 1``; section 11.9)."""
    return (
        f"campus_colocation_rent_busd_per_gw_year*gw_built*(1+campus_colocation_rent_growth)^({at})"
        f"*IF(ABS(campus_coloc_q-1)>1E-12,campus_coloc_q*(1-campus_coloc_q^({life}))"
        f"/(1-campus_coloc_q),{life})"
    )


def _tax_rows(prefix: str, income: str, label: str) -> list[Row]:
    """Stand-alone loss pool: ``used = min(pool, lambda x profit)`` (methodology 11.2)."""
    return [
        Row(
            f"{prefix}_loss_used",
            f"losses used against {label}",
            f"MIN({{{prefix}_loss_pool@prev}},nol_offset_limit_share*MAX({{{income}}},0))",
        ),
        Row(
            f"{prefix}_loss_pool",
            f"losses carried forward ({label})",
            f"{{{prefix}_loss_pool@prev}}-{{{prefix}_loss_used}}+MAX(-{{{income}}},0)",
        ),
    ]


def _cash_rows() -> tuple[list[Row], list[Row], list[Row]]:
    """Timeline rows, the statement's lines and the workings, in sheet order."""
    timeline = [
        Row("year", "year index (0 = first construction year)", "", "0"),
        Row(
            "operating",
            "1 in operating years",
            "IF(AND({year}>=build_years,{year}<horizon_years),1,0)",
            "0",
        ),
        Row(
            "last_year", "1 in the last year of the horizon", "IF({year}=horizon_years-1,1,0)", "0"
        ),
        Row(
            "ramp",
            "billed share of capacity while utilisation ramps up",
            "IF({year}=build_years,ramp_first_year_share,"
            "IF({year}=build_years+1,ramp_second_year_share,1))",
            PERCENT_FORMAT,
        ),
        Row(
            "phased_share",
            "share online in a build year (phased online)",
            "IF(AND(phased_online>0.5,{year}<build_years),"
            "{year}*(1+build_front_loading*(build_years-{year})/MAX(build_years-1,1))/build_years,0)",
            PERCENT_FORMAT,
        ),
        Row("discount_factor", "discount factor (1 + wacc)^-t", "(1+wacc)^(-{year})", "0.0000"),
    ]
    lines = [
        Row("revenue_lease", "lease revenue", _ramped("lease_revenue_before_ramp_busd")),
        Row("revenue_hosting", "hosting revenue", _ramped("hosting_revenue_before_ramp_busd")),
        Row(
            "revenue_resale",
            "resale of procured capacity",
            "lease_rate_busd_per_gw_year*lease_utilization*procured_gw*"
            "{Market!billed_lease_rate_index}",
        ),
        Row(
            "revenue_internal",
            "internal use at the transfer price",
            _ramped("internal_revenue_at_full_transfer_busd", "internal_transfer_price_share"),
        ),
        Row(
            "revenue",
            "revenue",
            "{revenue_lease}+{revenue_hosting}+{revenue_resale}+{revenue_internal}",
        ),
        Row("power_cost", "power", _phased("power_cost_before_phasing_busd")),
        Row("other_opex", "other opex", _phased("other_opex_before_phasing_busd")),
        Row("variable_opex", "variable opex", "{revenue}*variable_opex_share_of_revenue"),
        Row(
            "procurement_cost",
            "procurement of resold capacity",
            "{operating}*procured_gw*procurement_cost_busd_per_gw_year",
        ),
        Row("licence_fee", "licence fee on hosting", "hosting_licence_fee_share*{revenue_hosting}"),
        Row(
            "ebitda",
            "EBITDA",
            "{revenue}-{power_cost}-{other_opex}-{variable_opex}-{procurement_cost}-{licence_fee}",
        ),
        Row(
            "depreciation",
            "book depreciation (IT over its book life with write-offs, section 11.8)",
            "{it_book_charged}-{it_book_charged@prev}"
            "+{operating}*cost_facility_busd/facility_life_years",
        ),
        Row(
            "tax_depreciation",
            "tax depreciation",
            "IF(book_tax=1,{depreciation},{tax_depreciation_it}+{tax_depreciation_facility})",
        ),
        Row("ebit", "EBIT", "{ebitda}-{depreciation}"),
        Row(
            "residual_gain",
            "gain on the residual against book",
            "{residual_value}-{last_year}*(nbv_it_end_busd+nbv_facility_end_busd)",
        ),
        Row(
            "tax",
            "cash tax (unlevered)",
            "IF(tax_in_group>0.5,tax_rate*{taxable_income},"
            "tax_rate*(MAX({taxable_income},0)-{unlevered_loss_used}))",
        ),
        Row("nopat", "NOPAT", "{ebit}-{tax}"),
        Row("capex", "capex", "{build_capex}+{capex_refresh}"),
        Row("capex_refresh", "refresh capex", "{refresh_it}+{refresh_facility}"),
        Row(
            "residual_value",
            "residual value at the horizon",
            "{last_year}*residual_value_fraction*residual_value_at_full_fraction_busd",
        ),
        Row("fcf", "free cash flow", "{ebitda}-{tax}-{capex}+{residual_value}"),
        Row("cumulative_fcf", "cumulative FCF", "{cumulative_fcf@prev}+{fcf}"),
        Row("discounted_fcf", "discounted FCF", "{fcf}*{discount_factor}"),
        Row(
            "net_book_value",
            "net book value",
            "{net_book_value@prev}+{capex}-{depreciation}",
        ),
        Row("lessor_funding", "campus lessor's funding", "campus_lease_share*{capex_facility}"),
        Row("campus_rent", "campus rent", "{operating}*campus_level_rent_busd"),
        Row(
            "debt_drawdown",
            "debt drawdown (interest capitalised in construction)",
            "IF({year}<build_years,{debt_draw_cash}+{interest},0)",
        ),
        Row("interest", "interest accrued", "debt_interest_rate*{debt_opening}"),
        Row(
            "debt_repayment",
            "debt repayment",
            "IF(OR({year}<build_years,{year}>debt_last_repay_year),0,"
            "IF({year}=debt_last_repay_year,{debt_opening},MIN(MAX({debt_due},0),{debt_opening})))",
        ),
        Row(
            "debt_balance",
            "debt balance",
            "{debt_opening}+{debt_drawdown}-{debt_repayment}",
        ),
        Row(
            "tax_levered",
            "cash tax (levered)",
            "IF(financed=1,{tax_with_debt},{tax})",
        ),
        Row(
            "fcf_to_equity",
            "FCF to the builder's equity",
            "IF(financed=1,(1-partner_share_of_capex)*{project_equity_flow},{fcf})",
        ),
    ]
    build = (
        "IF({year}<build_years,capex_total_busd*(1+build_front_loading*"
        "IF(build_years>1,1-2*{year}/MAX(build_years-1,1),0))/build_years,0)"
    )
    workings: list[Row] = [Row("build_capex", "build capex", build)]
    for cls, life, k in (
        ("it", "it_life_years", "last_it_vintage"),
        ("facility", "facility_life_years", "last_facility_vintage"),
    ):
        for off in (0, 1, 2):
            x = "{year}" if off == 0 else f"({{year}}+{off})"
            workings.append(
                Row(
                    f"vintage_integral_{cls}_{off}",
                    f"vintages of {cls} started, integrated to t+{off} (section 2.2)",
                    _integral(x, life, k),
                    "0.000",
                )
            )
        count = (
            f"{{vintage_integral_{cls}_2}}-2*{{vintage_integral_{cls}_1}}"
            f"+{{vintage_integral_{cls}_0}}"
        )
        cost = "cost_it_busd" if cls == "it" else "cost_facility_busd"
        workings += [
            Row(f"refresh_count_{cls}", f"{cls} vintages paid this year", count, "0.000"),
            Row(
                f"refresh_{cls}",
                f"refresh capex, {cls}",
                f"{cost}*IF({{refresh_count_{cls}}}>1E-12,{{refresh_count_{cls}}},0)",
            ),
            Row(
                f"placed_{cls}",
                f"{cls} placed in service",
                f"IF({{year}}=build_years,{cost},0)+{{refresh_{cls}}}",
            ),
            Row(
                f"book_depreciation_{cls}",
                f"straight line over the service life, {cls} (the tax straight-line)",
                f"{{operating}}*({cost}/{life})",
            ),
        ]
    # the IT's book charge by the end of the year's operating part (section 11.8): vintages
    # retired n, the age a of the one in service, cost / L_b (n min(L_b, L_s) + min(a, L_b))
    # plus n write-offs of cost max(1 - L_s / L_b, 0)
    op_end = "(MIN(MAX({year}+1,build_years),horizon_years)-build_years)"
    workings += [
        Row(
            "it_retired_by_end",
            "IT vintages retired by the year's end (at most the last started)",
            f"MIN(INT(ROUND({op_end}/it_life_years,9)),last_it_vintage)",
            "0.000",
        ),
        Row(
            "it_book_charged",
            "IT book charge to date: depreciation over the book life and write-offs",
            "cost_it_busd/it_book_life_years*({it_retired_by_end}*MIN(it_book_life_years,"
            f"it_life_years)+MIN({op_end}-{{it_retired_by_end}}*it_life_years,"
            "it_book_life_years))+{it_retired_by_end}*cost_it_busd*"
            "MAX(1-it_life_years/it_book_life_years,0)",
        ),
    ]
    workings += [
        Row(
            "capex_facility",
            "facility capex (build and refresh)",
            "{build_capex}*(1-it_share_of_capex)+{refresh_facility}",
        ),
        Row(
            "macrs_schedule_it",
            "IT schedule: MACRS 5-year or book",
            "IF(macrs_depreciation>0.5,{macrs_it},{book_depreciation_it})",
        ),
        Row(
            "macrs_schedule_facility",
            "facility schedule: MACRS of its class or book",
            "IF(macrs_depreciation>0.5,{macrs_facility},{book_depreciation_facility})",
        ),
        Row(
            "tax_depreciation_it",
            "tax depreciation, IT (bonus + schedule)",
            "bonus_depreciation_share*{placed_it}+(1-bonus_depreciation_share)*{macrs_schedule_it}",
        ),
        Row(
            "tax_depreciation_facility",
            "tax depreciation, facility",
            "facility_bonus_share*{placed_facility}+(1-facility_bonus_share)*"
            "{macrs_schedule_facility}",
        ),
        Row(
            "taxable_income",
            "taxable income before interest",
            "{ebit}+{residual_gain}+IF(book_tax=1,0,"
            "{depreciation}-{tax_depreciation}+{last_year}*tax_basis_gap_busd)",
        ),
        Row(
            "disposal_taxable",
            "taxable on disposal at the horizon",
            "{residual_gain}+IF(book_tax=1,0,{last_year}*tax_basis_gap_busd)",
        ),
        *_tax_rows("unlevered", "taxable_income", "taxable income"),
        Row(
            "taxable_without_disposal",
            "taxable income without the disposal",
            "{taxable_income}-{disposal_taxable}",
        ),
        *_tax_rows("nodisposal", "taxable_without_disposal", "income without the disposal"),
        Row(
            "tax_without_disposal",
            "cash tax without the disposal",
            "IF(tax_in_group>0.5,tax_rate*{taxable_without_disposal},"
            "tax_rate*(MAX({taxable_without_disposal},0)-{nodisposal_loss_used}))",
        ),
        Row(
            "residual_pv_flow",
            "residual after the tax on its gain, discounted",
            "{last_year}*({residual_value}-({tax}-{tax_without_disposal}))*{discount_factor}",
        ),
        Row(
            "lessor_discount",
            "lessor's discount factor (1 + yield)^-t",
            "(1+campus_lease_yield)^(-{year})",
            "0.0000",
        ),
        Row(
            "lease_end_payment",
            "handover and guarantee shortfall at the horizon",
            "{last_year}*(campus_handover_busd+campus_shortfall_busd)",
        ),
        Row(
            "lease_flow",
            "campus lease cash flow to the builder",
            "{lessor_funding}-{campus_rent}-{lease_end_payment}",
        ),
        Row(
            "lease_taxable",
            "change in taxable income from the lease",
            "-{campus_rent}-{last_year}*campus_shortfall_busd"
            "+campus_lease_share*{tax_depreciation_facility}"
            "-{last_year}*(campus_lease_share*facility_gain_busd)",
        ),
        Row(
            "taxable_with_lease",
            "taxable income with the lease",
            "{taxable_income}+IF(campus_lease_share>0,{lease_taxable},0)",
        ),
        *_tax_rows("lease", "taxable_with_lease", "income with the lease"),
        Row(
            "tax_with_lease",
            "cash tax with the lease",
            "IF(campus_lease_share>0,IF(tax_in_group>0.5,tax_rate*{taxable_with_lease},"
            "tax_rate*(MAX({taxable_with_lease},0)-{lease_loss_used})),{tax})",
        ),
        Row(
            "cfads_before_debt",
            "cash flow available for debt service, before debt tax effects",
            "{fcf}+{tax}-{tax_with_lease}+{lease_flow}",
        ),
        Row(
            "debt_draw_ltc",
            "debt drawn for build capex at the loan-to-cost share",
            "debt_share_of_capex*({build_capex}-campus_lease_share*({build_capex}"
            "*(1-it_share_of_capex)))",
        ),
        Row(
            "debt_draw_cash",
            "debt drawn for build capex (DSCR sizing scales it, section 11.10)",
            "{debt_draw_ltc}*debt_sizing_scale",
        ),
        Row(
            "debt_ltc_at_completion",
            "loan-to-cost draw carried to completion (interest capitalised)",
            "IF({year}<build_years,{debt_draw_ltc}*(1+debt_interest_rate)^(build_years-1-{year}),0)",
        ),
        Row(
            "debt_repaying",
            "1 in the years of repayment",
            "IF(AND({year}>=build_years,{year}<=debt_last_repay_year),1,0)",
            "0",
        ),
        Row(
            "debt_cover",
            "CFADS before debt / target DSCR in the years of repayment (else blank)",
            'IF({debt_repaying}=1,MAX({cfads_before_debt},0)/target_dscr,"")',
        ),
        Row(
            "debt_cover_pv",
            "that cover discounted to completion at the cost of debt",
            "IF({debt_repaying}=1,{debt_cover}*(1+debt_interest_rate)^(build_years-1-{year}),0)",
        ),
        Row("debt_opening", "opening debt balance", "{debt_balance@prev}"),
        Row(
            "debt_annuity",
            "level debt service (set at the first operating year)",
            "IF({year}=build_years,{debt_opening}*debt_annuity_factor,{debt_annuity@prev})",
        ),
        Row(
            "debt_due",
            "repayment due: sculpted to the target DSCR or level",
            "IF(debt_sculpted>0.5,{cfads_before_debt}/target_dscr-{interest},"
            "{debt_annuity}-{interest})",
        ),
        Row(
            "ati",
            "adjusted taxable income (interest limit)",
            "{taxable_with_lease}+{tax_depreciation}-campus_lease_share*{tax_depreciation_facility}",
        ),
        Row("interest_owed", "interest to deduct (with carry)", "{interest}+{interest_carry@prev}"),
        Row(
            "interest_deductible",
            "interest deductible this year",
            "MIN({interest_owed},interest_limit_share_of_ati*MAX({ati},0))",
        ),
        Row("interest_carry", "interest carried forward", "{interest_owed}-{interest_deductible}"),
        Row(
            "levered_income",
            "taxable income after deductible interest",
            "{taxable_with_lease}-{interest_deductible}",
        ),
        *_tax_rows("levered", "levered_income", "levered income"),
        Row(
            "tax_with_debt",
            "cash tax with the lease and the debt",
            "IF(debt_share_of_capex>0,IF(tax_in_group>0.5,"
            "tax_rate*({taxable_with_lease}-{interest}),"
            "tax_rate*(MAX({levered_income},0)-{levered_loss_used})),{tax_with_lease})",
        ),
        Row(
            "cfads",
            "cash flow available for debt service",
            "{fcf}+{tax}-{tax_with_debt}+{lease_flow}",
        ),
        Row(
            "project_equity_flow",
            "project's flow to equity (before the partner)",
            "{cfads}+{debt_drawdown}-{interest}-{debt_repayment}",
        ),
        Row(
            "debt_service",
            "debt service in operating years",
            "IF({year}>=build_years,{interest}+{debt_repayment},0)",
        ),
        Row(
            "dscr",
            "debt-service cover ratio (blank without service)",
            'IF({debt_service}>1E-12*fcf_scale_busd,{cfads}/{debt_service},"")',
            "0.00",
        ),
        Row(
            "equity_side_pv",
            "financing side effects: debt at its cost, the lease at the lessee's after-tax rate",
            "({project_equity_flow}-{cfads_before_debt})*(1+debt_interest_rate)^(-{year})"
            "+({cfads_before_debt}-{fcf})*(1+lessee_borrowing_rate*(1-tax_rate))^(-{year})",
        ),
        Row(
            "cumulative_discounted_fcf",
            "cumulative discounted FCF",
            "{cumulative_discounted_fcf@prev}+{discounted_fcf}",
        ),
        Row(
            "negative_year",
            "year if cumulative FCF < 0, else -1",
            "IF({cumulative_fcf}<0,{year},-1)",
            "0",
        ),
        Row(
            "negative_discounted_year",
            "year if cumulative discounted FCF < 0, else -1",
            "IF({cumulative_discounted_fcf}<0,{year},-1)",
            "0",
        ),
        Row(
            "nonnegative_year",
            "year if cumulative FCF >= 0, else 1000",
            "IF({cumulative_fcf}>=0,{year},1000)",
            "0",
        ),
        Row(
            "invested_capital",
            "opening book value in operating years",
            "{operating}*{net_book_value@prev}",
        ),
        Row("operating_nopat", "NOPAT in operating years", "{operating}*{nopat}"),
    ]
    return timeline, lines, workings


# ---- derived scalars ------------------------------------------------------------------------

#: name, formula, unit, what (rows of the ``Derived`` sheet; each a defined name).
_DERIVED: tuple[tuple[str, str, str, str], ...] = (
    ("horizon_years", "build_years+operating_years", "years", "build + operating years"),
    ("capex_total_busd", "gw_built*capex_per_gw_busd", "US$ B", "initial capex"),
    ("cost_it_busd", "capex_total_busd*it_share_of_capex", "US$ B", "IT cost of one vintage"),
    ("cost_facility_busd", "capex_total_busd-cost_it_busd", "US$ B", "facility cost"),
    (
        "last_it_vintage",
        "MAX(-INT(-ROUND((horizon_years-build_years)/it_life_years,9))-1,0)",
        "count",
        "index of the last IT vintage started in the horizon",
    ),
    (
        "last_facility_vintage",
        "MAX(-INT(-ROUND((horizon_years-build_years)/facility_life_years,9))-1,0)",
        "count",
        "index of the last facility vintage",
    ),
    (
        "nbv_it_end_busd",
        "cost_it_busd*MAX(1-(horizon_years-build_years-last_it_vintage*it_life_years)"
        "/it_book_life_years,0)",
        "US$ B",
        "book value of the IT at the horizon (over its book life, section 11.8)",
    ),
    (
        "nbv_facility_end_busd",
        "cost_facility_busd*MIN(MAX(((last_facility_vintage+1)*facility_life_years"
        "-(horizon_years-build_years))/facility_life_years,0),1)",
        "US$ B",
        "book value of the facility at the horizon",
    ),
    (
        "book_tax",
        "IF(AND(macrs_depreciation=0,bonus_depreciation_share=0,"
        "it_book_life_years=it_life_years),1,0)",
        "flag",
        "1: tax depreciation is book depreciation (straight line, book life = service life)",
    ),
    (
        "facility_bonus_share",
        "IF(facility_tax_class_years<25,bonus_depreciation_share,0)",
        "fraction",
        "bonus share of the facility (classes under 25 years only)",
    ),
    (
        "tax_basis_it_end_busd",
        "SUM({placed_it@all})-SUM({tax_depreciation_it@all})",
        "US$ B",
        "tax basis of the IT left at the horizon",
    ),
    (
        "tax_basis_facility_end_busd",
        "IF(book_tax=1,nbv_facility_end_busd,"
        "SUM({placed_facility@all})-SUM({tax_depreciation_facility@all}))",
        "US$ B",
        "tax basis of the facility left at the horizon",
    ),
    (
        "tax_basis_gap_busd",
        "nbv_it_end_busd+nbv_facility_end_busd-tax_basis_it_end_busd-tax_basis_facility_end_busd",
        "US$ B",
        "book value less tax basis at the horizon (taxed with the disposal)",
    ),
    (
        "financed",
        "IF(OR(debt_share_of_capex>0,partner_share_of_capex>0,campus_lease_share>0),1,0)",
        "flag",
        "1: debt, a partner or a campus lease",
    ),
    (
        "facility_residual_cash_busd",
        "residual_value_fraction*nbv_facility_end_busd",
        "US$ B",
        "facility's share of the residual",
    ),
    (
        "facility_gain_busd",
        "facility_residual_cash_busd-tax_basis_facility_end_busd",
        "US$ B",
        "facility's gain on disposal against its tax basis",
    ),
    (
        "facility_life_left_years",
        "(last_facility_vintage+1)*facility_life_years-(horizon_years-build_years)",
        "years",
        "life left at the horizon of the facility in service then",
    ),
    (
        "campus_priced_years",
        "MAX(campus_lease_priced_years,operating_years)",
        "years",
        "years the lessor priced",
    ),
    ("campus_log_yield", "LN(1+campus_lease_yield)", "per year", "ln(1 + lessor's yield)"),
    (
        "campus_funded_pv_busd",
        "SUMPRODUCT({lessor_funding@all},{lessor_discount@all})",
        "US$ B",
        "present value of the lessor's funding at its yield",
    ),
    (
        "campus_annuity_pv",
        "IF(campus_priced_years>operating_years,EXP((1-build_years)*campus_log_yield)*"
        "IF(campus_lease_yield>1E-12,(1-EXP(-campus_priced_years*campus_log_yield))"
        "/campus_lease_yield,campus_priced_years),"
        "SUMPRODUCT({operating@all},{lessor_discount@all}))",
        "years",
        "present value of 1 a year of rent",
    ),
    (
        "campus_coloc_q",
        "(1+campus_colocation_rent_growth)/(1+campus_lease_yield)",
        "ratio",
        "colocation rent growth over the lessor's discount, a year",
    ),
    (
        "campus_value_priced_busd",
        _colocation(
            "build_years+campus_priced_years-1",
            "MAX(facility_life_left_years-(campus_priced_years-operating_years),0)",
        ),
        "US$ B",
        "campus at the end of the priced lease: PV of colocation rent (section 11.9)",
    ),
    (
        "campus_value_busd",
        "IF(campus_priced_years>operating_years,"
        + _colocation("horizon_years-1", "MAX(facility_life_left_years,0)")
        + ",facility_residual_cash_busd)",
        "US$ B",
        "campus at the horizon: colocation value on an exit, else the project's residual",
    ),
    (
        "campus_terminal_pv_busd",
        "IF(campus_priced_years>operating_years,campus_lease_share*campus_value_priced_busd*"
        "EXP(-(build_years+campus_priced_years-1)*campus_log_yield),"
        "campus_lease_share*facility_residual_cash_busd*"
        "SUMPRODUCT({last_year@all},{lessor_discount@all}))",
        "US$ B",
        "present value of the lessor's payoff the rent is priced on",
    ),
    (
        "campus_level_rent_busd",
        "MAX(campus_funded_pv_busd-campus_terminal_pv_busd,0)/MAX(campus_annuity_pv,1E-300)",
        "US$ B per year",
        "level campus rent",
    ),
    (
        "campus_balance_busd",
        "IF(SUMPRODUCT({last_year@all},{lessor_discount@all})>0,"
        "(campus_funded_pv_busd-campus_level_rent_busd*SUMPRODUCT({operating@all},"
        "{lessor_discount@all}))/SUMPRODUCT({last_year@all},{lessor_discount@all}),0)",
        "US$ B",
        "lessor's unrecovered balance at the horizon",
    ),
    (
        "campus_guarantee_busd",
        "campus_rvg_share*MAX(campus_balance_busd,0)",
        "US$ B",
        "guarantee: a share of the lessor's unrecovered balance",
    ),
    (
        "campus_handover_busd",
        "campus_lease_share*facility_residual_cash_busd",
        "US$ B",
        "builder's share of the project's residual given up",
    ),
    (
        "campus_shortfall_busd",
        "MAX(campus_guarantee_busd-campus_lease_share*campus_value_busd,0)",
        "US$ B",
        "guarantee shortfall paid at the horizon",
    ),
    (
        "debt_repay_years",
        "MIN(debt_tenor_years,operating_years)",
        "years",
        "years of repayment",
    ),
    (
        "debt_last_repay_year",
        "build_years+debt_repay_years-1",
        "year index",
        "year the debt is cleared",
    ),
    (
        "debt_annuity_factor",
        "IF(debt_interest_rate>1E-12,debt_interest_rate/(1-(1+debt_interest_rate)^"
        "(-debt_repay_years)),1/debt_repay_years)",
        "per year",
        "level-payment factor",
    ),
    (
        "debt_ltc_balance_busd",
        "SUM({debt_ltc_at_completion@all})",
        "US$ B",
        "loan-to-cost debt at completion",
    ),
    (
        "debt_dscr_capacity_busd",
        "IF(debt_sculpted>0.5,SUM({debt_cover_pv@all}),MIN({debt_cover@all})*"
        "IF(debt_interest_rate>1E-12,(1-(1+debt_interest_rate)^(-debt_repay_years))"
        "/debt_interest_rate,debt_repay_years))",
        "US$ B",
        "debt the cash flow carries at the target DSCR (section 11.10)",
    ),
    (
        "debt_sizing_scale",
        "IF(AND(debt_sizing=1,debt_share_of_capex>0,debt_ltc_balance_busd>0),"
        "MIN(1,debt_dscr_capacity_busd/debt_ltc_balance_busd),1)",
        "fraction",
        "share of the loan-to-cost draws kept (DSCR sizing)",
    ),
    (
        "fcf_scale_busd",
        "MAX(1,MAX({fcf@all}),-MIN({fcf@all}))",
        "US$ B",
        "scale below which debt service counts as none",
    ),
    (
        "power_busd_per_gw_year",
        "8760*1000*power_load_factor*power_price_usd_per_mwh/1E9",
        "US$ B per GW-year",
        "power cost of a running GW",
    ),
    (
        "lease_rate_floor_index_now",
        "(power_busd_per_gw_year+other_opex_busd_per_gw_year)/(1-variable_opex_share_of_revenue)"
        "/MAX(lease_rate_busd_per_gw_year,0.001)",
        "index",
        "floor of the lease rate: avoidable costs per GW (section 4.2)",
    ),
    (
        "log_k_industry",
        "LN(efficiency_multiplier)*efficiency_diffusion",
        "log",
        "industry efficiency gain (log)",
    ),
    ("log_keep", "LN(1-token_price_decline_per_year)", "log per year", "capability price kept"),
    ("price_a", "-price_pass_through*log_k_industry", "log", "token price: intercept"),
    ("volume_a", "-demand_elasticity*price_a", "log", "token volume: intercept"),
    (
        "volume_b",
        "-demand_elasticity*log_keep+LN(1+token_demand_growth_per_year)",
        "log per year",
        "token volume: slope",
    ),
    ("demand_a", "volume_a-log_k_industry", "log", "compute demand: intercept"),
    ("demand_b", "volume_b+log_keep", "log per year", "compute demand: slope"),
    (
        "capacity_b",
        "LN(1+industry_capacity_growth_per_year)-LN(1-hardware_cost_decline_per_year)",
        "log per year",
        "industry compute capacity: slope",
    ),
)


_ALL_DERIVED = (*_DERIVED, *MARKET_SCALARS, *RESIDUAL_SCALARS)

_KIND_FORMAT = {
    "index": INDEX_FORMAT,
    "busd": BUSD_FORMAT,
    "years": "0.00",
    "gw": "0.000",
    "share": PERCENT_FORMAT,
    "count": "#,##0",
}


def _market_rows() -> tuple[list[Row], list[Row]]:
    """The market indices and the market workings as rows (``model.workbook_market``)."""
    return (
        [Row(r.name, r.label, r.template, _KIND_FORMAT[r.kind]) for r in index_rows()],
        [Row(r.name, r.label, r.template, _KIND_FORMAT[r.kind]) for r in market_rows()],
    )


def model_metrics(result: Result) -> dict[str, float | None]:
    """Every metric of ``result`` by name (None where undefined), as ``Returns`` names them."""
    extra: dict[str, float | None] = {
        k: (float(v) if math.isfinite(v) else None) for k, v in result.extra.items()
    }
    return {**result.metrics(), **extra}


def _define(wb: Any, name: str, ref: str) -> None:
    from openpyxl.workbook.defined_name import DefinedName

    if name in wb.defined_names:
        raise ValueError(f"defined name {name} twice")
    wb.defined_names[name] = DefinedName(name, attr_text=ref)


def _number_format(unit: str) -> str:
    u = unit.lower()
    if u.startswith("fraction") or "share" in u or u.startswith("rate"):
        return "0.0##%"
    if "us$ b" in u:
        return "#,##0.0##"
    return "General"


def _style_header(ws: Any, row: int, ncols: int) -> None:
    from openpyxl.styles import Font, PatternFill

    for c in range(1, ncols + 1):
        cell = ws.cell(row, c)
        cell.font = Font(bold=True)
        cell.fill = PatternFill("solid", fgColor="DDE4EE")


def _widths(ws: Any, widths: Mapping[str, float]) -> None:
    for col, w in widths.items():
        ws.column_dimensions[col].width = w


def live_workbook(scenario: Scenario, result: Result | None = None, label: str = "") -> Any:
    """An openpyxl ``Workbook`` of the scenario as live formulas (methodology section 13).

    Parameters
    ----------
    scenario : Scenario
        The scenario; ``result`` is its :func:`model.evaluate` (evaluated here if not given).
    label : str
        A name for the scenario, shown on ``About``.

    Notes
    -----
    Sheets: ``About``, ``Inputs`` (named cells), ``Market``, ``Derived``, ``Cash flows``,
    ``Returns``, ``Check``, ``Tax tables`` and ``Conditions`` (the conditions of
    :func:`model.conditions.conditions_of` that hold for the result at export, as sentences). Inputs in :data:`LIVE_INPUTS` recalculate
    exactly; the two of :data:`STRUCTURAL_INPUTS` set the columns and raise the stale flag.

    Examples
    --------
    >>> from model import load_preset
    >>> wb = live_workbook(load_preset("bofa-base"))
    >>> wb.sheetnames[:4]
    ['About', 'Inputs', 'Market', 'Derived']
    """
    from openpyxl import Workbook
    from openpyxl.chart import LineChart, Reference, Series
    from openpyxl.styles import Alignment, Font, PatternFill

    result = result if result is not None else evaluate(scenario)
    values = scenario.model_dump()
    n_years = len(result.cash_flow_columns["year"])
    years = list(range(n_years))

    wb = Workbook()
    about = wb.active
    about.title = ABOUT
    ws_in = wb.create_sheet(INPUTS)
    ws_mk = wb.create_sheet(MARKET)
    ws_dv = wb.create_sheet(DERIVED)
    ws_cf = wb.create_sheet(CASH)
    ws_rt = wb.create_sheet(RETURNS)
    ws_ck = wb.create_sheet(CHECK)
    ws_tt = wb.create_sheet(TABLES)
    input_fill = PatternFill("solid", fgColor="FFF2CC")

    # ---- Inputs -----------------------------------------------------------------------------
    head = ["field", "label", "value", "unit", "source", "year", "live", "built with", "stale"]
    for c, h in enumerate(head, start=1):
        ws_in.cell(1, c, h)
    _style_header(ws_in, 1, len(head))
    sources = _sources()
    for i, name in enumerate(FIELD_NAMES, start=2):
        spec = FIELD_SPECS[name]
        v = values[name]
        kind = "live" if name in LIVE_INPUTS else "structural: re-run"
        src, year = sources.get(name, ("", None))
        entries = [name, spec.label, v, spec.unit, src, year, kind, v]
        for c, x in enumerate(entries, start=1):
            ws_in.cell(i, c, x)
        cell = ws_in.cell(i, 3)
        cell.fill = input_fill
        cell.font = Font(color="1F4E9A", bold=True)
        cell.number_format = _number_format(spec.unit)
        ws_in.cell(i, 8).number_format = cell.number_format
        ws_in.cell(i, 9, f'=IF(AND(G{i}<>"live",C{i}<>H{i}),A{i}&" ","")')
        _define(wb, name, f"{_quote(INPUTS)}!$C${i}")
    last_input = len(FIELD_NAMES) + 1
    ws_in.freeze_panes = "C2"
    _widths(ws_in, {"A": 34, "B": 36, "C": 14, "D": 30, "E": 50, "F": 7, "G": 18, "H": 12, "I": 10})

    # ---- Market -----------------------------------------------------------------------------
    mk = _YearSheet(ws_mk, MARKET, n_years, first_row=6)
    cf = _YearSheet(ws_cf, CASH, n_years, first_row=3)
    for sheet in (mk, cf):
        sheet.registry = {MARKET: mk, CASH: cf}
    stale_parts = "&".join(f"{_quote(INPUTS)}!I{i}" for i in range(2, last_input + 1))
    ws_mk["A1"] = "Market paths by year"
    ws_mk["A1"].font = Font(bold=True, size=13)
    ws_mk["A2"] = "stale flag"
    ws_mk["B2"] = (
        f'=IF(LEN({stale_parts})=0,"market paths are current",'
        f'"market paths are stale: re-run the model for "&TRIM({stale_parts}))'
    )
    _define(wb, "market_paths_status", f"{_quote(MARKET)}!$B$2")
    ws_mk["B2"].font = Font(bold=True, color="C00000")
    ws_mk["A3"] = (
        "Every path is a formula in the inputs (methodology section 4): the indices first, then "
        "the workings (IT vintages split at the exact switch time, contract and spot billing, "
        "idle capacity, hosting bounded by the market's tokens, the running GW)."
    )
    for sheet, header in ((mk, 5), (cf, 1)):
        sheet.ws.cell(header, 1, "line" if sheet is cf else "path")
        sheet.ws.cell(header, 2, "what")
        sheet.ws.cell(header, 3, "formula")
        for j in years:
            sheet.ws.cell(header, FIRST_YEAR_COL + j, f"year {j}")
        _style_header(sheet.ws, header, FIRST_YEAR_COL + n_years - 1)
    year_row = Row("year", "year index", "", "0")
    index_part, working_part = _market_rows()
    mk.reserve([year_row])
    mk.next_row += 2
    mk.reserve(index_part)
    mk.next_row += len(index_part) + 2
    mk.reserve(working_part)
    mk.write([year_row], values={"year": np.arange(n_years, dtype=np.float64)})
    ws_mk.cell(mk.row_of[index_part[0].name] - 1, 1, "Market indices (1 = today)").font = Font(
        bold=True, size=12
    )
    mk.write(index_part)
    ws_mk.cell(mk.row_of[working_part[0].name] - 1, 1, "Workings").font = Font(bold=True, size=12)
    mk.write(working_part)
    for row in index_part:
        _define(wb, row.name, f"{_quote(MARKET)}!{mk.span(row.name)}")
    ws_mk.freeze_panes = ws_mk.cell(6, FIRST_YEAR_COL)
    _widths(ws_mk, {"A": 38, "B": 52, "C": 16})

    # ---- Cash flows -------------------------------------------------------------------------
    timeline, lines, workings = _cash_rows()
    missing = [n for n in LINE_NAMES if n not in {r.name for r in lines}]
    if missing:
        raise ValueError(f"cash-flow lines without a formula row: {missing}")
    cf.reserve(timeline)
    cf.next_row += len(timeline) + 2
    cf.reserve(lines)
    cf.next_row += len(lines) + 2
    macrs_rows = [
        Row("macrs_it", "MACRS 5-year schedule of IT placed", ""),
        Row("macrs_facility", "MACRS schedule of the facility", ""),
    ]
    cf.reserve([*workings, *macrs_rows])
    cf.write([timeline[0]], values={"year": np.arange(n_years, dtype=np.float64)})
    cf.write(timeline[1:])
    ws_cf.cell(cf.row_of[timeline[0].name] - 1, 1, "Timeline").font = Font(bold=True, size=12)
    ws_cf.cell(cf.row_of[lines[0].name] - 1, 1, "Annual statement (US$ B)").font = Font(
        bold=True, size=12
    )
    cf.write(lines)
    ws_cf.cell(cf.row_of[workings[0].name] - 1, 1, "Workings").font = Font(bold=True, size=12)
    cf.write(workings)
    for row in lines:
        ws_cf.cell(cf.row_of[row.name], 1).font = Font(bold=True)
        _define(wb, row.name, f"{_quote(CASH)}!{cf.span(row.name)}")
    # MACRS: year t deducts sum_s placed_s x rate_(t-s): placed years 0..t against the rates
    # laid out in reverse on Tax tables (rate_t .. rate_0)
    rev_row = _tax_tables(ws_tt, n_years)
    for row, placed, rev in (
        (macrs_rows[0], "placed_it", rev_row["it"]),
        (macrs_rows[1], "placed_facility", rev_row["facility"]),
    ):
        r = cf.row_of[row.name]
        ws_cf.cell(r, 1, row.name)
        ws_cf.cell(r, 2, row.label)
        ws_cf.cell(r, 3, f"SUM over s <= t of {placed}[s] x rate[t-s] (Tax tables)")
        pr = cf.row_of[placed]
        for j in range(n_years):
            c = FIRST_YEAR_COL + j
            first_rate = FIRST_YEAR_COL + n_years - 1 - j
            ws_cf.cell(
                r,
                c,
                f"=SUMPRODUCT(${_col(FIRST_YEAR_COL)}${pr}:{_col(c)}${pr},"
                f"{_quote(TABLES)}!{_col(first_rate)}${rev}:${_col(FIRST_YEAR_COL + n_years - 1)}${rev})",
            ).number_format = BUSD_FORMAT
    ws_cf.freeze_panes = ws_cf.cell(2, FIRST_YEAR_COL)
    _widths(ws_cf, {"A": 30, "B": 44, "C": 60})
    for j in range(n_years):
        ws_cf.column_dimensions[_col(FIRST_YEAR_COL + j)].width = 9
        ws_mk.column_dimensions[_col(FIRST_YEAR_COL + j)].width = 9

    # ---- Derived ----------------------------------------------------------------------------
    for c, h in enumerate(["name", "value", "unit", "what", "formula"], start=1):
        ws_dv.cell(1, c, h)
    _style_header(ws_dv, 1, 5)
    for i, (name, template, unit, what) in enumerate(_ALL_DERIVED, start=2):
        ws_dv.cell(i, 1, name)
        cell = ws_dv.cell(i, 2, cf.formula(template, FIRST_YEAR_COL, DERIVED))
        cell.number_format = BUSD_FORMAT if unit.startswith("US$") else "0.0000"
        ws_dv.cell(i, 3, unit)
        ws_dv.cell(i, 4, what)
        ws_dv.cell(i, 5, readable(template))
        _define(wb, name, f"{_quote(DERIVED)}!$B${i}")
    guess_row = len(_ALL_DERIVED) + 2
    for k, (name, metric) in enumerate((("irr_guess", "irr"), ("equity_irr_guess", "equity_irr"))):
        model_value = getattr(result, metric)
        ws_dv.cell(guess_row + k, 1, name)
        ws_dv.cell(guess_row + k, 2, float(model_value) if model_value is not None else 0.1)
        ws_dv.cell(guess_row + k, 3, "fraction per year")
        ws_dv.cell(guess_row + k, 4, f"starting guess of IRR(): the model's {metric} at export")
        _define(wb, name, f"{_quote(DERIVED)}!$B${guess_row + k}")
    _irr_scan(ws_dv, cf, wb, guess_row + 3)
    ws_dv.freeze_panes = "B2"
    _widths(ws_dv, {"A": 32, "B": 14, "C": 16, "D": 58, "E": 90})

    # ---- Returns ----------------------------------------------------------------------------
    for c, h in enumerate(["metric", "label", "value", "unit", "formula"], start=1):
        ws_rt.cell(1, c, h)
    _style_header(ws_rt, 1, 5)
    formulas = _return_formulas()
    for i, name in enumerate(RETURN_METRICS, start=2):
        template = formulas[name]
        ws_rt.cell(i, 1, name)
        ws_rt.cell(i, 2, metric_label(name))
        cell = ws_rt.cell(i, 3, cf.formula(template, FIRST_YEAR_COL, RETURNS))
        cell.number_format = _metric_format(name)
        cell.font = Font(bold=True)
        ws_rt.cell(i, 4, _metric_unit(name))
        ws_rt.cell(i, 5, readable(template))
        _define(wb, name, f"{_quote(RETURNS)}!$C${i}")
    ws_rt.freeze_panes = "C2"
    _widths(ws_rt, {"A": 32, "B": 34, "C": 14, "D": 22, "E": 90})
    chart = LineChart()
    chart.title = "Annual cash flows (US$ B)"
    chart.y_axis.title = "US$ B"
    chart.x_axis.title = "year"
    chart.height, chart.width = 9, 18
    chart.x_axis.tickLblPos = "low"  # year labels below the plot, not on the zero line
    chart.x_axis.delete = False  # (openpyxl 3.1 leaves this unset: Excel then hides the axes)
    chart.y_axis.delete = False
    for name in ("revenue", "ebitda", "fcf", "cumulative_fcf"):
        r = cf.row_of[name]
        data = Reference(
            ws_cf, min_col=FIRST_YEAR_COL, max_col=FIRST_YEAR_COL + n_years - 1, min_row=r
        )
        series = Series(data, title=name)
        series.smooth = False  # straight segments between year ends, as the flows are annual
        chart.series.append(series)
    yr = cf.row_of["year"]
    chart.set_categories(
        Reference(ws_cf, min_col=FIRST_YEAR_COL, max_col=FIRST_YEAR_COL + n_years - 1, min_row=yr)
    )
    ws_rt.add_chart(chart, f"A{len(RETURN_METRICS) + 4}")

    # ---- Check ------------------------------------------------------------------------------
    _check_sheet(ws_ck, result, cf, n_years)

    # ---- Conditions and About ---------------------------------------------------------------
    ws_cd = wb.create_sheet(CONDITIONS)
    _conditions_sheet(ws_cd, result)
    _about_sheet(about, label)
    for ws in (about, ws_in, ws_mk, ws_dv, ws_cf, ws_rt, ws_ck, ws_tt, ws_cd):
        ws.sheet_view.zoomScale = 100
    about["A1"].alignment = Alignment(wrap_text=False)
    return wb


#: Further starting points of IRR() when the first guess does not converge (after an edit the
#: export-time IRR can be far from the new root); with one root every start finds it.
IRR_FALLBACK_GUESSES: tuple[float, ...] = (0.0, -0.2, 0.2, -0.5, 0.5, -0.7, -0.9, 1.0)


#: Rates at which ``Derived`` evaluates the NPV of the flows to bracket their IRR: the midpoint
#: of the sign change nearest zero starts IRR() near the model's root (the root closest to 0),
#: where LibreOffice's IRR() from a start far off does not converge (a root of -72%).
IRR_SCAN_RATES: tuple[float, ...] = (
    *(round(-0.95 + 0.05 * i, 2) for i in range(30)),  # -95% .. 50% by 5 points
    0.6, 0.7, 0.8, 0.9, 1.0, 1.5, 2.0, 3.0, 5.0, 10.0,
)  # fmt: skip


def _irr_scan(ws: Any, cf: _YearSheet, wb: Any, top: int) -> None:
    """NPV of ``fcf`` and ``fcf_to_equity`` at :data:`IRR_SCAN_RATES` and the midpoint of the
    sign change nearest zero of each (names ``irr_scan_guess``, ``equity_irr_scan_guess``)."""
    from openpyxl.styles import Font

    ws.cell(top, 1, "IRR scan: NPV at each rate, and the bracket of the root nearest zero")
    ws.cell(top, 1).font = Font(bold=True)
    heads = ["rate", "NPV fcf", "bracket mid", "|mid|", "NPV fcf_to_equity", "bracket mid", "|mid|"]
    for c, h in enumerate(heads, start=1):
        ws.cell(top + 1, c, h)
    first, last = top + 2, top + 1 + len(IRR_SCAN_RATES)
    years = f"{_quote(CASH)}!{cf.span('year')}"
    for i, rate in enumerate(IRR_SCAN_RATES):
        r = first + i
        ws.cell(r, 1, rate).number_format = PERCENT_FORMAT
        for c, line in ((2, "fcf"), (5, "fcf_to_equity")):
            ws.cell(r, c, f"=SUMPRODUCT({_quote(CASH)}!{cf.span(line)},(1+A{r})^(-{years}))")
            ws.cell(r, c).number_format = BUSD_FORMAT
            v, m = _col(c), _col(c + 1)
            ws.cell(r, c + 1, f'=IF(AND(A{r + 1}<>"",{v}{r}*{v}{r + 1}<=0),(A{r}+A{r + 1})/2,"")')
            ws.cell(r, c + 2, f'=IF({m}{r}="",1E9,ABS({m}{r}))')
    for c, name in ((3, "irr_scan_guess"), (6, "equity_irr_scan_guess")):
        mid, size = _col(c), _col(c + 1)
        r = last + 2 + (c // 3 - 1)
        ws.cell(r, 1, name)
        ws.cell(
            r,
            2,
            f"=IF(MIN({size}{first}:{size}{last})>=1E9,0,INDEX({mid}{first}:{mid}{last},"
            f"MATCH(MIN({size}{first}:{size}{last}),{size}{first}:{size}{last},0)))",
        ).number_format = PERCENT_FORMAT
        ws.cell(r, 4, "start of IRR() inside the bracket of the root nearest zero")
        _define(wb, name, f"{_quote(DERIVED)}!$B${r}")


def _irr(flows: str, guess: str) -> str:
    """``IRR()`` from inside the scan's bracket of the root nearest zero (the model's root), then
    from ``guess`` (the model's IRR at export) and the fallback guesses; blank if none converges
    above -100%. The bracket first: after an edit, flows with several roots (heavy debt and a
    partner) led IRR() from the export-time IRR to another root (110% against -6.8%)."""
    scan = "equity_irr_scan_guess" if guess.startswith("equity") else "irr_scan_guess"
    out = '""'
    for g in reversed((scan, guess, *(repr(x) for x in IRR_FALLBACK_GUESSES))):
        # a "root" at or below -100% is no rate of return: try the next start instead
        one = f"IRR({flows},{g})"
        out = f"IFERROR(IF({one}>-1,{one},NA()),{out})"
    return out


def _return_formulas() -> dict[str, str]:
    neg = "MAX({negative_year@all})"
    dneg = "MAX({negative_discounted_year@all})"
    j = "MIN({nonnegative_year@all})"

    def payback(last: str, cum: str, flow: str) -> str:
        return (
            f"IF({last}<0,0,IF({last}<horizon_years-1,"
            f'{last}+(-INDEX({{{cum}@all}},1,{last}+1))/INDEX({{{flow}@all}},1,{last}+2),""))'
        )

    return {
        "npv_busd": "SUM({discounted_fcf@all})",
        "irr": _irr("{fcf@all}", "irr_guess"),
        # MIRR(fcf, wacc, wacc) from the discounted flows, as the model computes it (section 5;
        # LibreOffice's MIRR() gave no value where the ratio is tiny, e.g. a MIRR of -99.8%)
        "mirr": (
            'IF(AND(horizon_years>1,SUMIF({discounted_fcf@all},">0")>0,'
            'SUMIF({discounted_fcf@all},"<0")<0),(SUMIF({discounted_fcf@all},">0")'
            '/-SUMIF({discounted_fcf@all},"<0"))^(1/(horizon_years-1))*(1+wacc)-1,"")'
        ),
        "payback_years": "IFERROR(" + payback(neg, "cumulative_fcf", "fcf") + ',"")',
        "discounted_payback_years": "IFERROR("
        + payback(dneg, "cumulative_discounted_fcf", "discounted_fcf")
        + ',"")',
        "payback_from_operation_years": (
            f'IFERROR(IF({j}>=1000,"",MAX(IF({j}>0,MAX({j}-1,0)+MIN(MAX('
            f"-INDEX({{cumulative_fcf@all}},1,MAX({j}-1,0)+1)/INDEX({{fcf@all}},1,{j}+1),0),1),0)"
            f'-(build_years-1),0)),"")'
        ),
        "roic": 'IF(SUM({invested_capital@all})>0,SUM({operating_nopat@all})/SUM({invested_capital@all}),"")',
        "gross_lease_yield": "lease_rate_busd_per_gw_year*lease_utilization/capex_per_gw_busd",
        "npv_per_share_usd": "npv_busd/shares_outstanding_b",
        "capex_initial_busd": "gw_built*capex_per_gw_busd",
        "capex_lifetime_busd": "SUM({capex@all})",
        "revenue_total_busd": "SUM({revenue@all})",
        "ebitda_margin": 'IF(revenue_total_busd>0,SUM({ebitda@all})/revenue_total_busd,"")',
        "average_revenue_busd_per_year": "revenue_total_busd/MAX(SUM({operating@all}),1)",
        "market_reaction_busd": "shares_outstanding_b*share_price_usd*market_reaction_excess_return",
        "npv_to_market_reaction": 'IF(market_reaction_busd<>0,npv_busd/market_reaction_busd,"")',
        "residual_pv_busd": "SUM({residual_pv_flow@all})",
        "equity_irr": f"IF(financed=1,{_irr('{fcf_to_equity@all}', 'equity_irr_guess')},irr)",
        "npv_equity_busd": (
            "IF(financed=1,(1-partner_share_of_capex)*(npv_busd+SUM({equity_side_pv@all})),npv_busd)"
        ),
        "min_dscr": 'IF(COUNT({dscr@all})=0,"",MIN({dscr@all}))',
        "peak_debt_busd": "MAX(0,MAX({debt_balance@all}))",
    }


def _metric_unit(name: str) -> str:
    from model.metrics import metric_spec

    return metric_spec(name).model_unit


def _metric_format(name: str) -> str:
    unit = _metric_unit(name)
    if unit.startswith("fraction"):
        return PERCENT_FORMAT
    if unit.startswith("US$ B"):
        return BUSD_FORMAT
    if unit.startswith("years"):
        return YEARS_FORMAT
    if unit.startswith("US$"):
        return "#,##0.00"
    return "0.00"


def _tax_tables(ws: Any, n_years: int) -> dict[str, int]:
    """MACRS rates by class (columns) and year of service (rows), and the two reversed rows the
    cash-flow sheet convolves with; returns the rows of those (``it``, ``facility``)."""
    from openpyxl.styles import Font

    classes = [IT_TAX_CLASS_YEARS, *range(LOWEST_FACILITY_CLASS, HIGHEST_FACILITY_CLASS + 1)]
    depth = max(n_years, HIGHEST_FACILITY_CLASS + 1)
    ws.cell(1, 1, "MACRS share of cost deducted by year of service (half-year convention)")
    ws.cell(1, 1).font = Font(bold=True)
    ws.cell(2, 1, "year of service \\ class (years)")
    for k, cls in enumerate(classes):
        ws.cell(2, 2 + k, cls)
        rates = macrs_rates(cls)
        for i in range(depth):
            v = float(rates[i]) if i < len(rates) else 0.0
            ws.cell(3 + i, 2 + k, v).number_format = "0.00%"
    for i in range(depth):
        ws.cell(3 + i, 1, i)
    header = f"$B$2:${_col(1 + len(classes))}$2"
    table = f"$B$3:${_col(1 + len(classes))}${2 + depth}"
    rows: dict[str, int] = {}
    r = 4 + depth
    ws.cell(r - 1, 1, "rates by age in reverse (rate[T-1] ... rate[0]), aligned with the years")
    ws.cell(r - 1, 1).font = Font(bold=True)
    for key, cls in (("it", str(IT_TAX_CLASS_YEARS)), ("facility", "facility_tax_class_years")):
        ws.cell(r, 1, f"{key} (class {cls})")
        for j in range(n_years):
            age = n_years - 1 - j
            ws.cell(
                r, FIRST_YEAR_COL + j, f"=INDEX({table},{age + 1},MATCH({cls},{header},0))"
            ).number_format = "0.00%"
        rows[key] = r
        r += 1
    ws.column_dimensions["A"].width = 34
    return rows


def _check_sheet(ws: Any, result: Result, cf: _YearSheet, n_years: int) -> None:
    from openpyxl.styles import Font

    ws["A1"] = "The model's figures at export beside the workbook's (difference = workbook - model)"
    ws["A1"].font = Font(bold=True, size=12)
    for c, h in enumerate(["metric", "model", "workbook", "difference"], start=1):
        ws.cell(3, c, h)
    _style_header(ws, 3, 4)
    metrics = model_metrics(result)
    r = 4
    for name in RETURN_METRICS:
        v = metrics.get(name)
        ws.cell(r, 1, name)
        ws.cell(r, 2, float(v) if v is not None else None)
        ws.cell(r, 3, f"={name}")
        ws.cell(
            r,
            4,
            f'=IF(AND(ISNUMBER(B{r}),ISNUMBER(C{r})),C{r}-B{r},IF(AND(B{r}="",C{r}=""),0,"one is blank"))',
        )
        for c in (2, 3, 4):
            ws.cell(r, c).number_format = "0.000000"
        r += 1
    r += 1
    for c, h in enumerate(["line", "sum |workbook - model|", "model, by year ->"], start=1):
        ws.cell(r, c, h)
    _style_header(ws, r, 3)
    r += 1
    last = _col(FIRST_YEAR_COL + n_years - 1)
    for name in LINE_NAMES:
        ws.cell(r, 1, name)
        for j, v in enumerate(result.cash_flow_columns[name]):
            ws.cell(r, FIRST_YEAR_COL + j, float(v)).number_format = BUSD_FORMAT
        ws.cell(
            r,
            2,
            f"=SUMPRODUCT(ABS({_quote(CASH)}!{cf.span(name)}-${_col(FIRST_YEAR_COL)}{r}:${last}{r}))",
        ).number_format = "0.0E+00"
        r += 1
    ws.freeze_panes = "B4"
    _widths(ws, {"A": 32, "B": 22, "C": 16, "D": 16})


def _conditions_sheet(ws: Any, result: Result) -> None:
    """The conditions that hold for ``result`` (values at export: they do not recalculate)."""
    from openpyxl.styles import Alignment

    from model.conditions import conditions_of

    ws.append(list(CONDITION_HEADERS))
    _style_header(ws, 1, len(CONDITION_HEADERS))
    held = conditions_of(result)
    for c in held:
        ws.append([c.code, c.severity, c.text])
    if not held:
        ws.append(["none", "note", "No condition qualifies this result's headline numbers."])
    for row in ws.iter_rows(min_row=2):
        row[2].alignment = Alignment(wrap_text=True, vertical="top")
    ws.freeze_panes = "A2"
    _widths(ws, {"A": 28, "B": 10, "C": 110})


def _about_sheet(ws: Any, label: str) -> None:
    from openpyxl.styles import Alignment, Font

    live = ", ".join(LIVE_INPUTS)
    text = [
        ("AI data-center returns: a live workbook", True),
        (f"Scenario: {label or 'as exported'}", False),
        ("", False),
        (
            "What it is: the scenario's annual statement (revenue to free cash flow, tax, debt and "
            "equity flows) and its returns as spreadsheet formulas over the named inputs on "
            "'Inputs'. Excel, LibreOffice Calc and Google Sheets recalculate it (no macros).",
            False,
        ),
        (
            "How to use it: change a yellow cell on 'Inputs' and read 'Returns' (NPV, IRR, "
            "MIRR, paybacks, equity IRR, DSCR...): the market paths on 'Market' (frontier lease "
            "rate and its bounds, vintages, hosting) follow too. Each row of 'Cash flows' is one "
            "formula copied "
            "across the years; column C shows it in names. 'Check' shows the model's figures at "
            "export beside the workbook's.",
            False,
        ),
        (f"Live inputs (the formulas follow them exactly): {live}.", False),
        (
            f"Structural inputs: {', '.join(STRUCTURAL_INPUTS)} set the columns (the years of the "
            "horizon); changing one shows 'market paths are stale: re-run the model for ...' on "
            "'Market' (cell B2): export again from the model.",
            False,
        ),
        ("Status: see Market!B2.", False),
        (
            "Conditions: the sheet 'Conditions' lists, in sentences, the conditions that hold "
            "for the result at export (e.g. a capped ceiling, an IRR that is not unique); they "
            "qualify its headline numbers and do not recalculate after an edit.",
            False,
        ),
        (
            "Conventions: US$ B nominal; year 0 is the first construction year; flows at year "
            "ends; rates as fractions shown as %. Method: docs/methodology.md, section 13 for "
            "this workbook.",
            False,
        ),
        (
            "Other sheets: the model's values at export (input_sources, cash_flows, metrics, "
            "market_values, analysis tables, notes) follow the live sheets; their first header "
            "row is the label with its unit, the second the code name.",
            False,
        ),
    ]
    for i, (t, bold) in enumerate(text, start=1):
        cell = ws.cell(i, 1, t)
        cell.alignment = Alignment(wrap_text=True, vertical="top")
        if bold:
            cell.font = Font(bold=True, size=14)
    ws["B8"] = "=market_paths_status"
    ws["B8"].font = Font(bold=True, color="C00000")
    ws.column_dimensions["A"].width = 110
    ws.column_dimensions["B"].width = 60


def _sources() -> dict[str, tuple[str, int | None]]:
    """Each field's sourced default: source text and year (``data/assumptions.csv``)."""
    from model.data import assumptions

    out: dict[str, tuple[str, int | None]] = {}
    table = assumptions()
    for name in FIELD_NAMES:
        a = table[name]
        out[name] = (str(a.source), int(a.year) if a.year is not None else None)
    return out


def workbook_bytes(scenario: Scenario, result: Result | None = None, label: str = "") -> bytes:
    """:func:`live_workbook` saved as XLSX bytes."""
    import io

    buffer = io.BytesIO()
    live_workbook(scenario, result, label).save(buffer)
    return buffer.getvalue()


__all__ = [
    "LIVE_INPUTS",
    "RETURN_METRICS",
    "STRUCTURAL_INPUTS",
    "live_workbook",
    "model_metrics",
    "readable",
    "workbook_bytes",
]
