"""How the browser tests wait: for states, each with one generous ceiling, never for a time.

A wait ends as soon as its state is reached (a fast machine loses nothing), and the ceiling is
only there to turn a hang into a failure: :data:`STATE_CEILING_MS` (300 s unless the
environment variable ``BROWSER_STATE_CEILING_S`` says otherwise) is set as the default of every
Playwright wait, assertion and action in this folder (tests/browser/conftest.py), so a correct
build passes on a machine whose two cores are busy with other work.
"""

from __future__ import annotations

import os

from playwright.sync_api import BrowserContext, Page

#: Longest wait for any one state, in ms (Playwright's unit).
STATE_CEILING_MS = int(float(os.environ.get("BROWSER_STATE_CEILING_S", "300")) * 1000)

#: The page has settled: no script run in flight (the status widget's running icon), no stale
#: element waiting to be replaced, no skeleton placeholder, and every visible chart drawn.
SETTLED_JS = """() =>
  !document.querySelector('[data-testid="stStatusWidgetRunningIcon"], [data-stale="true"], '
                          + '[data-testid="stSkeleton"]')
  && [...document.querySelectorAll('.js-plotly-plot')]
       .filter(p => p.offsetParent !== null)
       .every(p => p.querySelector('.main-svg'))"""


def wait_settled(page: Page) -> None:
    """Wait until the page has settled (see :data:`SETTLED_JS`), at most the ceiling."""
    page.wait_for_function(SETTLED_JS, timeout=STATE_CEILING_MS)


#: Every finite CSS animation and transition has ended (a rerun fades its elements out and back
#: in; axe measures colour contrast with the opacity of the moment, so a fading slider label
#: reads as low contrast). Infinite animations (a spinner) do not count: they never end.
ANIMATIONS_DONE_JS = """() => document.getAnimations().every(a =>
  a.playState !== 'running' || !isFinite(a.effect?.getComputedTiming().endTime ?? Infinity))"""


def wait_still(page: Page) -> None:
    """Wait until the page has settled and no finite animation is running, at most the ceiling."""
    wait_settled(page)
    page.wait_for_function(ANIMATIONS_DONE_JS, timeout=STATE_CEILING_MS)
    wait_settled(page)


def with_ceiling(context: BrowserContext) -> BrowserContext:
    """``context`` with every wait, action and navigation of its pages bounded by the ceiling
    (instead of Playwright's 30 s); for contexts a test makes with ``browser.new_context``."""
    context.set_default_timeout(STATE_CEILING_MS)
    context.set_default_navigation_timeout(STATE_CEILING_MS)
    return context
