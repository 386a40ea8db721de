"""The live dashboard and the review page (Plotly Dash)."""
