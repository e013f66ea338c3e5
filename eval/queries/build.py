"""Build the query-style development sets: questions typed as keywords, and near misses.

People type "2017年高考人数" where a reading-comprehension set writes "2017年高考有多少人？", and a
passage retrieval hands the reader is often on topic without the fact asked. Two sets measure that,
made by fixed rules from data that is never trained on:

- keyword form: each question with its question word and the frame around it deleted
  (``keyword_form``). These rules were written before any training augmentation and are frozen:
  the training augmentation (``rag/reader/augment.py``) rewrites questions by other rules, so
  the reader is not measured on the very rewrites it learned from.
- near miss: each question twice, with its own passage (answerable) and with that passage's
  answer sentences cut out (``is_impossible``: the reader should find no answer).

Sources: the CMRC 2018 trial set (never trained on) and the held-out CMRC-train questions (every
20th article, which ``rag reader train`` holds out). Writes, next to this file:
``trial-keyword.json``, ``heldout-keyword.json`` and ``heldout.json`` (the held-out questions as
asked) in SQuAD format, for the reader alone,
``trial-keyword.jsonl`` (``eval/cmrc-trial/questions.jsonl`` rewritten, whole pipeline),
``trial-near-miss.json`` and ``heldout-near-miss.json`` (SQuAD 2.0 style).

    .venv/bin/python eval/queries/build.py [../shared/qa-data]
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
DEFAULT = HERE.parents[2] / "shared" / "qa-data"
HELD_OUT_EVERY = 20  # as rag reader train's validation_every: every 20th article of CMRC train

# Frozen 2026-12-06. A question word, with the light verb or preposition before it and the measure
# word or noun suffix after it, is deleted; what remains is the query.
_FRAME = re.compile(
    r"(?:是|为|有|在|叫|于|是在|是由|由|叫做|称为)?"
    r"(?:为什么|为何|什么时候|什么地方|怎么样|怎样|怎么|如何|何处|多少|多久|多长|多大|多高|多远|多重|哪一|哪|什么|谁|何|几)"
    r"(?:个|些|种|位|名|年|月|日|天|次|条|家|所|座|项|样|么|时|人|部|本|届|号)?")
_TAIL = re.compile(r"[？?。！!，,\s]*(?:呢|吗|呀|啊|哦)?[？?。！!\s]*$")


def keyword_form(question: str) -> str:
    """The question as a keyword query: 西红柿开花后多久结果？ → 西红柿开花后 结果. A question the
    rules cannot shorten, or would leave with under two characters, is kept as it is."""
    text = _TAIL.sub("", question.strip())
    text = _FRAME.sub(" ", text)
    text = re.sub(r"\s+", " ", text).strip(" 的了是")
    return text if len(text.replace(" ", "")) >= 2 and text != question.strip() else question.strip()


def answer_cut(context: str, answers: list[str]) -> str | None:
    """The passage with every sentence holding an answer removed, or None when under 20 characters
    are left or an answer still shows."""
    sentences = [s for s in re.split(r"(?<=[。！？!?；;])", context) if s]
    kept = [s for s in sentences if not any(a and a in s for a in answers)]
    text = "".join(kept)
    if len(kept) == len(sentences) or len(text) < 20 or any(a and a in text for a in answers):
        return None
    return text


def _articles(path: Path, held_out: bool) -> list[dict]:
    data = json.loads(path.read_text(encoding="utf-8"))["data"]
    if not held_out:
        return data
    titles = sorted({a.get("title", "") + p["context"][:20] for a in data for p in a["paragraphs"]})
    held = set(titles[::HELD_OUT_EVERY])
    kept = []
    for article in data:
        paragraphs = [p for p in article["paragraphs"] if article.get("title", "") + p["context"][:20] in held]
        if paragraphs:
            kept.append({**article, "paragraphs": paragraphs})
    return kept


def keyword_set(articles: list[dict]) -> tuple[list[dict], int]:
    rewritten, changed = [], 0
    for article in articles:
        paragraphs = []
        for paragraph in article["paragraphs"]:
            qas = []
            for qa in paragraph["qas"]:
                query = keyword_form(qa["question"])
                changed += query != qa["question"].strip()
                qas.append({**qa, "question": query})
            paragraphs.append({**paragraph, "qas": qas})
        rewritten.append({**article, "paragraphs": paragraphs})
    return rewritten, changed


def near_miss_set(articles: list[dict]) -> tuple[list[dict], int]:
    paragraphs, cut = [], 0
    for article in articles:
        for paragraph in article["paragraphs"]:
            paragraphs.append(paragraph)
            for qa in paragraph["qas"]:
                shortened = answer_cut(paragraph["context"], [a["text"].strip() for a in qa["answers"]])
                if shortened:
                    cut += 1
                    paragraphs.append({"context": shortened, "qas": [
                        {"id": f"{qa['id']}-cut", "question": qa["question"], "answers": [], "is_impossible": True}]})
    return [{"title": "near-miss", "paragraphs": paragraphs}], cut


def _write(name: str, data) -> None:
    path = HERE / name
    if name.endswith(".jsonl"):
        path.write_text("".join(json.dumps(row, ensure_ascii=False) + "\n" for row in data), encoding="utf-8")
    else:
        path.write_text(json.dumps({"data": data}, ensure_ascii=False), encoding="utf-8")
    print(f"{path.relative_to(HERE.parent.parent)}: {path.stat().st_size // 1024} KB")


def main(source: Path = DEFAULT) -> None:
    for name, path, held_out in (("trial", source / "cmrc2018_trial.json", False),
                                 ("heldout", source / "cmrc2018_train.json", True)):
        articles = _articles(path, held_out)
        questions = sum(len(p["qas"]) for a in articles for p in a["paragraphs"])
        if held_out:  # the held-out questions as asked, beside their keyword form
            _write(f"{name}.json", articles)
        keyword, changed = keyword_set(articles)
        near, cut = near_miss_set(articles)
        _write(f"{name}-keyword.json", keyword)
        _write(f"{name}-near-miss.json", near)
        print(f"{name}: {questions} questions, {changed} rewritten, {cut} with a near-miss passage")
    rows = [json.loads(line) for line in (HERE.parent / "cmrc-trial" / "questions.jsonl").read_text(encoding="utf-8").splitlines()]
    _write("trial-keyword.jsonl", [{**row, "question": keyword_form(row["question"])} for row in rows])


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT)
