"""The answer step end to end (real model, index and jieba): spans, conflicts, not found, follow-ups, languages."""

from dataclasses import replace

import pytest

from rag.answer import Answerer, Reading, answer_shape, of_swapped_subject, to_form
from rag.answer.dates import years_said
from rag.answer.forms import figure_in, figure_units, snap, unit_of, value_key
from rag.answer.lists import asked_items, complete_list, list_items, respective
from rag.answer.readings import said
from rag.answer.sentences import sentences
from rag.chunking import Chunk
from rag.reader.features import Span
from rag.search import Hit


def highlighted(citation):
    start, end = citation.highlight
    return citation.text[start:end]


def test_seed_question_reports_both_values_newest_first(engine):
    response = engine.ask("鹿泉区2024年电子信息产业目标是多少")
    assert response.status == "conflict"
    values = [(c["value"], c["date"]) for c in response.conflict]
    assert values[0][1] > values[-1][1]
    assert any("1100亿元" in v and d.startswith("2024-09") for v, d in values)
    assert any("1000亿元" in v and d.startswith("2023-12") for v, d in values)
    assert response.answer.index("1100亿元") < response.answer.index("1000亿元")
    top5 = response.citations[:5]
    assert any("1100亿元" in c.text and c.date == "2024-09-02" and c.title for c in top5)
    assert any("1000亿元" in c.text and c.date == "2023-12-22" and c.title for c in top5)


@pytest.mark.parametrize("question,value", [
    ("小学生免费公交专线征求意见的传真号码是多少", "86036652"),
    ("鹿泉区聚集了多少家电子信息企业", "900余家"),
    ("华普生物拥有多少项国际发明专利", "41项"),
    ("河北普兴电子科技股份有限公司总经理是谁", "薛宏伟"),
    ("市委十一届七次全会是哪天召开的", "8月31日"),
])
def test_exact_span_is_returned_and_highlighted(engine, question, value):
    response = engine.ask(question)
    assert response.status in ("answered", "conflict")
    assert value in response.value
    assert value in highlighted(response.citations[0])
    assert value in response.answer


def test_a_labelled_value_is_answered_with_its_label(engine):
    # "传真至:86036652": the value alone says nothing of what it is; the clause its label ends goes with it.
    response = engine.ask("小学生免费公交专线征求意见的传真号码是多少")
    assert response.value == "86036652" and "传真至:86036652" in response.answer
    text = "放假期间，各部门要妥善安排值班。联系人：王敏，电话：0571-88765432。"
    start = text.index("0571")
    span = Span(0, start, start + 13, text[start:start + 13], 5.0, -5.0)
    reading = Reading(Hit(Chunk("notice", 3, text, [(0, len(text))]), 1.0), span=span)
    assert said(reading) == "电话：0571-88765432。"  # a long value, still with its label


def test_a_short_opening_clause_is_answered_with_the_clause_after_it():
    text = "湖中盛产鲫鱼。1998年，青禾湖被列为省级自然保护区。2015年，当地政府实施湖区生态修复工程。"
    start = text.index("1998年")
    reading = Reading(Hit(Chunk("lake", 2, text, [(0, len(text))]), 1.0), span=Span(0, start, start + 5, "1998年", 5.0, -5.0))
    assert said(reading) == "1998年，青禾湖被列为省级自然保护区。"  # not "1998年。"


@pytest.mark.parametrize("question", [
    "鹿泉区2025年新一代电子信息产业主营业务收入目标是多少",  # a year no article covers
    "藁城区新一代电子信息产业2023年营业收入是多少",  # a district no article covers
    "石家庄2030年GDP目标是多少",
    pytest.param("石家庄市教育局局长是谁", marks=pytest.mark.xfail(strict=True, reason=(  # the office is named, its head is not
        "市教育局 is printed once: the corpus's learned user words (seen twice or more) lack it, so it is no "
        "name the passage must hold (the shipped seed dictionary had it; eval/README.md, History 2026-12-06)"))),
    "远东通信2024年的营业收入是多少",  # 通信 alone is any company's; 远东通信's article gives no revenue
    "药明康德在高新区投资了多少亿元",  # a company no article names (its 药 and 康 are everywhere)
    "普兴电子8英寸硅外延片的月产量是多少",  # the 8英寸 the question states is not an amount found
    "2023年鹿泉区的地区生产总值增长了多少",  # growth of something else (产值, 收入) is not GDP growth
    "绿叶嘉奥那款中枢神经系统新药叫什么",  # the passage says 新药获批上市 and gives no name
])
def test_not_found_instead_of_guessing(engine, question):
    response = engine.ask(question)
    assert response.status == "not_found" and response.answer is None
    assert all(c.highlight is None for c in response.citations)


def test_follow_up_uses_the_history(engine):
    first = "2023年新一代电子信息产业营业收入是多少"
    assert "1174亿元" in engine.ask(first).value
    response = engine.ask("那生物医药呢？", history=[first])
    assert "1078.6亿元" in response.answer and "生物医药" in response.rewritten


