"""The answer step end to end (real model, index and jieba): spans, conflicts, not found, follow-ups, languages."""

import pytest


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
    assert "1100亿元" in highlighted(response.citations[0])


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


def test_respectively_lists_pick_the_named_subject(engine):
    response = engine.ask("2023年生物医药产业营业收入是多少")
    assert response.value == "1078.6亿元"


def test_relative_year_is_resolved_against_the_article_date(engine):
    response = engine.ask("华普生物是什么时候落户石家庄市国际生物医药园的")
    assert "去年8月" in response.value
    assert "2023年" in response.answer  # 去年 in a 2024 article


@pytest.mark.parametrize("question", [
    "鹿泉区2025年新一代电子信息产业主营业务收入目标是多少",  # a year no article covers
    "藁城区新一代电子信息产业2023年营业收入是多少",  # a district no article covers
    "石家庄2030年GDP目标是多少",
    "石家庄市教育局局长是谁",  # the office is named, its head is not
    "远东通信2024年的营业收入是多少",  # 通信 alone is any company's; 远东通信's article gives no revenue
    "药明康德在高新区投资了多少亿元",  # a company no article names (its 药 and 康 are everywhere)
    "普兴电子8英寸硅外延片的月产量是多少",  # the 8英寸 the question states is not an amount found
    "2023年鹿泉区的地区生产总值增长了多少",  # growth of something else (产值, 收入) is not GDP growth
    "2021年全市规上工业增加值增长了多少",  # 产值 growth is printed; 增加值 (value added) never is
    "康誉医疗的产业园项目总投资多少",  # asks for 亿元; "建成一个…基地" is no amount
    "绿叶嘉奥那款中枢神经系统新药叫什么",  # the passage only restates the question: 新药获批上市, no name
])
def test_not_found_instead_of_guessing(engine, question):
    response = engine.ask(question)
    assert response.status == "not_found" and response.answer is None
    assert all(c.highlight is None for c in response.citations)


def test_follow_up_uses_the_history(engine):
    first = "2023年新一代电子信息产业营业收入是多少"
    assert engine.ask(first).value == "1174亿元"
    response = engine.ask("那生物医药呢？", history=[first])
    assert response.value == "1078.6亿元"
    assert "生物医药" in response.rewritten


def test_english_and_traditional_questions_find_the_same_passage(engine):
    simplified = engine.ask("小学生免费公交专线征求意见的传真号码是多少")
    traditional = engine.ask("小學生免費公交專線徵求意見的傳真號碼是多少")
    english = engine.ask("What is the fax number for comments on the free school bus lines?")
    assert simplified.value == traditional.value == "86036652"
    assert "86036652" in english.citations[0].text


def test_english_how_large_asks_for_an_area(engine):
    # "how large" is the question, not 大型 things; "Luquan" is a name the passage must contain.
    response = engine.ask("How big is the electronic information industrial park in Luquan?")
    assert "2.6万亩" in response.value


def test_numbers_match_across_width_and_grouping(engine):
    response = engine.ask("鹿泉区２０２４年电子信息产业目标是不是突破１，１００亿元")
    assert any("1100亿元" in c.text for c in response.citations[:3])


def test_each_conflicting_value_is_dated_by_its_newest_article(engine):
    response = engine.ask("石家庄国际生物医药园占地多少亩")
    assert response.status == "conflict"
    dates = {}
    for entry in response.conflict:
        dates.setdefault(entry["value"], []).append(entry["date"])
    assert max(dates["2.8万亩"]) > max(dates["2.4万亩"])
    assert max(dates["2.8万亩"]).startswith("2024")
    assert response.conflict[0]["value"] == "2.8万亩"


def test_office_holders_that_changed_are_reported_as_a_conflict(engine):
    response = engine.ask("石家庄高新区管委会主任是谁")
    assert response.status == "conflict"
    assert [c["value"] for c in response.conflict] == ["赵路新", "李瑞峰"]  # 2023 before 2021
    assert {c.doc_id for c in response.citations} >= {c["doc_id"] for c in response.conflict}


@pytest.mark.parametrize("question,value", [
    ("2023年石家庄新一代电子信息产业营业收入是多少", "1174亿元"),  # not Luquan's 766.02亿元 for Jan–Nov
    ("2023年石家庄生物医药产业营业收入是多少", "1078.6亿元"),  # not 2022's 855亿元
    ("Who is the head (district mayor) of Luquan District?", "李争"),  # not the 主任 of another zone
])
def test_different_facts_are_not_reported_as_a_conflict(engine, question, value):
    response = engine.ask(question)
    assert response.status == "answered", response.answer
    assert value in response.value


@pytest.mark.parametrize("question", ["征求意见的公告是哪个单位发布的", "小学生免费公交专线的公告由谁发布"])
def test_a_notice_is_issued_by_the_office_that_signs_it(engine, question):
    response = engine.ask(question)
    assert response.value == "石家庄市人民政府办公室"
    assert response.answer.startswith("由石家庄市人民政府办公室发布") and "2021年12月21日" in response.answer
    assert highlighted(response.citations[0]) == "石家庄市人民政府办公室"


