"""An archive of yearly reports: the document a question names, the year a figure is about, a figure's
series across years, and places no document is about. A small invented archive, the real model and index."""

from __future__ import annotations

import httpx
import pytest

REPORTS = {
    "2021_lc": ("2021年临川市政府工作报告", "2021-02-01", [
        "过去一年，全市地区生产总值增长5.2%，城镇新增就业8.1万人。",
        "今年经济社会发展的主要预期目标是：地区生产总值增长6%左右，城镇新增就业8万人以上，财政赤字率控制在2.5%左右。",
        "今年要新建保障性住房1.2万套，改造老旧小区300个。",
        "过去一年，全市完成棚户区改造4200套，新增城市绿地80公顷。",
        "今年计划完成棚户区改造4500套，比去年多300套。",
        "全年粮食产量达到118万吨，比上年增长1.5%。"]),
    "2022_lc": ("2022年临川市政府工作报告", "2022-02-01", [
        "过去一年，全市地区生产总值增长6.3%，城镇新增就业8.6万人。",
        "今年经济社会发展的主要预期目标是：地区生产总值增长5.5%左右，城镇新增就业8.5万人以上，财政赤字率控制在2.8%左右。",
        "今年要新建保障性住房1.5万套，改造老旧小区360个。",
        "过去一年，全市完成棚户区改造4600套，新增城市绿地95公顷。",
        "今年计划完成棚户区改造5000套，比去年多500套。",
        "全年粮食产量达到121万吨，比上年增长2.5%。",
        "“十四五”时期，全市经济年均增长保持在6.2%以上，到2025年城乡居民收入比2020年翻一番。"]),
    "2023_lc": ("2023年临川市政府工作报告", "2023-02-01", [
        "过去一年，全市地区生产总值增长4.9%，城镇新增就业9万人。",
        "今年经济社会发展的主要预期目标是：地区生产总值增长5%左右，城镇新增就业9万人以上，财政赤字率控制在3%左右。",
        "今年要新建保障性住房1.8万套，改造老旧小区420个。",
        "过去一年，全市完成棚户区改造5100套，新增城市绿地110公顷。",
        "今年计划完成棚户区改造5600套，比去年多600套。",
        "全年粮食产量达到125万吨，比上年增长3.3%。全市地区生产总值达到3200亿元，人均地区生产总值达到6.4万元。"]),
    "2023_yn": ("2023年云南省政府工作报告", "2023-01-20", [
        "今年全省经济社会发展的主要预期目标是：地区生产总值增长6.5%左右，城镇新增就业50万人以上。",
        "全省上下要坚定信心，扎实推进乡村振兴，建设高标准农田200万亩。"]),
}


@pytest.fixture(scope="module")
def archive(tmp_path_factory, embedder, reader):
    from rag.config import Settings
    from rag.engine import Engine
    from rag.index import build_index

    root = tmp_path_factory.mktemp("archive")
    (root / "corpus").mkdir()
    for stem, (title, date, paragraphs) in REPORTS.items():
        body = "\n\n".join(paragraphs)
        (root / "corpus" / f"{stem}.md").write_text(f'---\ntitle: "{title}"\ndate: {date}\nsource: 政府网站\n---\n\n{body}\n', encoding="utf-8")
    build_index(root / "corpus", root / "index", embedder, progress=False)
    settings = Settings(index_dir=root / "index", corpus_dir=root / "corpus", threads=1, kb_dir=root / "kbs")
    return Engine(settings, embedder, reader)


def test_a_question_naming_a_year_s_report_is_read_from_that_report(archive):
    response = archive.ask("2022年政府工作报告提出的地区生产总值增长目标是多少？")
    assert response.value == "5.5%左右", response.answer
    assert response.citations[0].doc_id == "2022_lc"
    assert all(c.doc_id == "2022_lc" for c in response.citations)