def test_a_follow_up_is_answered_for_what_it_asks(engine):
    # Read with the earlier question beside it, the reader answered the earlier question (766.02亿元) again.
    response = engine.ask("同比增长多少？", history=["2023年1至11月，鹿泉区新一代电子信息业主营业务收入是多少？"])
    assert response.status == "answered" and "35.47%" in response.value


def test_a_follow_up_value_is_the_figure_it_asks_alone(engine):
    response = engine.ask("同比增长多少？", history=["2023年1至11月，鹿泉区新一代电子信息业主营业务收入是多少？"])
    assert "35.47%" in response.value and "766.02" not in response.value


def test_a_follow_up_is_answered_only_by_a_passage_about_its_topic(engine):
    # 鹿泉区2024年生物医药目标 is printed nowhere: the electronics figure of the same district and year is no answer.
    response = engine.ask("那生物医药呢？", history=["鹿泉区2024年电子信息产业目标是多少"])
    assert "生物医药" in response.rewritten and response.status == "not_found"


def test_a_figure_dated_to_another_year_does_not_answer(engine):
    # 去年…855亿元 in a 2023 article is 2022's figure, whatever the reader thinks of the passage.
    response = engine.ask("2023年石家庄生物医药产业营业收入是多少")
    assert "855亿元" not in (response.value or "") and "855亿元" not in (response.answer or "")


def test_traditional_questions_find_the_same_answer(engine):
    simplified = engine.ask("小学生免费公交专线征求意见的传真号码是多少")
    traditional = engine.ask("小學生免費公交專線徵求意見的傳真號碼是多少")
    assert simplified.value == traditional.value == "86036652"


def test_numbers_match_across_width_and_grouping(engine):
    response = engine.ask("鹿泉区２０２４年电子信息产业目标是不是突破１，１００亿元")
    assert any("1100亿元" in c.text for c in response.citations[:3])


@pytest.mark.parametrize("question,value", [
])
def test_different_facts_are_not_reported_as_a_conflict(engine, question, value):
    response = engine.ask(question)
    assert response.status == "answered", response.answer
    assert value in response.value


@pytest.mark.parametrize("question,value", [
    ("国资委要加快建设哪种城市更新项目", "6+2+2"),  # 市国资委 is named in the paragraph before
])
def test_a_subject_named_just_before_in_the_section_anchors_the_passage(engine, question, value):
    response = engine.ask(question)
    assert response.status == "answered" and value in response.answer


def test_a_count_in_a_list_question_need_not_be_printed_again(engine):
    # 哪四项 asks for four items; the passage lists them and says 四大工程, not 四项.
    response = engine.ask("高新区实施的四大工程包括哪四项")
    assert response.status == "answered" and "规下企业入统、小企业提升、中企业跨越、大企业扩能" in response.answer


def test_a_difference_of_rates_is_in_percentage_points(engine):
    response = engine.ask("今年1至7月电子信息产业投资增幅比全市总投资高出多少")
    assert response.value == "36.5个百分点"


@pytest.mark.parametrize("question,value", [
    ("新中国成立多少周年", "75周年"),  # declined by the 1300- to 2200-step readers under earlier fits; answered since the refit to retrieval 32
    ("远东通信的应急指挥系统已经在多少个省级部门落地应用", "十余个"),
])
def test_spans_of_other_shapes(engine, question, value):
    assert engine.ask(question).value == value


@pytest.mark.xfail(strict=True, reason="the GPU-trained reader finds 石家庄国际农产品批发交易中心 but with a margin of -10.9, "
                                       "under the refitted threshold: declined")
def test_a_name_printed_without_quotes_is_answered_by_its_clause(engine):
    response = engine.ask("交投集团要加快收尾的农产品批发项目叫什么名字")
    assert response.status == "answered" and "石家庄国际农产品批发交易中心二期" in response.answer


@pytest.mark.parametrize("question,value", [
    ("冷链物流产业园项目是哪个园区承接京津产业转移的重点项目", "正定高新区"),  # a park
    ("2023年5月说要实施“招商引资突破年”活动的河北省商务厅厅长是谁", "张泽峰"),  # printed 省商务厅
])
def test_named_offices_parks_and_people(engine, question, value):
    assert engine.ask(question).value == value


def test_a_year_end_forecast_is_not_a_half_year_figure(engine):
    response = engine.ask("2024年底石家庄新一代电子信息产业营业收入预计突破多少")
    assert response.value == "1300亿元"  # not 上半年's 662.8亿元 from the same sentence, nor 生物医药's 1200亿元
    # "鹿泉区…力争2024年突破1100亿元" is the district's figure: no conflict with the city's.
    assert response.status == "answered", response.answer