@pytest.mark.parametrize("question,value", [
    ("国资委要加快建设哪种城市更新项目", "6+2+2"),  # 市国资委 is named in the paragraph before
    ("刘文富说生物医药园要构建哪些技术平台", "疫苗、抗体药物"),  # the park is named two paragraphs up
])
def test_a_subject_named_just_before_in_the_section_anchors_the_passage(engine, question, value):
    response = engine.ask(question)
    assert response.status == "answered" and value in response.answer


def test_a_post_that_changed_between_articles_is_a_conflict(engine):
    response = engine.ask("丁飞燕担任什么职务")
    assert response.status == "conflict"
    values = [(c["value"], c["date"]) for c in response.conflict]
    assert values[0] == ("高新区党工委委员、管委会副主任", "2024-09-02")
    assert ("高新区党工委委员、科技创业园区管理办公室主任", "2023-05-16") in values


@pytest.mark.parametrize("question,post", [
    ("赵路新担任什么职务", "高新区党工委副书记、管委会主任"),  # 石家庄高新区… elsewhere: the same post
    ("李争担任什么职务", "鹿泉区委副书记、区长"),  # 石家庄市鹿泉区… elsewhere
])
def test_a_post_printed_with_more_of_its_place_is_the_same_post(engine, question, post):
    response = engine.ask(question)
    assert response.status == "answered" and response.value == post


def test_a_part_of_the_year_is_answered_by_its_own_figure(engine):
    # One passage says 上半年…今年有望…1300亿元 (a full-year forecast); another gives the half-year figure.
    response = engine.ask("2024年上半年新一代电子信息营收是多少")
    assert response.value == "662.8亿元"
    follow_up = engine.ask("那生物医药呢", history=["2024年上半年新一代电子信息营收是多少"])
    assert follow_up.value == "607.4亿元"  # 两大产业分别…: the subjects are listed in the sentence before


def test_a_count_in_a_list_question_need_not_be_printed_again(engine):
    # 哪四项 asks for four items; the passage lists them and says 四大工程, not 四项.
    response = engine.ask("高新区实施的四大工程包括哪四项")
    assert response.status == "answered" and "规下企业入统、小企业提升、中企业跨越、大企业扩能" in response.answer


def test_a_difference_of_rates_is_in_percentage_points(engine):
    response = engine.ask("今年1至7月电子信息产业投资增幅比全市总投资高出多少")
    assert response.value == "36.5个百分点"


@pytest.mark.parametrize("question,value", [
    ("新中国成立多少周年", "75周年"),
    ("赵路新说高新区要加快推进哪些基础设施建设", "“气化岛+能源岛”“公铁联运”"),  # a list of quoted names
    ("远东通信的应急指挥系统已经在多少个省级部门落地应用", "十余个"),
])
def test_spans_of_other_shapes(engine, question, value):
    assert engine.ask(question).value == value


def test_the_reporter_is_named_in_the_byline_next_to_the_interview(engine):
    # The interview passage says 接受记者采访 (no name, and 采访时 is no name); the byline just before names her.
    response = engine.ask("市委十一届六次全会后采访赵建林的记者是谁")
    assert response.value == "吴温" and response.answer.startswith("石家庄日报记者")


def test_a_name_printed_without_quotes_is_answered_by_its_clause(engine):
    response = engine.ask("交投集团要加快收尾的农产品批发项目叫什么名字")
    assert response.status == "answered" and "石家庄国际农产品批发交易中心二期" in response.answer


@pytest.mark.parametrize("question,value", [
    ("意见建议用信函寄给哪个部门", "石家庄市教育局"),  # an office, by how office names end
    ("冷链物流产业园项目是哪个园区承接京津产业转移的重点项目", "正定高新区"),  # a park
    ("2023年5月说要实施“招商引资突破年”活动的河北省商务厅厅长是谁", "张泽峰"),  # printed 省商务厅
])
def test_named_offices_parks_and_people(engine, question, value):
    assert engine.ask(question).value == value


def test_a_year_end_forecast_is_not_a_half_year_figure(engine):
    response = engine.ask("2024年底石家庄新一代电子信息产业营业收入预计突破多少")
    assert "1300亿元" in response.value  # not 上半年's 662.8亿元 from the same sentence


def test_an_answer_keeps_the_closing_quote_of_a_quoted_name(engine):
    response = engine.ask("京津冀政务服务要全面推进哪两项")
    assert response.answer.endswith("“跨省通办”。")


def test_a_question_that_stands_alone_is_not_bent_into_a_follow_up(engine):
    # It names no place or year, so it could be elliptical; asked alone it answers, with the history it would not.
    response = engine.ask("小学生免费公交专线的公告由谁发布", history=["丁飞燕担任什么职务"])
    assert response.value == "石家庄市人民政府办公室" and response.rewritten is None
    follow_up = engine.ask("那生物医药呢", history=["2023年新一代电子信息产业营业收入是多少"])
    assert follow_up.value == "1078.6亿元" and follow_up.rewritten  # a marked follow-up stays one