def test_an_english_question_names_a_year_s_report_the_same_way(archive):
    """The 2022 report, the 2022 government work report: that report's passages only; a year the archive
    has no report for is declined, not answered from another year's."""
    _, hits = archive.retrieve("According to the 2022 government work report, what was the GDP growth target?")
    assert hits and {hit.chunk.doc_id for hit in hits} == {"2022_lc"}
    assert archive.ask("What GDP growth target did the 2019 report set?").status == "not_found"


def test_the_year_of_a_report_named_is_the_report_s_not_the_figure_s(archive):
    """2022年政府工作报告提出，“十四五”时期…: the figure is of 2021-2025 and its sentence names 2025 and 2020,
    not 2022; the year asked is the report's."""
    response = archive.ask("2022年政府工作报告提出，“十四五”时期经济年均增长要保持在多少？")
    assert response.value == "6.2%以上" and response.citations[0].doc_id == "2022_lc", response.answer


def test_a_report_the_archive_lacks_is_not_answered_from_another_year(archive):
    response = archive.ask("2019年政府工作报告提出的地区生产总值增长目标是多少？")
    assert response.status == "not_found", response.answer


def test_a_year_s_outcome_is_read_from_the_next_year_s_review_not_from_its_target(archive):
    response = archive.ask("2022年临川市地区生产总值实际增长了多少？")
    assert response.value == "4.9%", response.answer
    assert response.citations[0].doc_id == "2023_lc"


def test_a_year_s_outcome_stated_without_its_year_is_read_from_the_next_year_s_report(archive):
    """A report of early 2023 states 2022's harvest without naming the year (全年粮食产量达到125万吨): a thing
    done is of a year over. Asked its growth, the level beside it gives way to the change; asked the
    total, the figure per head does not answer."""
    response = archive.ask("2022年临川市粮食产量是多少？")
    assert response.value == "125万吨" and response.citations[0].doc_id == "2023_lc", response.answer
    response = archive.ask("2021年临川市粮食产量比上年增长了多少？")
    assert response.value == "2.5%" and response.citations[0].doc_id == "2022_lc", response.answer
    assert archive.ask("2022年临川市地区生产总值达到多少？").value == "3200亿元"


def test_a_figure_asked_without_a_year_is_a_series_newest_first_each_cited(archive):
    response = archive.ask("临川市财政赤字率是多少？")
    assert [e["value"] for e in response.timeline] == ["3%左右", "2.8%左右", "2.5%左右"], response.answer
    assert [e["date"] for e in response.timeline] == ["2023-02-01", "2022-02-01", "2021-02-01"]
    assert all(e["kind"] == "target" for e in response.timeline)
    for entry in response.timeline:  # each value is cited and highlighted in its citation
        cited = response.citations[entry["rank"] - 1]
        assert cited.doc_id == entry["doc_id"]
        assert cited.text[slice(*cited.highlight)] == entry["value"]
    assert all(value in response.answer for value in ("3%左右", "2.8%左右", "2.5%左右"))


def test_a_series_of_targets_reads_each_report_s_plan_past_its_review(archive):
    """Each report reviews last year's figure (完成棚户区改造4600套) beside this year's plan: asked for the
    target, every report's plan is listed, not the review found first, nor the plan's difference (比去年多500套)."""
    response = archive.ask("临川市每年的棚户区改造任务是多少套？")
    assert [e["value"] for e in response.timeline] == ["5600套", "5000套", "4500套"], response.answer
    assert all(e["kind"] == "target" for e in response.timeline)


def test_a_series_is_of_one_issuer_s_yearly_documents(archive):
    """云南省's 2023 target beside 临川市's three: asked of neither, the series is of one issuer's reports, not a
    conflict of two places' 2023 figures."""
    response = archive.ask("城镇新增就业目标是多少？")
    assert [e["value"] for e in response.timeline] == ["9万人以上", "8.5万人以上", "8万人以上"], response.answer


