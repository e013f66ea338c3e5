"""eval/reports/ keeps the latest report per set (per bench section), and eval/history.csv gets a line per run."""

from __future__ import annotations

import csv
import json

from rag.bench.report import keep_latest_sections
from rag.eval import Report, summarise
from rag.reports import keep_latest


def test_a_new_eval_report_replaces_its_sets_older_ones_and_adds_a_history_line(tmp_path):
    reports = tmp_path / "reports"
    reports.mkdir()
    for name in ("eval-20250101T000000Z.md", "eval-20250101T000000Z.json", "eval-holdout-20250101T000000Z.md"):
        (reports / name).write_text("old", encoding="utf-8")
    Report(summarise([]), {}, [], {"when": "2026-12-06T20:00:00Z", "top_k": 5, "set": "questions"}).write(reports)
    assert sorted(p.name for p in reports.iterdir()) == [
        "eval-20261206T200000Z.json", "eval-20261206T200000Z.md", "eval-holdout-20250101T000000Z.md"]
    rows = list(csv.DictReader((tmp_path / "history.csv").open(encoding="utf-8")))
    assert [(r["timestamp"], r["set"], r["report"]) for r in rows] == [("20261206T200000Z", "questions", "eval-20261206T200000Z.md")]
    assert rows[0]["commit"]
    assert keep_latest(reports, "eval-holdout") == []  # one report of the set: it stays


def test_a_bench_report_stays_while_it_is_the_latest_for_one_of_its_sections(tmp_path):
    def bench(stamp: str, sections: list[str]) -> None:
        (tmp_path / f"bench-{stamp}.md").write_text("", encoding="utf-8")
        (tmp_path / f"bench-{stamp}.json").write_text(json.dumps({"results": {s: {} for s in sections}}), encoding="utf-8")

    bench("20260101T000000Z", ["query", "load"])
    bench("20260102T000000Z", ["scale"])
    (tmp_path / "bench-20260102T000000Z-scale.png").write_bytes(b"")
    bench("20260103T000000Z", ["query"])
    assert keep_latest_sections(tmp_path) == []  # load's latest is still the first
    bench("20260104T000000Z", ["load", "scale"])
    gone = {p.name for p in keep_latest_sections(tmp_path)}
    assert gone == {"bench-20260101T000000Z.md", "bench-20260101T000000Z.json", "bench-20260102T000000Z.md",
                    "bench-20260102T000000Z.json", "bench-20260102T000000Z-scale.png"}
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "bench-20260103T000000Z.json", "bench-20260103T000000Z.md", "bench-20260104T000000Z.json", "bench-20260104T000000Z.md"]


def test_the_archive_section_times_an_archive_and_skips_without_one(tmp_path):
    from rag.bench.archive import SHORT_WINDOW, bench_archive
    from rag.bench.common import QUERIES, Run
    from rag.config import get_settings

    run = Run(get_settings(), [], tmp_path, archive=tmp_path / "none")
    data, md = bench_archive(run)
    assert "skipped" in data and "none" in md
    archive = tmp_path / "archive"
    (archive / "corpus").mkdir(parents=True)
    for year, rate in ((2024, "3%"), (2025, "2.8%")):
        (archive / "corpus" / f"{year}.md").write_text(
            f"---\ntitle: {year}年临川市政府工作报告\ndate: {year}-01-20\n---\n\n今年全市财政赤字率安排为{rate}，重点支持民生。\n", encoding="utf-8")
    (archive / "questions.jsonl").write_text('{"id": "a-1", "kind": "fact", "question": "2025年临川市赤字率是多少？", "answers": ["2.8%"]}\n', encoding="utf-8")
    data, md = bench_archive(Run(get_settings(), [], tmp_path, archive=archive))
    assert data["paragraphs"] == 2 and data["Engine.ask in-process"]["n"] == QUERIES
    assert data[f"Engine.ask, {SHORT_WINDOW}-token windows"]["n"] == QUERIES  # shorter reader windows beside the default
    assert data["Engine.ask, 4 passages read at once"]["n"] == QUERIES  # the first passages read alone, against all at once
    assert data["ask_over_at_once_p50"] > 0
    assert "Engine.retrieve" in md and data["ask_over_embed_p50"] > 1  # asking costs more than embedding the question
