"""Placeholder until its owner lands it: renders a note, so the dashboard runs meanwhile."""

from __future__ import annotations

import streamlit as st

from app.context import ViewContext


def render(ctx: ViewContext) -> None:
    st.info("This view is being built.")
