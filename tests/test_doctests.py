"""The numpydoc examples of the app layer and of the metrics and bridge tables run as tests."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = (
    "model.metrics",
    "model.bridge",
    "model.workbook",
    "app.text",
    "app.context",
    "app.charts.base",
    "app.charts",
    "app.charts.analysis",
    "app.state",
    "app.ui",
    "app.page",
    "app.export.report",
    "app.export.tables",
    "app.export.images",
)


@pytest.mark.parametrize("name", MODULES)
def test_examples_run(name: str) -> None:
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0, f"{name} has no examples"
    assert result.failed == 0
