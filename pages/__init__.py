"""Streamlit pages: thin UI over ecgviz. Caches live in pages/common.py only."""
