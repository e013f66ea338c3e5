"""Issue #29: nothing lost, nothing leaked, no upload can sink the server.

Chunking limits on made-up text; the rest on a real server on loopback with real files made here.
"""

from __future__ import annotations

import time

from rag.chunking import MAX_CHARS, Chunker
from rag.documents import Document


def test_sixteen_thousand_short_paragraphs_chunk_in_linear_time():
    text = "\n\n".join(f"第{i}号仓库存放物资{i * 13}箱，负责人编号{i * 31}。" for i in range(16000))
    started = time.perf_counter()
    chunks = Chunker()(Document(doc_id="many", title="仓库", text=text))
    assert len(chunks) == 16000
    assert time.perf_counter() - started < 10  # comparing every pair took 21-78 s here


def test_a_paragraph_printed_twice_is_still_kept_once():
    full = "鹿泉区新一代电子信息产业营业收入达到766.02亿元，同比增长35.47%。"
    text = f"标题\n\n{full}\n\n另一段完全不同的文字，讲的是别的事情。\n\n{full[:20]}\n"
    chunks = Chunker()(Document(doc_id="twice", title="标题", text=text))
    assert sum(full[:20] in c.text for c in chunks) == 1


def test_a_line_with_no_sentence_end_is_split_by_length():
    for unit in ("鹿泉区电子信息产业", "鹿泉区电子信息，产业"):
        text = unit * 100_000  # one line of about a million characters and no full stop
        chunks = Chunker()(Document(doc_id="line", title="长行", text=text))
        assert len(chunks) > 1000 and max(len(c.text) for c in chunks) <= MAX_CHARS
        assert "".join(c.text for c in chunks) == text  # nothing lost at the cuts
    clauses = Chunker()(Document(doc_id="c", title="t", text="鹿泉区电子信息，产业" * 1000))
    assert all(c.text.endswith("，") for c in clauses[:-1])  # cut after a clause where there is one
