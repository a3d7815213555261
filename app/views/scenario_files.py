"""Sidebar: download the current scenario as TOML or JSON, or load one from a file.

Uploads are limited to 1 MB (:data:`model.io.MAX_FILE_BYTES` = 1,000,000 bytes; ``server.maxUploadSize``
and the widget say the same, so the limit shown is the limit applied), parsed within a budget with the
standard library's safe parsers by :func:`model.io.parse_scenario_text` (a pre-scan refuses the
TOML shapes that are slow to parse), validated field by field, and nothing in them is executed.
A bad file shows one message per problem and leaves the current scenario as it was; a good one
is loaded into the dashboard's widgets through :func:`app.state.apply_to_session` from the
uploader's ``on_change`` callback (the only place Streamlit lets widget values be set).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import PurePath

import streamlit as st

from app.context import ViewContext
from app.text import escape_markdown
from model import Scenario, ScenarioError
from model.io import MAX_FILE_BYTES, parse_scenario_text, to_json, to_toml

UPLOAD_KEY = "scenario_file_upload"
#: Session-state key of the last upload's outcome: ("success" | "error", file name, lines).
MESSAGE_KEY = "scenario_file_message"
MAX_NAME_CHARS = 60
#: The uploader's limit in Streamlit's unit (MB; its browser code counts 1,000,000 bytes): the
#: same as the parser's byte limit.
UPLOAD_LIMIT_MB = MAX_FILE_BYTES // 1_000_000


def read_upload(name: str, data: bytes) -> tuple[Scenario, str]:
    """Parse an uploaded scenario file: ``(scenario, preset id)``; raises ScenarioError.

    The size is checked before anything is decoded; the format comes from the file name's
    suffix (.toml or .json).
    """
    if len(data) > MAX_FILE_BYTES:
        raise ScenarioError(
            [f"file is {len(data):,} bytes (allowed: at most {MAX_FILE_BYTES:,} bytes, 1 MB)"]
        )
    suffix = PurePath(name).suffix.lower().lstrip(".")
    if suffix not in ("toml", "json"):
        raise ScenarioError([f"file name must end in .toml or .json (got {show_name(name)})"])
    return parse_scenario_text(data, suffix)


def show_name(name: str) -> str:
    """A file name made safe to quote: printable, truncated, quoted."""
    text = "".join(ch if ch.isprintable() else "?" for ch in str(name))
    if len(text) > MAX_NAME_CHARS:
        text = text[: MAX_NAME_CHARS - 1] + "…"
    return f"'{text}'"


def _on_upload() -> None:
    """Uploader callback: load a valid file into the widgets, or record why it was refused."""
    uploaded = st.session_state.get(UPLOAD_KEY)
    if uploaded is None:
        return
    name = str(getattr(uploaded, "name", "scenario"))
    try:
        scenario, preset_id = read_upload(name, uploaded.getvalue())
    except ScenarioError as exc:
        st.session_state[MESSAGE_KEY] = ("error", name, list(exc.problems))
        return
    from app.state import apply_to_session

    apply_to_session(st.session_state, preset_id, scenario, [])
    changed = len(scenario.diff(_preset_scenario(preset_id)))
    st.session_state[MESSAGE_KEY] = (
        "success",
        name,
        [f"preset {preset_id}, {changed} input{'s' if changed != 1 else ''} changed from it"],
    )


def _preset_scenario(preset_id: str) -> Scenario:
    from model import load_preset

    return load_preset(preset_id)


def render(ctx: ViewContext, latest: Callable[[], ViewContext] | None = None) -> None:
    """The scenario file section. With ``latest`` (the view context of the session's latest
    run), the downloads are written when clicked, from that context: the dashboard reruns its
    main block alone on a slider move, leaving this section (in the sidebar) as it was."""

    def current() -> ViewContext:
        return ctx if latest is None else latest()

    st.subheader("Scenario file")
    st.caption(
        "Save the current scenario to share it, or load a saved one. The same file runs "
        "headless with `--scenario`."
    )
    left, right = st.columns(2)
    left.download_button(
        "TOML",
        data=lambda: to_toml(current().scenario, current().preset_id),
        file_name=f"scenario-{ctx.preset_id}.toml",
        mime="application/toml",
        key="scenario_download_toml",
        on_click="ignore",
        icon=":material/download:",
        width="stretch",
        help="Download the current scenario as TOML (every input, with units in comments)",
    )
    right.download_button(
        "JSON",
        data=lambda: to_json(current().scenario, current().preset_id),
        file_name=f"scenario-{ctx.preset_id}.json",
        mime="application/json",
        key="scenario_download_json",
        on_click="ignore",
        icon=":material/download:",
        width="stretch",
        help="Download the current scenario as JSON",
    )
    st.file_uploader(
        f"Load a scenario file (.toml or .json, at most {UPLOAD_LIMIT_MB} MB)",
        # No ``type=``: Streamlit would raise on another suffix sent by a crafted client;
        # read_upload checks the suffix itself and says so in a message.
        type=None,
        key=UPLOAD_KEY,
        on_change=_on_upload,
        max_upload_size=UPLOAD_LIMIT_MB,
        help="A file saved here or by the CLI. Unknown keys and out-of-range values are "
        "refused with a message; nothing in the file is executed.",
    )
    outcome = st.session_state.get(MESSAGE_KEY)
    if outcome:
        kind, name, lines = outcome
        shown = escape_markdown(show_name(name))
        if kind == "success":
            st.success(f"Loaded {shown}: {escape_markdown(lines[0])}.")
        else:
            problems = "\n".join(f"- {escape_markdown(line)}" for line in lines[:20])
            more = f"\n- … and {len(lines) - 20:,} more problems" if len(lines) > 20 else ""
            st.error(
                f"{shown} was not loaded; the current scenario is unchanged.\n\n{problems}{more}"
            )
