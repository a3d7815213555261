"""The floor for a cold first chart: a bare Streamlit page with one metric and one Plotly chart.

``scripts/bench_browser.py`` times it in the same run as the dashboard, so the dashboard's cold
first chart is judged against what Streamlit and plotly.js cost on this machine at that moment.
"""

import plotly.graph_objects as go
import streamlit as st

st.set_page_config(page_title="Bare page", layout="wide")
st.metric("NPV at WACC", "US$ 18.0 B", border=True)
figure = go.Figure(go.Bar(x=[0, 1, 2, 3], y=[-40.0, -40.0, 30.0, 30.0], name="Free cash flow"))
figure.update_layout(title="Bare page: one chart")
st.plotly_chart(figure, theme=None, width="stretch")
