"""Micro-batching: concurrent questions share model calls and each gets back exactly its own answer."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest

from rag.batching import Batcher

PASSAGES = ["鹿泉区是石家庄市电子信息产业的主要承载地。2024年，该区电子信息产业营业收入目标为1100亿元。",
            "2023年，全市生物医药产业营业收入达到1000亿元，同比增长12%。今年的目标是突破1100亿元。"]
QUESTIONS = ["鹿泉区2024年电子信息产业目标是多少", "2023年生物医药产业营业收入是多少", "生物医药产业同比增长多少",
             "鹿泉区是什么产业的主要承载地"]


def _concurrently(fn, args: list) -> list:
    results = [None] * len(args)
    gate = threading.Barrier(len(args))

    def one(i: int) -> None:
        gate.wait()
        results[i] = fn(args[i])

    threads = [threading.Thread(target=one, args=(i,)) for i in range(len(args))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return results


def _spans(spans) -> list[tuple[int, str, float]]:
    return [(s.passage, s.text, round(s.score, 2)) for s in spans[:3]]


def test_concurrent_reads_share_calls_and_match_reading_alone(reader):
    alone = [_spans(reader.read(q, PASSAGES)) for q in QUESTIONS]
    asked = QUESTIONS * 3
    calls, jobs = reader.batcher.calls, reader.batcher.jobs
    together = _concurrently(lambda q: _spans(reader.read(q, PASSAGES)), asked)
    assert together == alone * 3
    assert reader.batcher.jobs - jobs == len(asked)
    assert reader.batcher.calls - calls < len(asked)  # at least some questions shared a model call
    assert "1100亿元" in together[0][0][1]


def test_concurrent_question_embeddings_match_embedding_alone(embedder):
    alone = embedder.queries(QUESTIONS)
    together = _concurrently(lambda q: embedder.queries([q])[0], QUESTIONS * 2)
    assert np.min(np.sum(np.stack(together) * np.concatenate([alone, alone]), axis=1)) > 0.9999


def test_a_lone_call_goes_straight_through():
    batcher = Batcher(lambda items: [x * 2 for x in items], max_items=8)
    assert batcher([1, 2, 3]) == [2, 4, 6]
    assert (batcher.calls, batcher.jobs) == (1, 1)
    batcher.close()


def test_callers_get_their_own_results_and_waiting_callers_are_joined():
    started = threading.Event()

    def slow(items):
        started.set()
        time.sleep(0.2)  # while this call runs, the other callers queue up and form the next batch
        return [f"{x}!" for x in items]

    batcher = Batcher(slow, max_items=100)
    first = threading.Thread(target=batcher, args=(["first"],))
    first.start()
    started.wait(5)
    results = _concurrently(lambda i: batcher([f"{i}a", f"{i}b"]), list(range(10)))
    first.join()
    assert results == [[f"{i}a!", f"{i}b!"] for i in range(10)]
    assert batcher.calls <= 3 and batcher.jobs == 11
    batcher.close()


def test_batching_off_calls_once_per_caller():
    batcher = Batcher(lambda items: items, max_items=1)
    _concurrently(lambda i: batcher([i]), list(range(6)))
    assert (batcher.calls, batcher.jobs) == (6, 6)
    batcher.close()


def test_an_error_reaches_every_caller_of_that_call_and_the_worker_lives_on():
    def picky(items):
        if "bad" in items:
            raise ValueError("bad item")
        return items

    batcher = Batcher(picky, max_items=4)
    with pytest.raises(ValueError, match="bad item"):
        batcher(["bad"])
    assert batcher(["good"]) == ["good"]
    batcher.close()


def test_a_wrong_result_count_is_an_error_not_a_hang():
    batcher = Batcher(lambda items: items[:-1], max_items=4)
    with pytest.raises(RuntimeError, match="2 results for 3 items"):
        batcher([1, 2, 3])
    batcher.close()


def test_two_workers_run_calls_at_once():
    running, most = [0], [0]
    lock = threading.Lock()

    def tracked(items):
        with lock:
            running[0] += 1
            most[0] = max(most[0], running[0])
        time.sleep(0.1)
        with lock:
            running[0] -= 1
        return items

    batcher = Batcher(tracked, max_items=1, workers=2)
    _concurrently(lambda i: batcher([i]), list(range(6)))
    assert most[0] == 2
    batcher.close()


def test_closed_workers_stop():
    batcher = Batcher(lambda items: items, workers=2, name="closing")
    batcher.close()
    deadline = time.time() + 5
    while time.time() < deadline and any(t.name.startswith("closing-") for t in threading.enumerate()):
        time.sleep(0.05)
    assert not any(t.name.startswith("closing-") for t in threading.enumerate())


def test_one_callers_parts_run_side_by_side_on_two_workers():
    both = threading.Barrier(2, timeout=10)  # each call waits for the other: passes only if both run at once

    def meeting(items):
        both.wait()
        return [x * 10 for x in items]

    batcher = Batcher(meeting, max_items=1, workers=2)
    assert batcher.parts([[1, 2], [3], []]) == [[10, 20], [30], []]
    assert (batcher.calls, batcher.jobs) == (2, 2)
    batcher.close()


def test_a_question_read_on_two_workers_matches_reading_on_one(reader):
    long_passage = "".join(PASSAGES) * 6  # several windows, dealt over the two workers
    alone = _spans(reader.read(QUESTIONS[0], [long_passage, PASSAGES[1]], windows_per_passage=None))
    reader.batching(1, workers=2)
    try:
        calls = reader.batcher.calls
        split = _spans(reader.read(QUESTIONS[0], [long_passage, PASSAGES[1]], windows_per_passage=None))
        assert reader.batcher.calls - calls == 2
    finally:
        reader.batching()
    assert split == alone and "1100亿元" in split[0][1]
