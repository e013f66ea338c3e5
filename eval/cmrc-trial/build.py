"""Build the external check set from the CMRC 2018 trial file: a corpus and a question file.

Each of the 256 trial passages becomes one article in ``corpus/`` (front matter: its title and
source); each of the 1,002 questions becomes one line of ``questions.jsonl`` in the schema of
``eval/questions.jsonl``, with ``evidence`` a stretch of the passage around the answer, so that
``rag eval`` can score retrieval (hit@k) as well as the answer (EM/F1 on ``value``).

The trial set is never trained on (see ../shared/qa-data/README.md).

    .venv/bin/python eval/cmrc-trial/build.py [../shared/qa-data/cmrc2018_trial.json]
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from rag.chunking import Chunker
from rag.documents import load_document

HERE = Path(__file__).resolve().parent
DEFAULT = HERE.parents[2] / "shared" / "qa-data" / "cmrc2018_trial.json"
EVIDENCE = 8  # characters of context on each side of the answer


def _evidence(chunks, start: int, text: str) -> str:
    """The answer with up to EVIDENCE characters around it, inside the product's chunk that holds it
    (a hit is a citation holding the evidence, so the evidence must not cross a chunk boundary)."""
    holding = [c for c in chunks if text in c.text]
    covering = [c for c in holding if any(s <= start < e for s, e in c.spans)]
    chunk = (covering or holding or [None])[0]
    if chunk is None:
        return text
    at = chunk.text.find(text, max(0, _chunk_offset(chunk, start) - 2))
    at = at if at >= 0 else chunk.text.find(text)
    left = chunk.text[max(0, at - EVIDENCE):at].split("\n")[-1]
    right = chunk.text[at + len(text):at + len(text) + EVIDENCE].split("\n")[0]
    return left + text + right


def _chunk_offset(chunk, start: int) -> int:
    """Where document offset ``start`` falls in the chunk's text (its spans are joined in order)."""
    offset = 0
    for s, e in chunk.spans:
        if s <= start < e:
            return offset + start - s
        offset += e - s
    return 0


def build(source: Path, out: Path = HERE) -> tuple[int, int]:
    data = json.loads(Path(source).read_text(encoding="utf-8"))["data"]
    corpus = out / "corpus"
    corpus.mkdir(parents=True, exist_ok=True)
    for old in corpus.glob("*.md"):
        old.unlink()
    lines, passages = [], 0
    chunker = Chunker()
    for article in data:
        for number, paragraph in enumerate(article["paragraphs"]):
            doc = str(paragraph.get("id") or f"{article.get('id')}-{number}")
            title = article.get("title", "").replace('"', "'")
            context = paragraph["context"]
            (corpus / f"{doc}.md").write_text(
                f'---\ntitle: "{title}"\nsource: CMRC 2018 trial (Chinese Wikipedia, CC BY-SA 4.0)\n---\n\n{context}\n',
                encoding="utf-8")
            passages += 1
            document = load_document(corpus / f"{doc}.md", corpus)
            chunks = chunker(document)
            body = document.text.find(context[:50])  # where the passage starts in the loaded document
            for qa in paragraph["qas"]:
                answers = list(dict.fromkeys(a["text"].strip() for a in qa["answers"] if a["text"].strip()))
                first = qa["answers"][0]
                start = context.find(first["text"], max(0, first["answer_start"] - 8))
                start = start if start >= 0 else context.find(first["text"])
                lines.append({"id": f"cmrc-trial-{qa['id']}", "question": qa["question"].strip(), "answers": answers,
                              "evidence": _evidence(chunks, max(0, body) + start, first["text"]), "doc": doc, "kind": "fact"})
    (out / "questions.jsonl").write_text("".join(json.dumps(line, ensure_ascii=False) + "\n" for line in lines),
                                         encoding="utf-8")
    return passages, len(lines)


if __name__ == "__main__":
    passages, questions = build(Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT)
    print(f"{passages} passages, {questions} questions in {HERE}")