def test_a_figure_s_difference_from_last_year_is_not_the_figure(archive):
    response = archive.ask("2022年临川市计划完成棚户区改造多少套？")
    assert response.value == "5000套", response.answer
    assert archive.ask("2022年临川市棚户区改造计划比去年多多少套？").value == "500套"


def test_a_province_no_document_is_about_is_declined(archive):
    assert archive.ask("云南省2023年地区生产总值增长目标是多少？").value == "6.5%左右"
    response = archive.ask("贵州省2023年地区生产总值增长目标是多少？")  # 全省 in 云南省's report is 云南省
    assert response.status == "not_found", response.answer


def test_a_caller_limits_a_question_to_documents_or_dates(archive):
    from rag.scope import Filters

    response = archive.ask("地区生产总值增长目标是多少？", filters=Filters(frozenset({"2021_lc"})))
    assert response.value == "6%左右" and {c.doc_id for c in response.citations} == {"2021_lc"}, response.answer
    response = archive.ask("临川市新建保障性住房多少套？", filters=Filters(date_from="2022-06", date_to="2023"))
    assert {c.doc_id for c in response.citations} <= {"2023_lc", "2023_yn"} and response.value == "1.8万套", response.answer


class Recording:
    """The real reader, noting each call's passage count and window share (passage tokens; None: in full)."""

    def __init__(self, reader) -> None:
        self.reader, self.calls = reader, []

    def read(self, question, passages, **options):
        self.calls.append((len(passages), options.get("passage_tokens")))
        return self.reader.read(question, passages, **options)


def asked_recording(archive, question: str):
    answerer = archive.answerer
    real, answerer.reader = answerer.reader, Recording(answerer.reader)
    try:
        return archive.ask(question), answerer.reader.calls
    finally:
        answerer.reader = real


def test_the_first_passages_answering_of_one_report_the_rest_are_read_in_shorter_windows(archive):
    """A question naming its report searches that report alone: once its first two passages answer, no
    other document's figure is left to compare, and the next two are read in shorter windows."""
    from rag.answer.readings import FOCUSED_TOKENS

    response, calls = asked_recording(archive, "2022年政府工作报告提出的地区生产总值增长目标是多少？")
    assert response.value == "5.5%左右", response.answer
    assert calls[:2] == [(2, None), (2, FOCUSED_TOKENS)], calls


def test_passages_of_other_documents_are_read_in_full_and_a_series_further_ones_focused(archive):
    """Asked of no report, the passages after the first two are of other reports, whose figures the
    answer compares: they are read in full windows. The further reports a series reads for its one
    figure are read in focused windows (the part sharing most with the question)."""
    from rag.answer.readings import FOCUSED_TOKENS

    response, calls = asked_recording(archive, "临川市财政赤字率是多少？")
    assert len(response.timeline) == 3, response.answer
    assert calls[:2] == [(2, None), (2, None)], calls
    assert calls[2:] and all(tokens == FOCUSED_TOKENS for _, tokens in calls[2:]), calls


def test_read_first_at_the_read_depth_reads_every_passage_in_full_to_the_same_series(archive):
    from rag.engine import Engine

    at_once = Engine(archive.settings.model_copy(update={"read_first": archive.settings.read_depth}), archive.embedder,
                     archive.reader)
    focused, _ = asked_recording(archive, "临川市财政赤字率是多少？")
    response, calls = asked_recording(at_once, "临川市财政赤字率是多少？")
    assert calls[0] == (archive.settings.read_depth, None) and all(tokens is None for _, tokens in calls), calls
    assert [e["value"] for e in response.timeline] == [e["value"] for e in focused.timeline] == ["3%左右", "2.8%左右", "2.5%左右"]


@pytest.fixture(scope="module")
def archive_server(archive):
    from rag.serving import LiveServer
    from web.app import create_app

    with LiveServer(create_app(archive.settings, archive)) as live:
        yield live


