"""``rag bench``: where the time goes, measured in one run on one machine, written as a report.

Why: speed is claimed in reports with p50/p95 and ratios taken side by side, never in timed
tests. One run covers the query path (bare embedding vs ``/ask`` to ``rag serve`` over loopback),
indexing, the retrieval variants, a LangChain pipeline a user might pick instead, synthetic scale,
concurrent load, the runtimes, uploads under load and an archive of yearly reports, and writes
``eval/reports/bench-<time>.md``/``.json`` (+ ``-scale.png``).

One module per section (:mod:`.query`, :mod:`.indexing`, :mod:`.retrieval`, :mod:`.peer`, :mod:`.scale`,
:mod:`.load`, :mod:`.runtimes`, :mod:`.uploads`, :mod:`.archive`), what they share in :mod:`.common`,
the report in :mod:`.report`, the command in :mod:`.command`; ``rag bench-stores`` is :mod:`.stores`. Nothing here
imports ``web``: the sections that need a server start ``rag serve`` in a child process.

Heavy and optional imports live inside the functions, so ``rag --help`` stays quick.
"""

from .command import bench_app

__all__ = ["bench_app"]