@pytest.mark.parametrize("question", ["习近平总书记在河北考察期间主持召开了哪两个座谈会", "总书记5月来河北考察时主持召开了哪两个座谈会？"])
def test_a_question_for_two_things_is_answered_with_both(engine, question):
    # The reader's span stops at the first of the 、-list (高标准高质量推进雄安新区建设座谈会).
    assert engine.ask(question).value == "高标准高质量推进雄安新区建设座谈会、深入推进京津冀协同发展座谈会"


def test_an_answer_keeps_the_closing_quote_of_a_quoted_name(engine):
    response = engine.ask("京津冀政务服务要全面推进哪两项")
    assert response.answer.endswith("“跨省通办”。")


def test_a_clause_read_whole_gives_the_one_figure_it_states():
    clause = "2024年，全区新一代电子信息产业主营业务收入力争突破1000亿元"
    start, end = figure_in(clause, "亿元")
    assert clause[start:end] == "1000亿元"
    assert figure_in("1100亿元", "亿元") == (0, 6)
    assert figure_in("达到766.02亿元，预计年底将突破800亿元", "亿元") is None  # two figures: which one is meant is unknown
    assert figure_in("同比增长35.47%", "亿元") is None
    assert figure_in("1.62万亿元", "亿元") == (0, 7)  # one measure, another magnitude
    clause = "1.62万亿元，比去年增加2700亿元"
    assert clause[slice(*figure_in(clause, "亿元"))] == "1.62万亿元"  # the other is a difference


def test_the_figures_of_a_clause_are_told_by_unit_leaving_out_years():
    assert figure_units("1100亿元") == ["亿元"]
    assert figure_units("30%以上,2024年突破1100亿元") == ["%", "亿元"]


def test_chinese_numeral_figures_compare_as_digits():
    assert value_key("第七") == value_key("第7") != value_key("第八")
    assert value_key("四大") == value_key("4大") and unit_of("六大") == unit_of("6大") == "大"
    assert figure_units("中竞争力排名第八") == ["第"] and figure_units("三千万元") == ["万元"]
    assert figure_units("推进京津冀一体化，建设十里铺") == []  # numerals that count nothing are no figures


def test_a_conflict_is_found_in_the_one_figure_of_a_clause_that_differs(engine):
    # The 2024 report is read as a clause (增速30%以上 … 突破1100亿元); only its 亿元 figure disagrees with 2023's.
    response = engine.ask("鹿泉区新一代电子信息产业2024年的主营业务收入要达到多少？")
    assert response.status == "conflict", response.answer
    assert {"1100亿元", "1000亿元"} <= {c["value"] for c in response.conflict}


def test_a_follow_up_about_the_other_subject_of_a_respective_list(engine):
    response = engine.ask("那新一代电子信息产业呢？", history=["石家庄分批次为生物医药产业兑现了多少奖励资金？"])
    assert response.status == "answered" and response.value == "2.9亿元"


@pytest.mark.parametrize("question, ranked", [
    ("高新区在全国排名第几？", True), ("在全国211个园区中排名多少？", True), ("What rank did the park reach?", True),
    ("高新区有多少个园区？", False),
])
def test_a_rank_question_wants_an_ordinal(question, ranked):
    from rag.answer import ANSWER_SHAPES

    asked = question.lower()
    shape = next((shape for pattern, shape in ANSWER_SHAPES if pattern.search(asked)), None)
    assert (shape is not None and bool(shape.search("排名第八")) and not shape.search("211个")) is ranked


@pytest.mark.parametrize("question, example", [
    ("征求意见的电子邮箱是什么", "sjz6036696@163.com"), ("咨询电话是多少", "0311-86036652"),
    ("传真号码是多少", "86036652"), ("What is the fax number for comments?", "86036652"), ("官方网址是什么", "www.sjz.gov.cn"),
    ("鹿泉区2024年电子信息产业目标是多少", None), ("电话会议讨论了什么", None),
])
def test_a_question_for_a_contact_detail_asks_for_its_form(engine, question, example):
    shape = answer_shape(engine.retrieve(question, [])[0])
    if example is None:
        assert shape is None
    else:
        assert shape.search(example) and not shape.search("石家庄市教育局") and not shape.search("10条")


def test_a_change_from_one_figure_to_another_states_the_level_reached():
    """A clause read whole that states a change (赤字率从去年的2.1%提高到2.3%) gives the level reached, 2.3%:
    a series lists it, not the change; a range (4.5%—5%) stays one figure."""
    assert figure_in("2.1%提高到2.3%", "%") == (7, 11)
    assert figure_in("2.1%提高到2.3%", unit_of("2.1%提高到2.3%")) is None
    assert figure_in("4.5%—5%", unit_of("4.5%—5%")) == (0, 7)
    assert figure_in("1.62万亿元，比去年增加2700亿元", "亿元") == (0, 7)


