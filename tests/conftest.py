"""Shared fixtures and settings. Browser tests live in tests/browser and need Debian's Chromium.

Hypothesis profiles are registered and loaded here, before any test module is collected, so
every ``@given`` test gets them (a profile loaded from a test module reached only the modules
collected after it):

* ``dev`` (default): 60 examples, derandomized (the same examples on every run: a failure is
  reproducible and a busy machine cannot turn up a new case mid-review);
* ``ci`` (when the ``CI`` environment variable is set): 80 examples, derandomized;
* ``thorough`` (``HYPOTHESIS_PROFILE=thorough``): 3,000 random examples, to search for new cases.

A test's own ``@settings(max_examples=...)`` keeps the loaded profile's other settings.
"""

from __future__ import annotations

import os
from typing import Any

from hypothesis import HealthCheck, settings

_COMMON: dict[str, Any] = {
    "deadline": None,
    "suppress_health_check": [HealthCheck.too_slow, HealthCheck.data_too_large],
}
settings.register_profile("dev", max_examples=60, derandomize=True, **_COMMON)
settings.register_profile("ci", max_examples=80, derandomize=True, **_COMMON)
settings.register_profile("thorough", max_examples=3000, **_COMMON)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci" if os.environ.get("CI") else "dev"))
