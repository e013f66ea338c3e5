"""The answer reader: an extractive span reader (e5-small encoder + trained top layers and span head).

``squad`` loads training data, ``features`` cuts windows and reads spans from logits, ``train``
fine-tunes on a CPU, ``build`` ships and merges the trained delta, ``reader`` runs it, ``metrics``
and ``evaluate`` score it as CMRC does.
"""
