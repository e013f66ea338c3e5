"""The `rag` command: exit codes and one-line errors, never a traceback."""

import json
import os
import subprocess
import sys

import pytest

from .conftest import ROOT


def rag(*args, index_dir=None, timeout=300):
    env = {**os.environ, "RAG_THREADS": "1"}
    if index_dir is not None:
        env["RAG_INDEX_DIR"] = str(index_dir)
    result = subprocess.run([sys.executable, "-m", "rag.cli", *map(str, args)], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=timeout)
    assert "Traceback" not in result.stderr, result.stderr
    return result


def test_missing_corpus_folder(tmp_path):
    result = rag("index", tmp_path / "nope", "--index-dir", tmp_path / "index")
    assert result.returncode == 1
    assert "corpus folder not found" in result.stderr


def test_empty_corpus(tmp_path):
    (tmp_path / "corpus").mkdir()
    result = rag("index", tmp_path / "corpus", "--index-dir", tmp_path / "index")
    assert result.returncode == 1
    assert "no readable articles" in result.stderr
    assert not (tmp_path / "index" / "CURRENT").exists()


def test_ask_without_an_index_says_what_to_run(tmp_path):
    result = rag("ask", "鹿泉区2024年电子信息产业目标是多少", index_dir=tmp_path)
    assert result.returncode == 1
    assert "rag index" in result.stderr and len(result.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize("args", [("ask", "   "), ("ask", "问题", "--top-k", "0"), ("eval", "--set", "missing.jsonl")])
def test_bad_arguments(args, tmp_path):
    result = rag(*args, index_dir=tmp_path)
    assert result.returncode == 2
    assert result.stderr.strip()


def test_ask_json(index_dir):
    result = rag("ask", "小学生免费公交专线征求意见的传真号码是多少", "--json", "--top-k", "3", index_dir=index_dir)
    assert result.returncode == 0, result.stderr
    body = json.loads(result.stdout)
    assert body["value"] == "86036652" and len(body["citations"]) == 3


def test_eval_thresholds_set_the_exit_code(tmp_path, index_dir):
    gold = tmp_path / "gold.jsonl"
    items = [
        {"id": "a", "question": "鹿泉区聚集了多少家电子信息企业", "answers": ["900余家"], "evidence": "鹿泉区聚集了900余家电子信息企业", "kind": "fact"},
        {"id": "b", "question": "石家庄2030年GDP目标是多少", "answers": [], "evidence": None, "kind": "unanswerable"},
    ]
    gold.write_text("\n".join(json.dumps(i, ensure_ascii=False) for i in items), encoding="utf-8")
    reports = tmp_path / "reports"
    ok = rag("eval", "--set", gold, "--out", reports, "--min-hit1", "1.0", "--min-abstention", "1.0", index_dir=index_dir)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "hit@1" in ok.stdout and len(list(reports.glob("eval-*.md"))) == 1 and len(list(reports.glob("eval-*.json"))) == 1
    (gold.parent / "bad.jsonl").write_text('{"id": "x"}\n', encoding="utf-8")
    bad = rag("eval", "--set", gold.parent / "bad.jsonl", index_dir=index_dir)
    assert bad.returncode == 2 and "missing" in bad.stderr


def test_add_docs_rm_on_a_copy_of_the_corpus(tmp_path, index_dir):
    import shutil

    from .conftest import CORPUS

    shutil.copytree(CORPUS, tmp_path / "corpus")
    shutil.copytree(index_dir, tmp_path / "index")
    env = {**os.environ, "RAG_THREADS": "1", "RAG_CORPUS_DIR": str(tmp_path / "corpus"),
           "RAG_INDEX_DIR": str(tmp_path / "index"), "RAG_KB_DIR": str(tmp_path / "kbs")}

    def run(*args):
        result = subprocess.run([sys.executable, "-m", "rag.cli", *map(str, args)], cwd=ROOT, env=env,
                                capture_output=True, text=True, timeout=300)
        assert "Traceback" not in result.stderr, result.stderr
        return result

    note = tmp_path / "东篱镇.md"
    note.write_text("# 东篱镇茶叶\n\n东篱镇2023年茶叶产量为1200吨。\n", encoding="utf-8")
    added = run("add", note, "--quiet")
    assert added.returncode == 0, added.stderr
    doc_id = added.stdout.split("\t")[0]
    assert doc_id.startswith("uploads/") and "now serving" in added.stdout
    listed = run("docs")
    assert f"{doc_id}\t" in listed.stdout and "东篱镇.md" in listed.stdout and listed.stdout.count("\n") == 6
    assert "1200吨" in run("ask", "东篱镇2023年茶叶产量是多少").stdout
    assert run("add", tmp_path / "nope.pdf").returncode == 1
    (tmp_path / "bad.pdf").write_bytes(b"MZ not a pdf")
    bad = run("add", tmp_path / "bad.pdf")
    assert bad.returncode == 1 and "bad.pdf: not a PDF" in bad.stderr
    assert run("rm", "uploads/none").returncode == 1
    assert run("rm", doc_id, "--quiet").returncode == 0
    assert doc_id not in run("docs").stdout
    assert run("docs", "--kb", "nope").returncode == 1