def test_the_series_over_http_the_api_and_the_openai_reply(archive_server):
    with httpx.Client(base_url=archive_server.url, timeout=60) as http:
        body = http.post("/ask", json={"question": "临川市财政赤字率是多少？"}).json()
        assert [e["value"] for e in body["timeline"]] == ["3%左右", "2.8%左右", "2.5%左右"]
        filtered = http.post("/ask", json={"question": "地区生产总值增长目标是多少？", "doc_id": ["2022_lc"]}).json()
        assert filtered["value"] == "5.5%左右"
        assert http.post("/ask", json={"question": "赤字率", "date_from": "2021-13"}).status_code == 422
        reply = http.post("/v1/chat/completions", json={"model": "default", "messages": [
            {"role": "user", "content": "临川市财政赤字率是多少？"}]}).json()
        content = reply["choices"][0]["message"]["content"]
        assert all(v in content for v in ("3%左右", "2.8%左右", "2.5%左右")), content


def test_the_series_is_a_dated_table_on_the_chat_page(archive_server):
    from pathlib import Path

    chromium = Path("/usr/bin/chromium")
    if not chromium.exists():
        pytest.skip("Debian's chromium is not installed (apt-get install chromium fonts-noto-cjk)")
    from playwright.sync_api import expect, sync_playwright

    from tests.test_web_page import ARGS, SHOTS

    SHOTS.mkdir(exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(chromium), args=ARGS)
        tab = browser.new_page(viewport={"width": 1100, "height": 900}, locale="zh-CN")
        errors = []
        tab.on("pageerror", lambda error: errors.append(str(error)))
        tab.goto(archive_server.url)
        tab.fill("#question", "临川市财政赤字率是多少？")
        tab.press("#question", "Enter")
        table = tab.locator(".answer table.timeline")
        expect(table).to_be_visible(timeout=60_000)
        rows = table.locator("tbody tr")
        expect(rows).to_have_count(3)
        assert [rows.nth(i).locator("mark").inner_text() for i in range(3)] == ["3%左右", "2.8%左右", "2.5%左右"]
        assert "2023年临川市政府工作报告" in rows.nth(0).inner_text()
        tab.screenshot(path=str(SHOTS / "timeline.png"), full_page=True)
        browser.close()
    assert not errors, errors


BULLETINS = {
    "2024_02_lc": ("2024年1-2月份临川市经济运行情况", "2024-03-15",
                   "1-2月份，全市规模以上工业增加值同比增长6.8%，社会消费品零售总额同比增长5.1%。"),
    "2024_03_lc": ("2024年一季度临川市经济运行情况", "2024-04-16",
                   "一季度，全市规模以上工业增加值同比增长7.2%，社会消费品零售总额同比增长5.6%。"),
}


@pytest.fixture(scope="module")
def bulletins(tmp_path_factory, embedder, reader):
    from rag.config import Settings
    from rag.engine import Engine
    from rag.index import build_index

    root = tmp_path_factory.mktemp("bulletins")
    (root / "corpus").mkdir()
    for stem, (title, date, body) in BULLETINS.items():
        (root / "corpus" / f"{stem}.md").write_text(f'---\ntitle: "{title}"\ndate: {date}\n---\n\n{body}\n', encoding="utf-8")
    build_index(root / "corpus", root / "index", embedder, progress=False)
    return Engine(Settings(index_dir=root / "index", corpus_dir=root / "corpus", threads=1, kb_dir=root / "kbs"), embedder, reader)


def test_a_bulletin_of_months_states_outcomes_of_its_own_year(bulletins):
    """A monthly bulletin's title opens with its year too (2024年1-2月份…), but its outcomes are of those months,
    not of the year before as in a yearly report dated early in its year."""
    response = bulletins.ask("2024年一季度临川市规模以上工业增加值同比增长多少？")
    assert response.value == "7.2%" and response.citations[0].doc_id == "2024_03_lc", response.answer
