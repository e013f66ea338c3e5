"""Questions as people type them: the training rewrite into keyword queries, the frozen rules of the
keyword-form development sets, and near misses scored as the product declines (real reader)."""

from __future__ import annotations

import importlib.util
import json
import random
from pathlib import Path

import pytest

from rag.reader.augment import keyword_query
from rag.reader.evaluate import not_found, reading_comprehension
from rag.reader.squad import load_examples

ROOT = Path(__file__).resolve().parents[1]
PASSAGE = ("长江是亚洲第一长河和世界第三长河，全长约6300公里，流域面积约180万平方公里。"
           "长江发源于青藏高原的唐古拉山脉各拉丹冬峰西南侧，于崇明岛以东注入东海。")


def _eval_rules():
    spec = importlib.util.spec_from_file_location("query_sets", ROOT / "eval" / "queries" / "build.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_a_question_becomes_a_query_naming_what_it_asks():
    rng = random.Random(0)
    queries = {keyword_query("西红柿开花后多久结果？", rng) for _ in range(40)}
    assert {q.replace(" ", "") for q in queries} <= {"西红柿开花后结果时间", "西紅柿開花後結果時間"}  # traditional script now and then
    assert all("多久" not in q and "？" not in q for q in queries)
    assert keyword_query("三甲基氯硅烷又被称为什么？", random.Random(1)).replace(" ", "") == "三甲基氯硅烷又被称"  # a name asked, no 原因
    assert "电影" in keyword_query("超异能冒险翻拍自哪部电影？", random.Random(2)).replace("電影", "电影")
    assert keyword_query("请说明长江的源头", random.Random(0)) == "请说明长江的源头"  # no question word: unchanged


def test_the_development_sets_rules_only_delete():
    rules = _eval_rules()
    assert rules.keyword_form("西红柿开花后多久结果？") == "西红柿开花后 结果"
    assert rules.keyword_form("《神圣十月》是由哪个杂志连载的？") == "《神圣十月》 杂志连载"
    assert rules.keyword_form("什么是内台航路？") == "内台航路"
    assert rules.keyword_form("谁？") == "谁？"  # nothing left to search by: kept
    assert rules.answer_cut(PASSAGE, ["6300公里"]) == PASSAGE[PASSAGE.index("长江发源于"):]
    assert rules.answer_cut(PASSAGE, ["长江"]) is None  # every sentence holds it


def test_not_found_is_scored_by_the_margin_against_the_products_threshold():
    scored = not_found(answerable=[5.0, 3.0, -1.0], unanswerable=[-4.0, -2.0], decline_below=0.0)
    assert scored["auc"] == 1.0
    assert (scored["recall"], scored["precision"], scored["wrongly_declined"]) == (1.0, round(2 / 3, 4), round(1 / 3, 4))
    assert scored["at_precision_0.9"]["recall"] == 1.0 and scored["at_precision_0.9"]["wrongly_declined"] == 0.0


def test_near_misses_are_read_and_told_apart(tmp_path, reader):
    cut = PASSAGE[PASSAGE.index("长江发源于"):]
    data = {"data": [{"title": "长江", "paragraphs": [
        {"context": PASSAGE, "qas": [{"id": "1", "question": "长江全长多少公里？", "answers": [{"text": "6300公里", "answer_start": PASSAGE.index("6300公里")}]}]},
        {"context": cut, "qas": [{"id": "1-cut", "question": "长江全长多少公里？", "answers": [], "is_impossible": True}]}]}]}
    path = tmp_path / "near.json"
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    assert len(load_examples(path)) == 1  # training and plain reading skip unanswerable questions
    examples = load_examples(path, impossible=True)
    assert [e.answers for e in examples] == [("6300公里",), ()]
    result = reading_comprehension(reader, examples, decline_below=0.0)
    assert result["questions"] == 1 and result["f1"] > 0.5
    assert result["not_found"]["unanswerable"] == 1 and result["not_found"]["auc"] == 1.0  # the cut passage scores lower


@pytest.mark.skipif(not (ROOT.parent / "shared" / "qa-data").is_dir(), reason="the public QA data is not beside the repository")
def test_the_shipped_sets_are_what_the_frozen_rules_build(tmp_path):
    rules = _eval_rules()
    shipped = json.loads((ROOT / "eval" / "queries" / "trial-keyword.json").read_text(encoding="utf-8"))["data"]
    source = json.loads((ROOT.parent / "shared" / "qa-data" / "cmrc2018_trial.json").read_text(encoding="utf-8"))["data"]
    assert rules.keyword_set(source)[0] == shipped