def test_the_years_a_figure_is_of():
    text = "2022年，公司实现营业收入16.5亿元，同比增长9.1%；净利润1.9亿元。今年力争突破20亿元。"
    assert years_said(text, text.index("1.9亿元"), text.index("1.9亿元") + 5, 2023) == {2022}  # a ；-joined clause
    assert years_said(text, text.index("20亿元"), text.index("20亿元") + 4, 2023) == {2023}  # 今年 in a 2023 report
    # The start of a change the figure ends is not the end's year; the start's own year still is the start's.
    change = "今年赤字率从去年的2.1%提高到2.3%。贫困发生率由2012年的10.2%下降到2017年的3.1%。"
    assert years_said(change, change.index("2.3%"), change.index("2.3%") + 4, 2015) == {2015}
    assert 2014 in years_said(change, change.index("2.1%"), change.index("2.1%") + 4, 2015)
    assert years_said(change, change.index("3.1%"), change.index("3.1%") + 4, 2018) == {2017}
    period = "该漫画从1980年1月28日到1983年5月11日连载，共1200回。"  # dates, not a change: the period stays whole
    assert years_said(period, period.index("1200回"), period.index("1200回") + 5, None) == {1980, 1983}
    parallel = "生产总值从2020年的3.68万亿元增长到2025年的4.93万亿元，收入从3826.5亿元增长到4398.6亿元。"
    assert years_said(parallel, parallel.index("4398.6"), parallel.index("4398.6") + 8, 2026) == {2025}
    assert 2020 in years_said(parallel, parallel.index("3826.5"), parallel.index("3826.5") + 8, 2026)  # a start keeps them


def test_a_rank_asked_of_one_year_is_no_conflict_with_a_later_years_rank_since_then(engine):
    # 2021: 2021中国…排名中,石家庄高新区位列第七; 2023: 自2021年启动建设以来…竞争力排名第八 (2023's rank).
    response = engine.ask("在2021中国生物医药产业园区竞争力排名中，石家庄高新区位列第几？")
    assert response.status == "answered" and response.value == "第七", response.answer


def test_a_question_for_a_count_asks_for_a_number_of_things(engine):
    shape = answer_shape(engine.retrieve("高新区去年引进的外资项目有多少个", [])[0])
    assert all(shape.search(value) for value in ("10条", "十余个", "近300家", "212", "三大"))
    assert not any(shape.search(value) for value in ("4.2亿美元", "17.8%", "2.4万亩", "总量全市第一"))
    for asked in ("有哪几个园区", "几个月来园区变化如何"):
        assert answer_shape(engine.retrieve(asked, [])[0]) is None, asked
    ranked = answer_shape(engine.retrieve("在全国排第几名", [])[0])  # a rank, not a count
    assert ranked.search("排名第八") and not ranked.search("211个")
    response = engine.ask("高新区去年引进的外资项目有多少个")
    assert "美元" not in (response.value or ""), response.answer  # the amount of foreign capital is no count of projects


def test_a_short_quotation_is_not_cut_at_its_own_semicolon():
    text = "全面叫响“来到正定县,一切都好办;投资正定县,肯定大发展”。他说“好;不好。”"
    assert [text[a:b] for a, b in sentences(text)][0] == "全面叫响“来到正定县,一切都好办;投资正定县,肯定大发展”。"
    start = text.index("来到")
    cut = Span(0, start, text.index(";"), text[start:text.index(";")], 1.0, 0.0)
    assert snap(text, cut).text == "来到正定县,一切都好办;投资正定县,肯定大发展"
    start = text.index("好;")  # a quotation holding a full stop is speech, not a name: left as read
    assert snap(text, Span(0, start, start + 1, "好", 1.0, 0.0)).text == "好"


def test_a_slogan_is_answered_whole(engine):
    response = engine.ask("正定县要全面叫响什么口号")
    assert response.value == "来到正定县,一切都好办;投资正定县,肯定大发展"
    assert response.answer == "全面叫响“来到正定县,一切都好办;投资正定县,肯定大发展”。"


def test_a_clause_naming_the_swapped_out_subject_does_not_answer():
    text = "2021年以来，生物医药产业新上总投资744亿元的省市重点项目109个，新一代电子信息产业新上总投资482.1亿元的省市重点项目73个。"
    topics = (("电子信息产业", "电子信息"),)
    assert of_swapped_subject(text, text.index("109个"), ("生物医药",), topics)
    assert not of_swapped_subject(text, text.index("73个"), ("生物医药",), topics)
    assert not of_swapped_subject(text, text.index("109个"), (), topics)  # not a follow-up


def test_follow_ups_in_a_row_and_of_another_subject_in_one_sentence(engine):
    history = ["市工信局“三提升”中，项目储备数量要提升多少？", "开工入统数量呢？"]
    assert "竣工数量提升100个以上" in engine.ask("竣工数量呢？", history=history).answer


def test_the_whole_province_stands_only_for_the_province_that_issued_the_document(engine):
    # 全省 in a 石家庄日报 story is no evidence about any province a question names: a city's paper is no
    # province's document, and the figure of whichever province a passage covers must not answer another's.
    assert engine.ask("河北省的警示教育会议上放映了哪部警示教育片？").status == "not_found"
    assert engine.ask("广州市2023年生物医药产业营业收入是多少").status == "not_found"
    assert engine.ask("苏州市2023年新一代电子信息产业营业收入是多少").status == "not_found"


