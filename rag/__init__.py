"""Question answering over Chinese articles: hybrid retrieval with cited, highlighted answers."""

__version__ = "0.1.0"
