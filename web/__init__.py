"""The web front of the product: JSON API and chat page over :mod:`rag`."""