def test_an_english_deadline_asks_for_a_date(engine):
    assert engine.ask("By what deadline must comments on the school bus lines be sent?").value == "12月27日"
    assert "12月27日" in engine.ask("What is the closing date for suggestions about the free bus lines for pupils?").value


@pytest.mark.parametrize("question, fits, misfits", [
    ("2021年以来，生物医药产业新上的省市重点项目总投资多少？", ["744亿元", "4.2亿美元", "三千万元"], ["109个", "41项", "17.8%"]),
    ("How much investment did the new projects bring?", ["416亿元"], ["212个"]),
    ("免费公交专线是哪天开始试运行的？", ["12月27日", "2021年", "明年"], ["10条", "石家庄市教育局"]),
    ("On what date was the plenum held?", ["8月31日"], ["十一届七次"]),
    ("电子信息收入每年至少涨多快？", ["30%以上", "两倍", "3.5个百分点"], ["1100亿元", "109个"]),
    ("营业收入同比增长多少？", ["17.8%"], ["16.5亿元"]),
    ("这个产业园占地多少？", ["2.6万亩", "3平方公里"], ["106个", "308.12亿元"]),
    ("How large is the industrial park?", ["2.6万亩"], ["106个"]),
    ("地区生产总值达到多少？", ["14.2万亿元", "67665亿元"], ["5.3%", "12个"]),
    ("高速公路通车里程突破多少？", ["1.1万公里", "2万5千公里", "超过1900公里"], ["152个", "5.2%"]),
    ("锦地罗的全长是多少厘米？", ["全长通常只有2cm", "5毫米", "0.79英尺"], ["3种", "2017年"]),
])
def test_money_and_dates_are_asked_for_by_form(question, fits, misfits):
    from rag.answer import ANSWER_SHAPES

    asked = question.lower()
    shape = next(shape for pattern, shape in ANSWER_SHAPES if pattern.search(asked))
    assert all(shape.search(value) for value in fits) and not any(shape.search(value) for value in misfits)


@pytest.mark.parametrize("question", ["营业收入同比增长多少？", "有多少家企业入驻？", "投资增速是多少？"])
def test_growth_and_counts_are_not_money(question):
    from rag.answer import ANSWER_SHAPES

    shape = next((shape for pattern, shape in ANSWER_SHAPES if pattern.search(question)), None)
    assert shape is None or not shape.search("416亿元") or shape.search("17个")


def test_a_value_is_cut_to_the_one_figure_of_the_form_asked():
    from rag.answer import ANSWER_SHAPES

    money = next(shape for pattern, shape in ANSWER_SHAPES if pattern.search("总投资多少"))
    count = next(shape for pattern, shape in ANSWER_SHAPES if pattern.search("新引进了多少个项目"))
    text = "生物医药产业新上总投资744亿元的省市重点项目109个，全年新引进项目212个,总投资416亿元。"
    def span(value):
        start = text.index(value)
        return Span(0, start, start + len(value), value, 1.0, 0.0)
    assert to_form(text, span("744亿元的省市重点项目109个"), money).text == "744亿元"
    assert to_form(text, span("全年新引进项目212个"), count).text == "212个"  # completed with its measure word
    assert to_form(text, span("212个,总投资416亿元"), money).text == "416亿元"
    assert to_form("近300家企业", Span(0, 0, 4, "近300家", 1.0, 0.0), count).text == "近300家"  # a word or two beside it stay
    both = span("744亿元的省市重点项目109个，全年新引进项目212个,总投资416亿元")
    assert to_form(text, both, money) == both  # two amounts: which one is asked is not the form's to say
    assert to_form(text, both, None) == both


@pytest.mark.parametrize("question", ["项目储备数量要提升多少？", "经济增速在全国42个主要城市中处于什么位置？", "飞机以多快的速度冲出跑道？"])
def test_not_every_growth_word_asks_for_a_rate(question):
    from rag.answer import ANSWER_SHAPES

    shape = next((shape for pattern, shape in ANSWER_SHAPES if pattern.search(question)), None)
    assert shape is None or shape.search("300个以上") or shape.search("第一方阵")


ENCYCLOPEDIA = {  # two articles about one thing each, alike enough that the other's passage reads as an answer
    "尖鳍魣": "尖鳍魣（学名：Sphyraena acutipinnis），又称尖鳍金梭鱼，为辐鳍鱼纲鲈形目金梭鱼科的其中一种。本鱼分布于印度太平洋区。\n\n"
             "本鱼体延长而呈圆柱形，头尖，下颌突出，最大者约80公分。栖息在近海沿岸的礁石区、潟湖或内湾。",
    "棱鮻": "棱鮻（学名：Liza carinata），为辐鳍鱼纲鲻形目鲻科的其中一种。本鱼分布于印度西太平洋区。\n\n"
            "本鱼头部无鳞，体长可达25公分。栖息于沿岸及河口，以矽藻为食。",
}


