"""The dashboard's entry script: ``make run`` or ``streamlit run app/streamlit_app.py``.

Thin on purpose: the page lives in :mod:`app.page` (importable, typed, testable). Streamlit puts
only this file's folder on ``sys.path``, so the project root is added when the project is not
installed.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

_ROOT = Path(__file__).resolve().parents[1]
if str(_ROOT) not in sys.path:  # Streamlit puts only app/ on sys.path
    sys.path.insert(0, str(_ROOT))

# A long-lived server hands freed memory back to the system (model.engine keeps it for reuse in
# batch runs otherwise); set before the model is first imported, so the name is spelled here
# rather than read from model.engine.ALLOCATOR_TUNING_ENV.
os.environ.setdefault("AIDC_ALLOCATOR_TUNING", "off")

from app.page import run  # noqa: E402

run()
