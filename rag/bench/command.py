"""``rag bench``: the command; each section lives in its own module and is imported when it runs."""

from __future__ import annotations

import importlib
import shutil
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Annotated

import typer

# Sections in the order they run (indexing first: its fresh index then serves the others), as
# "module:function" in this package; each function takes the Run and returns (data, markdown).
SECTIONS = {
    "indexing": "indexing:bench_indexing",
    "query": "query:bench_query",
    "retrieval": "retrieval:bench_retrieval",
    "peer": "peer:bench_peer",
    "load": "load:bench_load",
    "scale": "scale:bench_scale",
    "runtime": "runtimes:bench_runtime",
    "uploads": "uploads:bench_uploads",
    "archive": "archive:bench_archive",
}
SCALES = {"100k": (10_000, 100_000), "1m": (10_000, 100_000, 1_000_000)}
GOLD = Path("eval/questions.jsonl")

bench_app = typer.Typer(add_completion=False)


def section(name: str, scale: str):
    """The function that measures section ``name``."""
    module, function = SECTIONS[name].split(":")
    measure = getattr(importlib.import_module(f".{module}", __package__), function)
    return (lambda run: measure(run, SCALES[scale])) if name == "scale" else measure


@bench_app.callback(invoke_without_command=True)
def bench(
    scale: Annotated[str, typer.Option(help="largest synthetic corpus: 100k, or 1m (slow, ~4 GB)")] = "100k",
    only: Annotated[str, typer.Option(help=f"comma-separated sections: {','.join(SECTIONS)}")] = ",".join(SECTIONS),
    out: Annotated[Path, typer.Option(help="folder for the reports")] = Path("eval/reports"),
    gold: Annotated[Path, typer.Option(help="gold questions (JSON lines)")] = GOLD,
    archive: Annotated[Path, typer.Option(help="an archive for its section: a folder with corpus/ and questions.jsonl")] = Path("../shared/archive-dev"),
) -> None:
    """Benchmark the query path, indexing, retrieval variants, a LangChain peer, scale, load, runtimes, uploads
    and an archive;
    write a report (older bench reports whose every section was measured again go; see rag.reports).

    Example: rag bench --only query,load
    """
    from ..config import get_settings
    from ..eval import GoldSetError, load_questions
    from .common import Run, optional, peak_rss_mb, say
    from .report import Contention, machine, write

    chosen = [s.strip() for s in only.split(",") if s.strip()]
    unknown = [s for s in chosen if s not in SECTIONS]
    if unknown or not chosen:
        raise typer.BadParameter(f"unknown section {', '.join(unknown) or '(none)'}; choose from {', '.join(SECTIONS)}", param_hint="--only")
    if scale not in SCALES:
        raise typer.BadParameter(f"unknown scale {scale!r}; choose from {', '.join(SCALES)}", param_hint="--scale")
    try:
        items = load_questions(gold)
    except (OSError, GoldSetError) as exc:
        raise typer.BadParameter(str(exc), param_hint="--gold") from None
    optional("psutil", "psutil")
    if "scale" in chosen:
        optional("matplotlib", "matplotlib")
    if "peer" in chosen:
        from .peer import langchain

        langchain()

    settings = get_settings()
    contention, started = Contention(), time.perf_counter()
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    workdir = Path(tempfile.mkdtemp(prefix="rag-bench-"))
    run = Run(settings, items, workdir, archive)
    measured_on = machine(settings)
    results, texts = {}, {}
    try:
        for name in SECTIONS:
            if name in chosen:
                say(f"{name} …")
                section_started = time.perf_counter()
                results[name], texts[name] = section(name, scale)(run)
                results[name]["section_s"] = round(time.perf_counter() - section_started, 1)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)

    total_s, peak = round(time.perf_counter() - started, 1), peak_rss_mb()
    command = f"rag bench --scale {scale} --only {','.join(chosen)}" + (f" --gold {gold}" if gold != GOLD else "")
    base = write(out, stamp, {"command": command, "total_s": total_s, "peak_rss_mib": peak, "machine": measured_on,
                              "contention": contention.report()}, results, texts, settings.threads)
    typer.echo(f"wrote {base}.md and .json ({total_s} s, peak RSS {peak} MiB)")