@pytest.fixture(scope="module")
def encyclopedia(tmp_path_factory, embedder, reader):
    from rag.config import Settings
    from rag.engine import Engine
    from rag.index import build_index

    root = tmp_path_factory.mktemp("encyclopedia")
    (root / "corpus").mkdir()
    for number, (title, text) in enumerate(ENCYCLOPEDIA.items()):
        (root / "corpus" / f"a{number}.md").write_text(f'---\ntitle: "{title}"\nsource: encyclopedia\n---\n\n{text}\n', encoding="utf-8")
    build_index(root / "corpus", root / "index", embedder, progress=False)
    return Engine(Settings(index_dir=root / "index", corpus_dir=root / "corpus", threads=1), embedder, reader)


def test_a_question_naming_an_article_is_not_answered_from_another_article(encyclopedia):
    # 棱鮻's 体长可达25公分 matches the question's words better than 尖鳍魣's 最大者约80公分.
    response = encyclopedia.ask("尖鳍魣体长可达到多少？")
    assert response.status == "answered" and response.value == "80公分", response.answer
    assert response.citations[0].title == "尖鳍魣"
    response = encyclopedia.ask("尖鳍魣以什么为食？")  # only 棱鮻's article says what it eats
    assert response.status == "not_found", response.answer


@pytest.mark.parametrize("question,items", [
    ("市工信局提出实施哪三大行动？", 3), ("主持召开了哪两个座谈会", 2), ("Which two forums were held?", 2),
    ("赠送给马良弼哪四字匾额", None), ("哪个区", None), ("有几个", None),
])
def test_how_many_things_a_question_asks_for(question, items):
    assert asked_items(question) == items


def test_one_item_of_a_list_is_widened_to_the_number_asked():
    text = "主持召开高标准高质量推进雄安新区建设座谈会、深入推进京津冀协同发展座谈会、两次发表重要讲话。"
    first = text.index("高标准"), text.index("座谈会") + 3
    span = Span(0, *first, text[slice(*first)], 1.0, 0.0)
    assert complete_list(text, span, 2).text == "高标准高质量推进雄安新区建设座谈会、深入推进京津冀协同发展座谈会"
    assert complete_list(text, span, None) is span
    text = "大力实施项目攻坚、总量提升、服务赋能三大行动。"
    last = text.index("服务"), text.index("服务") + 4
    # Widened back to the clause's start: the first item's words are not told from the verb before them.
    assert complete_list(text, Span(0, *last, "服务赋能", 1.0, 0.0), 3).text == "大力实施项目攻坚、总量提升、服务赋能"
    assert list_items("项目攻坚、总量提升和服务赋能") == 3


def test_a_respective_list_gives_the_figure_of_the_subject_asked_about():
    text = "分批次为新一代电子信息、生物医药产业分别兑现奖励资金2.9亿元、2.1亿元，鼓励企业创新发展。"
    start, end = text.index("2.9"), text.index("，鼓励")
    listed = Span(0, start, end, text[start:end], 1.0, 0.0)
    assert respective(text, listed, {"生物医药", "产业", "奖励资金", "分批次"}).text == "2.1亿元"  # 产业 only in the second subject
    assert respective(text, listed, {"新一代", "电子信息"}).text == "2.9亿元"
    assert respective(text, listed, {"奖励资金"}).text == "2.9亿元、2.1亿元"  # names neither subject: the list
    plain = "两大产业分别实现营业收入662.8亿元、607.4亿元，预计年底突破。"
    start, end = plain.index("662.8"), plain.index("，预计")
    assert respective(plain, Span(0, start, end, plain[start:end], 1.0, 0.0), {"生物医药"}).text == "662.8亿元、607.4亿元"


def test_a_respective_list_answers_for_its_subject_however_the_reader_cut_it():
    def span(text: str, value: str) -> Span:
        return Span(0, text.index(value), text.index(value) + len(value), value, 1.0, 0.0)

    listed = "分批次为新一代电子信息、生物医药产业分别兑现奖励资金2.9亿元、2.1亿元，鼓励企业创新发展。"
    assert respective(listed, span(listed, "2.9亿元"), {"生物医药"}).text == "2.1亿元"  # the other item of the list
    assert respective(listed, span(listed, "2.9亿元"), {"奖励资金"}).text == "2.9亿元"  # names neither: as read
    # "两大产业" stands for the subjects of the earlier 分别 list; a later clause of figures follows the same order.
    two = ("2023年，新一代电子信息产业和生物医药产业分别实现营业收入1174亿元、1078.6亿元。今年上半年，两大产业“成绩”"
           "依旧喜人，分别实现营业收入662.8亿元、607.4亿元，预计年底突破1300亿元、1200亿元。")
    assert respective(two, span(two, "1300亿元、1200亿元"), {"生物医药"}).text == "1200亿元"
    assert respective(two, span(two, "662.8亿元"), {"生物医药"}).text == "607.4亿元"
    # What follows the count (两大产业营业收入) is said of both subjects: its words tell neither apart.
    shared = "生物医药、新一代电子信息两大产业营业收入今年有望分别实现1200亿元、1300亿元。"
    assert respective(shared, span(shared, "1300亿元"), {"生物医药产业", "生物", "医药", "产业", "营业收入"}).text == "1200亿元"


