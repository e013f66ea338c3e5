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


@pytest.mark.parametrize("text, date", [
    ("关于征求意见的公告\n2025年3月10日\n\n正文。\n", "2025-03-10"),  # a dateline of its own
    ("---\ntitle: 通知\n---\n\n发布时间：2024-09-02 10:30\n\n正文。\n", "2024-09-02"),  # labelled, front matter without a date
    ("（2025年3月10日）本报讯 市政府召开常务会议，研究部署近期重点工作，会议由市长主持。\n", "2025-03-10"),
    ("吕志兴，生于香港，香港职业足球运动员，司职防守中场，2016年6月随和富大埔升上香港超级联赛。\n", ""),  # events, not a dateline
    ("二〇二五年工作要点\n\n正文。\n", ""),
])
def test_plain_text_is_dated_by_a_dateline_only(tmp_path: Path, text: str, date: str):
    (tmp_path / "note.md").write_text(text, encoding="utf-8")
    assert load_document(tmp_path / "note.md").date == date


@pytest.mark.parametrize("name, text, title", [
    ("a.md", "# 青禾市博物馆新馆开放\n\n新馆由建筑师林嘉明设计。\n", "青禾市博物馆新馆开放"),  # a Markdown heading
    ("b.txt", "青禾市博物馆新馆开放\n2024年5月20日\n新馆由建筑师林嘉明设计。\n", "青禾市博物馆新馆开放"),  # a title line
    ("c.txt", "新馆由建筑师林嘉明设计，今年五月开放。\n\n第二段。\n", "c"),  # a sentence is no title
    ("d.txt", "2024年5月20日\n新馆今年五月开放。\n", "d"),  # nor a dateline
    ("e.md", "---\ntitle: 前言里的标题\n---\n# 正文标题\n\n正文。\n", "前言里的标题"),  # front matter wins
])
def test_text_without_a_title_in_front_matter_takes_its_heading_or_title_line(tmp_path: Path, name: str, text: str, title: str):
    (tmp_path / name).write_text(text, encoding="utf-8")
    assert load_document(tmp_path / name).title == title


def test_html_without_a_title_element_takes_its_first_heading(tmp_path: Path):
    (tmp_path / "page.html").write_text("<html><body><h1>青禾市博物馆新馆开放</h1><p>新馆今天开放。</p></body></html>", encoding="utf-8")
    assert load_document(tmp_path / "page.html").title == "青禾市博物馆新馆开放"
