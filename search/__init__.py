"""Multilingual full-text search for news articles."""

__version__ = "0.1.0"