def test_a_figure_is_a_target_or_an_outcome_by_the_words_and_years_before_it():
    from rag.answer.dates import figure_kind

    plan = "要深入推进新型城镇化，实现1亿人落户。到2020年，常住人口城镇化率达到60%。"
    assert figure_kind(plan, plan.index("60%"), 2016) == "target"  # a year after the report's own
    assert figure_kind(plan, plan.index("60%"), 2021) == "outcome"  # 达到, in a later report's review
    review = "五年来，人民生活持续改善。人均预期寿命达到76.7岁。棚户区住房改造2600多万套。"
    assert figure_kind(review, review.index("2600"), 2018) == "outcome"  # the review's 达到, not 预期寿命's 预期


def test_a_change_is_no_answer_to_how_much_a_thing_is():
    from rag.answer.forms import asks_change, difference

    text = "地区生产总值达14.2万亿元、增长5.3%，城镇新增就业1100万人以上，比去年多100万人，收入增长到36439元"
    assert difference(text, text.index("5.3%")) and difference(text, text.index("多100万人") + 1)
    assert not difference(text, text.index("14.2")) and not difference(text, text.index("36439"))
    assert asks_change("出口增长了多少？") and asks_change("比上年多多少？") and asks_change("增速是多少？") and asks_change("电价往下调多少？")
    assert not asks_change("新增就业目标是多少？") and not asks_change("人均可支配收入增长到多少？")


def test_asked_a_change_the_level_read_gives_way_to_the_change_beside_it():
    from rag.answer import ANSWER_SHAPES
    from rag.answer.forms import change_beside

    rate = next(shape for pattern, shape in ANSWER_SHAPES if pattern.search("国内生产总值增长了多少"))
    text = "增速稳，国内生产总值达到63.6万亿元，比上年增长7.4%，在世界主要经济体中名列前茅。"
    level = Span(0, text.index("63.6"), text.index("63.6") + 7, "63.6万亿元", 1.0, 0.0)
    assert change_beside(text, level, rate).text == "7.4%"
    assert change_beside(text, level, None) is None  # nothing asks a change's form
    far = "国内生产总值达到63.6万亿元，经济结构调整取得重要进展，全年比上年增长7.4%。"
    assert change_beside(far, replace(level, start=far.index("63.6"), end=far.index("63.6") + 7), rate) is None


def test_a_figure_per_head_is_not_the_total():
    from rag.answer.forms import per_head

    text = "地区生产总值达14.2万亿元、年均增长5.7%，人均地区生产总值达16.7万元。"
    assert per_head(text, text.index("16.7")) and not per_head(text, text.index("14.2"))
    assert per_head("河北人均可支配收入增长到多少？") and not per_head("地区生产总值达到多少？")


def test_a_yearly_document_s_outcomes_are_of_the_last_year_over_at_its_date():
    from rag.answer.dates import of_years, reviewed_year

    assert reviewed_year("2014年国务院政府工作报告", "2014-03-05") == 2013  # it reviews the year before
    assert reviewed_year("2023年国民经济和社会发展统计公报", "2024-02-28") == 2023  # published after its year
    assert reviewed_year("2023年工作总结", "2023-12-20") is None  # a year-end review may speak of its own year
    assert reviewed_year("全市经济运行平稳", "2024-03-01") is None  # not a yearly document
    assert reviewed_year("2024年1-2月份全国规模以上工业增加值增长7.0%", "2024-03-18") is None  # of those months
    assert reviewed_year("2024年一季度国民经济运行情况", "2024-04-16") is None
    assert reviewed_year("2024年上半年工作总结", "2024-07-10") is None
    assert reviewed_year("2024年度部门决算", "2025-06-30") == 2024
    text = "国内生产总值达到56.9万亿元，比上年增长7.7%。"
    assert not of_years(text, 10, 14, 2014, [2014], unsaid=2013) and of_years(text, 10, 14, 2014, [2014])


