"""Links written as the app writes them (``app.state.query_params_for``): a link that sets a
field names every field added since whose old meaning differs (methodology section 9, Links),
so a test's link reads back as today's scenario, not an old link's."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from app.state import query_params_for
from model import load_preset


def written_link(preset_id: str = "bofa-base", **changes: Any) -> str:
    """The query string the app writes for ``preset_id`` with ``changes``.

    Examples
    --------
    >>> written_link(gw_built=4.5)
    'preset=bofa-base&gw_built=4.5&entrant_profile=neocloud&refresh_rule=when_it_pays&facility_residual=annuity'
    """
    return urlencode(query_params_for(preset_id, load_preset(preset_id).replace(**changes)))
