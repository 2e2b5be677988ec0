"""chipqa: local question answering over AI-chip news, with verified figures and exact citations."""

__version__ = "0.1.0"