def test_a_section_headed_by_an_earlier_year_reviews_it():
    """Under 一、2015年工作回顾 of a 2016 report, a figure its words leave unmarked is 2015's outcome; under
    三、2016年重点工作 the passage's own words decide (今年…600万套 is a target)."""
    from rag.answer.dates import heading_year, kind_in, section_kind
    from rag.chunking import Chunk

    assert heading_year("一、2015年工作回顾") == 2015 and heading_year("一、过去五年工作回顾") is None
    assert section_kind("一、2015年工作回顾", 2016) == "outcome" and section_kind("三、2016年重点工作", 2016) is None
    review = "城镇保障性安居工程住房基本建成772万套，棚户区住房改造开工601万套。"
    chunk = Chunk("2016_report", 15, review, [(0, len(review))], heading="一、2015年工作回顾", date="2016-03-05")
    assert kind_in(chunk, review.index("601")) == "outcome"
    plan = "今年棚户区住房改造600万套，提高棚改货币化安置比例。"
    chunk = Chunk("2016_report", 65, plan, [(0, len(plan))], heading="三、2016年重点工作", date="2016-03-05")
    assert kind_in(chunk, plan.index("600")) == "target"


def test_in_a_plan_section_what_is_to_be_achieved_is_a_target():
    """实现/达到 speak of a plan as often as of a thing done: under a heading of the report's own year
    (三、对2018年政府工作的建议) the figure they mark is aimed at; under a review it is done, and 已 or 了 is
    done wherever it stands."""
    from rag.answer.dates import kind_in, plan_section
    from rag.chunking import Chunk

    assert plan_section("三、对2018年政府工作的建议", 2018) and plan_section("三、2026年工作安排", 2026)
    assert not plan_section("一、2017年工作回顾", 2018) and not plan_section("一、过去五年工作回顾", 2018)
    plan = "加大网络提速降费力度，实现高速宽带城乡全覆盖，移动网络流量资费年内至少降低30%。去年已降低20%。"
    ahead = Chunk("2018_report", 49, plan, [(0, len(plan))], heading="三、对2018年政府工作的建议", date="2018-03-05")
    assert kind_in(ahead, plan.index("30%")) == "target"
    assert kind_in(ahead, plan.index("20%")) == "outcome"
    review = Chunk("2018_report", 12, plan, [(0, len(plan))], heading="一、2017年工作回顾", date="2018-03-05")
    assert kind_in(review, plan.index("30%")) == "outcome"


def test_a_year_is_a_named_report_s_unless_the_question_says_it_again():
    from rag.answer.pipeline import _restated

    assert not _restated("2016年政府工作报告提出，“十三五”时期经济年均增长要保持在多少？", 2016)
    assert _restated("2015年政府工作报告提出，当年粮食产量要稳定在多少以上？", 2015)
    assert _restated("2017年政府工作报告提出，2017年要完成多少？", 2017)


def test_a_measure_with_one_modifier_swapped_is_another_measure():
    """城镇调查失业率 asked, 城镇登记失业率4.5%以内 printed: another measure. A word only inserted (城镇失业率 asked of
    城镇调查失业率) or a measure printed as asked is no swap."""
    from rag.answer.names import other_measure

    text = "城镇新增就业1000万人以上，城镇登记失业率4.5%以内，居民消费价格涨幅3%左右。"
    at = text.index("4.5%")
    assert other_measure(text, at, (("城镇", "调查", "失业率"),))
    assert not other_measure(text, at, (("城镇", "登记", "失业率"),))
    assert not other_measure("城镇调查失业率5.5%左右。", 7, (("城镇", "调查", "失业率"),))
    assert not other_measure(text, text.index("1000"), (("城镇", "调查", "失业率"),))  # another clause's measure


def test_of_a_passage_s_figures_the_one_whose_clause_names_the_subject_comes_first():
    from rag.answer.pipeline import by_subject, clause_named

    text = "高速铁路运营里程从9000多公里增加到2万5千公里、占世界三分之二，高速公路里程从9.6万公里增加到13.6万公里。"
    road, rail = (Span(0, text.index(v), text.index(v) + len(v), v, 1.0, 0.0) for v in ("13.6万公里", "2万5千公里"))
    assert by_subject(text, [road, rail], {"高速铁路", "运营", "里程"}) == [rail, road]
    assert by_subject(text, [road, rail], {"里程"}) == [road, rail]  # both name it: the reader's order stays
    plan = "今年计划完成棚户区改造5000套，比去年多500套。"
    level, more = (Span(0, plan.index(v), plan.index(v) + len(v), v, 1.0, 0.0) for v in ("5000套", "500套"))
    assert by_subject(plan, [level, more], {"棚户区", "改造", "计划"}) == [level, more]
    assert by_subject(plan, [level, more], {"棚户区", "改造", "计划"}, change=True) == [more, level]  # 比去年多多少
    both = Span(0, text.index("2万5千"), len(text) - 1, text[text.index("2万5千"):-1], 1.0, 0.0)
    assert clause_named(text, both, {"高速铁路", "运营", "里程"}).text == "2万5千公里、占世界三分之二"
    assert clause_named(text, both, {"高速公路", "里程"}).text == "高速公路里程从9.6万公里增加到13.6万公里"
    for whole in ("共计15人，其中运动员9人，教练4人", "可容纳6,476名观众"):  # a breakdown of the figure; a grouping comma
        assert clause_named(whole, Span(0, 0, len(whole), whole, 1.0, 0.0), {"人数"}).text == whole
