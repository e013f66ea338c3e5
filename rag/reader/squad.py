"""Extractive-QA examples from SQuAD-format files (CMRC 2018, DRCD, XQuAD), in simplified script.

Why: the reader learns from public Chinese QA data; the product answers in simplified script,
so traditional-script sets (DRCD) are converted, and answer offsets are re-found where a
conversion or a known off-by-one in the files moved them.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

_SEARCH_RADIUS = 8  # characters around a stated offset where a shifted answer is looked for


@dataclass(frozen=True)
class Example:
    id: str
    title: str
    context: str
    question: str
    answers: tuple[str, ...]
    starts: tuple[int, ...]  # character offset of each answer in ``context``


def file_sha256(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def _simplified(text: str) -> str:
    import zhconv  # imported here: a GPU machine that trains on packed windows (rag.reader.gpu) has no zhconv

    return zhconv.convert(text, "zh-cn")


def _locate(context: str, text: str, start: int) -> int:
    """The offset of ``text`` in ``context`` nearest ``start``, or -1."""
    if context.startswith(text, start):
        return start
    for delta in range(1, _SEARCH_RADIUS + 1):
        for candidate in (start - delta, start + delta):
            if candidate >= 0 and context.startswith(text, candidate):
                return candidate
    return context.find(text)


def load_examples(path: Path, simplify: bool | None = None, impossible: bool = False) -> list[Example]:
    """Every question of a SQuAD-format file with at least one locatable answer, and with
    ``impossible`` also those marked ``is_impossible`` (SQuAD 2.0 style), with no answers.

    ``simplify`` converts traditional script to simplified; by default it is on when the file
    name says DRCD (the only traditional-script set here)."""
    path = Path(path)
    if simplify is None:
        simplify = "drcd" in path.name.lower()
    convert = _simplified if simplify else str
    data = json.loads(path.read_text(encoding="utf-8"))["data"]
    examples = []
    for article in data:
        title = convert(article.get("title", ""))
        for paragraph in article["paragraphs"]:
            context = convert(paragraph["context"])
            for qa in paragraph["qas"]:
                answers, starts = [], []
                for answer in qa.get("answers", []):
                    text = convert(answer["text"]).strip()
                    start = _locate(context, text, int(answer.get("answer_start", 0))) if text else -1
                    if start >= 0 and text not in answers:
                        answers.append(text)
                        starts.append(start)
                if answers or (impossible and qa.get("is_impossible")):
                    examples.append(Example(str(qa["id"]), title, context, convert(qa["question"]).strip(),
                                            tuple(answers), tuple(starts)))
    return examples
