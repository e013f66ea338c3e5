"""Paragraph chunks: offsets into the document, and the repairs newspaper layout needs."""

import pytest

from rag.chunking import Chunker
from rag.documents import Document, load_corpus

from .conftest import CORPUS


@pytest.fixture(scope="module")
def chunks_by_doc():
    documents, _ = load_corpus(CORPUS)
    chunker = Chunker()
    return {d.doc_id: (d, chunker(d)) for d in documents}


def find(chunks, needle):
    found = [c for c in chunks if needle in c.text]
    assert found, f"no chunk contains {needle!r}"
    return found


def test_spans_point_into_the_document(chunks_by_doc):
    for doc, chunks in chunks_by_doc.values():
        for chunk in chunks:
            assert chunk.text == "".join(doc.text[s:e] for s, e in chunk.spans)
            assert all(0 <= s < e <= len(doc.text) for s, e in chunk.spans)
        assert [c.paragraph for c in chunks] == list(range(1, len(chunks) + 1))


def test_paragraph_cut_by_a_page_break_is_rejoined(chunks_by_doc):
    _, chunks = chunks_by_doc["2023-05_hebei-daily_sjz-study-visit-speech"]
    # "……区长李争" / blank line / "表示，将充分发挥……"
    assert find(chunks, "区长李争表示,将充分发挥区位优势")
    # "科创资" … captions and another page's text … "源丰富城市设立“人才飞地”"
    joined = find(chunks, "科创资源丰富城市设立“人才飞地”")[0]
    assert "▲" not in joined.text and "摄" not in joined.text


def test_captions_and_markers_stay_out_of_passages(chunks_by_doc):
    for doc, chunks in chunks_by_doc.values():
        for chunk in chunks:
            assert "上接" not in chunk.text[:8], chunk.text[:20]
            if chunk.kind == "body":
                assert "▲" not in chunk.text and "■图为" not in chunk.text
    _, chunks = chunks_by_doc["2024-09_sjz-daily_electronics-biomed-breakthrough"]
    assert find(chunks, "“应急指挥无线通信系统”脱颖而出")[0].kind == "body"
    assert find(chunks, "图为鹿泉区光谷科技园")[0].kind == "caption"


def test_paragraph_printed_twice_is_indexed_once(chunks_by_doc):
    _, chunks = chunks_by_doc["2023-12_sjz-daily_plenum-11-6-interviews"]
    assert len(find(chunks, "达到766.02亿元")) == 1
    complete = find(chunks, "为加快建设现代化、国际化美丽省会城市作出鹿泉贡献")
    assert len(find(chunks, "保持全区新一代电子信息产业快速增长态势")) == 1 == len(complete)


def test_headings_are_context_not_text(chunks_by_doc):
    _, chunks = chunks_by_doc["2021-12_sjz-daily_economic-work-conference"]
    fax = find(chunks, "86036652")[0]
    assert "小学生免费公交专线" in fax.context and "意见建议反馈方式" in fax.heading
    assert "#" not in fax.text and "公告" not in fax.text
    assert fax.retrieval_text().startswith(fax.context)


def test_long_paragraphs_split_at_sentence_ends_and_tiny_ones_attach():
    sentence = "鹿泉区加快推进项目建设，持续优化营商环境。"
    text = "# 标题\n\n" + sentence * 40 + "\n\n好。\n\n" + "第二段的正文内容比较完整，说明了园区的规划。\n"
    doc = Document(doc_id="t", title="测试", text=text, date="2024-01-01")
    chunks = Chunker()(doc)
    long_parts = [c for c in chunks if sentence in c.text]
    assert len(long_parts) >= 2 and all(len(c.text) <= 400 for c in long_parts)
    assert all(c.text.endswith("。") for c in long_parts)
    assert not any(c.text == "好。" for c in chunks)
    assert any(c.text.startswith("好。第二段") for c in chunks)


def test_a_single_long_line_cut_off_mid_sentence_is_a_passage_not_a_heading():
    # Encyclopedia extracts often end mid-sentence; a whole article on one such line was dropped as a heading.
    text = "中国（南京）国际象棋超级大赛原名中国（南京）国际象棋特级大师邀请赛，首届比赛于2008年12月在南京举行。" * 3 + "双循环赛制比"
    chunks = Chunker()(Document(doc_id="wiki", title="国际象棋超级大赛", text=text))
    assert chunks and all(c.kind == "body" for c in chunks)
    assert "特级大师邀请赛" in chunks[0].text


def test_a_dateline_at_the_top_is_not_joined_to_the_first_paragraph():
    text = "青禾市博物馆新馆开放\n2024年5月20日\n青禾市博物馆新馆今天开放，新馆由建筑师林嘉明设计。\n"
    chunks = Chunker()(Document(doc_id="note", title="青禾市博物馆新馆开放", text=text))
    body = [c for c in chunks if c.kind == "body"]
    assert [c.text for c in body] == ["青禾市博物馆新馆今天开放，新馆由建筑师林嘉明设计。"]
    assert any(c.text == "2024年5月20日" and c.kind == "byline" for c in chunks)


def test_a_dash_led_list_item_is_text_and_a_subsection_keeps_its_section():
    # Reports list their results as dash-led paragraphs; read as subtitles, their figures left the index.
    text = ("2025年青禾市政府工作报告\n——2025年1月在青禾市人民代表大会上\n一、2024年工作回顾\n"
            "过去一年，全市经济稳中向好。\n——经济运行稳中有进。地区生产总值增长5.6%，城镇新增就业8.2万人。\n"
            "二、2025年工作安排\n（一）扩大有效投资\n全年安排重点项目120个，完成投资850亿元。\n")
    chunks = Chunker()(Document(doc_id="report", title="2025年青禾市政府工作报告", text=text, date="2025-01-20"))
    growth = next(c for c in chunks if "5.6%" in c.text)
    assert growth.kind == "body" and "——经济运行稳中有进。地区生产总值" in growth.text
    assert "2024年工作回顾" in growth.heading
    assert all("5.6%" not in c.heading for c in chunks)
    plan = next(c for c in chunks if "850亿元" in c.text)
    assert "2025年工作安排" in plan.heading and "（一）扩大有效投资" in plan.heading  # the section's year stays in context
