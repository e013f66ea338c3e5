"""Loading articles: front matter, plain text, HTML main text, and files that cannot be read."""

from pathlib import Path

import pytest

from rag.documents import CorpusError, load_corpus, load_document, split_front_matter

from .conftest import CORPUS


def test_corpus_articles_have_front_matter():
    documents, skipped = load_corpus(CORPUS)
    assert skipped == []
    assert len(documents) == 5
    for doc in documents:
        assert doc.title and doc.source and doc.date[:4].isdigit()
        assert doc.meta["original"].endswith(".txt")
        assert not doc.text.startswith("---")


def test_front_matter_is_optional(tmp_path: Path):
    (tmp_path / "2022-03_note.txt").write_text("第一段。\n\n第二段。\n", encoding="utf-8")
    doc = load_document(tmp_path / "2022-03_note.txt")
    assert doc.title == "2022-03_note"
    assert doc.date == "2022-03"  # from the file name
    assert doc.text.startswith("第一段")


def test_html_keeps_main_text_only(tmp_path: Path):
    html = """<html><head><title>鹿泉新闻</title><script>var x = "脚本";</script></head>
    <body><nav>首页 导航</nav><article><h1>标题</h1><p>鹿泉区力争突破1100亿元。</p><p>第二段。</p></article>
    <footer>版权所有</footer></body></html>"""
    (tmp_path / "a.html").write_text(html, encoding="utf-8")
    doc = load_document(tmp_path / "a.html")
    assert doc.title == "鹿泉新闻"
    assert "鹿泉区力争突破1100亿元。" in doc.text and "第二段。" in doc.text
    assert "导航" not in doc.text and "脚本" not in doc.text and "版权" not in doc.text


def test_bad_files_are_reported_and_skipped(tmp_path: Path):
    (tmp_path / "good.md").write_text("---\ntitle: 好\ndate: 2024-01-02\n---\n正文。\n", encoding="utf-8")
    (tmp_path / "latin1.txt").write_bytes("caf\xe9 \xff\xfe".encode("latin-1"))
    (tmp_path / "broken.md").write_text("---\ntitle: [unclosed\n---\n正文\n", encoding="utf-8")
    (tmp_path / "empty.md").write_text("---\ntitle: 空\n---\n\n", encoding="utf-8")
    documents, skipped = load_corpus(tmp_path)
    assert [d.doc_id for d in documents] == ["good"]
    assert len(skipped) == 3
    assert any("latin1.txt" in s and "UTF-8" in s for s in skipped)
    assert any("broken.md" in s for s in skipped) and any("empty.md" in s for s in skipped)


def test_missing_or_empty_corpus_is_an_error(tmp_path: Path):
    with pytest.raises(CorpusError, match="not found"):
        load_corpus(tmp_path / "nope")
    with pytest.raises(CorpusError, match="no readable articles"):
        load_corpus(tmp_path)


def test_front_matter_must_be_a_mapping():
    with pytest.raises(ValueError):
        split_front_matter("---\n- a\n- b\n---\ntext")
