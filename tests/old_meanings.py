"""What an old share link or scenario file means by the inputs added since it was written
(methodology section 9, Links and files): the builder as entrant (4.2), no scarcity premium
(4.7), no diffusion lag (4.9), every refresh bought (2.4) and the facility at book (2.5).

Spelled out here, not read from ``model.io.LEGACY_VALUES``, so the tests that load old links
and files check the loader against an independent statement of those meanings. (Fields whose
old meaning equals every preset's value, e.g. a spot quote, are left out.)
"""

from __future__ import annotations

from typing import Any

OLD_MEANINGS: dict[str, Any] = {
    "entrant_profile": "builder",
    "scarcity_multiple_max": 1,
    "efficiency_diffusion_years": 0,
    "refresh_rule": "always",
    "facility_residual": "book",
}
