"""Reading a question: the same question parses the same in every engine of a process."""

from functools import lru_cache

from rag.documents import load_corpus
from rag.question import QuestionReader
from rag.tokenizing import corpus_words, tokenizer_for
from tests.conftest import CORPUS


@lru_cache(maxsize=1)
def seed_tokenizer():
    """The tokenizer an index of the seed corpus gets: jieba and the corpus's own recurring names."""
    documents, _ = load_corpus(CORPUS)
    return tokenizer_for(tuple(corpus_words(f"{d.title}\n{d.text}" for d in documents)))


def test_a_second_reader_tags_names_like_the_first():
    # jieba gives the user dictionary's tags (市发改委: nt) to the first tagger over a tokenizer only.
    question = "市发改委表示要突出抓好总投资多少以上的重大项目建设？"
    first, second = QuestionReader(seed_tokenizer()), QuestionReader(seed_tokenizer())
    assert second._tagged(question) == first._tagged(question)
    assert [(g.word, g.anchor) for g in second(question).groups] == [(g.word, g.anchor) for g in first(question).groups]
    assert first(question).groups[0].anchor  # the office is a name the answer must contain


def test_a_follow_up_with_a_question_of_its_own_is_read_as_asked():
    reader = QuestionReader(seed_tokenizer())
    earlier = ["2023年1至11月，鹿泉区新一代电子信息业主营业务收入是多少？"]
    own = reader("同比增长了多少？", earlier)
    # The earlier question still finds the passages; the reader is asked only what the follow-up asks.
    assert own.rewritten and "鹿泉区" in own.text and own.read_as.startswith("同比增长了多少")
    swapped = reader("那生物医药呢？", ["2023年石家庄新一代电子信息产业营业收入是多少？"])
    assert swapped.asks == "" and swapped.read_as == swapped.text and "生物医药" in swapped.text


def test_pointing_words_are_not_what_a_follow_up_is_about():
    question = QuestionReader(seed_tokenizer())("这家公司有多少项国际发明专利？", ["华普生物董事长是谁？"])
    words = [g.word for g in question.groups]
    assert "这家" not in words and "公司" in words and "华普生物" in words


def test_an_english_word_in_lower_case_is_no_name():
    # "built" glosses 新建, which is also a county's name: as an anchor it kept the answering passage out.
    from rag.crosslingual import EnglishExpander

    reader = QuestionReader(seed_tokenizer(), EnglishExpander({"新建", "石家庄", "鹿泉", "产业", "体系"}))
    anchors = {g.word: g.anchor for g in reader("What is Shijiazhuang's industry system in Luquan built on?").groups}
    assert anchors["石家庄"] and anchors["鹿泉"]
    assert not anchors["新建"]


def test_an_english_question_searches_its_surest_renderings():
    """Keyword search looks for each English term's best Chinese word and the glossary's, in the index's
    tokens, not every dictionary gloss ("set" → 系列 集合 出发 树立 flooded BM25 with unrelated words),
    which still count in an answer; the dense query carries the Chinese keywords beside the English. A
    glossary term may hold a figure (PM2.5)."""
    from rag.crosslingual import EnglishExpander

    vocabulary = {"系列", "集合", "出发", "树立", "广东", "目标", "浓度"}
    reader = QuestionReader(seed_tokenizer(), EnglishExpander(vocabulary, seed_tokenizer()))
    question = reader("What GDP growth target did Guangdong set for 2026?")
    assert next(g for g in question.groups if g.word == "国内生产总值").words[1] == "地区生产总值"
    assert {"国内", "地区", "生产总值"} <= set(question.keywords)  # 国内生产总值 is no token of the index
    dictionary = next(g for g in question.groups if "集合" in g.words and len(g.words) > 2)
    assert set(question.keywords) & set(dictionary.words) == {dictionary.word}
    assert question.embedded.startswith(question.raw) and "广东" in question.embedded.removeprefix(question.raw)
    assert QuestionReader(seed_tokenizer())("广东的目标是多少？").embedded == "广东的目标是多少?"
    assert "pm2.5" in reader("What was the average PM2.5 concentration?").keywords


def test_only_a_follow_up_that_swaps_a_subject_names_a_topic():
    reader = QuestionReader(seed_tokenizer())
    earlier = ["远东通信哪款产品入选了2024年安全应急装备应用推广典型案例名单？"]
    assert not any(g.topic for g in reader("主要用在什么场景？", earlier).groups)
    swapped = reader("那生物医药呢？", ["2023年石家庄新一代电子信息产业营业收入是多少？"])
    assert [g.word for g in swapped.groups if g.topic] == ["生物医药产业"]


def test_a_follow_up_that_points_back_swaps_no_name():
    # 河北 of 河北工大 is a place by its tag, but 其中 says the question stays with the earlier subject (鹿泉区).
    question = QuestionReader(seed_tokenizer())("其中河北工大那家研究院全称叫什么？", ["2023年鹿泉区与哪些高校开展了战略合作？"])
    assert "鹿泉区" in question.text and question.read_as.startswith("其中河北工大那家研究院全称叫什么")


def test_a_follow_up_of_a_prefixed_follow_up_swaps_what_that_one_added():
    # 开工入统数量 swaps no name of the first question, so it is put in front; 竣工数量 then takes its place.
    reader = QuestionReader(seed_tokenizer())
    history = ["市工信局“三提升”中，项目储备数量要提升多少？", "开工入统数量呢？"]
    question = reader("竣工数量呢？", history)
    assert question.text.startswith("竣工数量，") and "开工入统" not in question.text and "项目储备数量" in question.text


def test_a_swapped_follow_up_knows_what_it_swapped_out():
    question = QuestionReader(seed_tokenizer())("电子信息产业呢？", ["2021年以来，生物医药产业新上了多少个省市重点项目？"])
    assert "生物医药" in "".join(question.replaced) and "电子信息" in question.text


def test_a_follow_up_swaps_the_place_named_not_a_word_tagged_alike():
    question = QuestionReader(seed_tokenizer())("江苏呢？", ["广东2026年城镇新增就业目标是多少？"])
    assert "江苏" in question.text and "广东" not in question.text and "城镇新增就业" in question.text, question.text
    assert "城镇" not in question.replaced


def test_a_follow_up_s_next_year_is_the_year_after_the_earlier_question_s():
    question = QuestionReader(seed_tokenizer())("下一年呢？", ["2017年全国高校毕业生有多少人？"])
    assert question.years == [2018] and "2017" not in question.text, question.text
    before = QuestionReader(seed_tokenizer())("上一年呢？", ["2017年全国高校毕业生有多少人？"])
    assert before.years == [2016]


def test_the_kind_of_thing_asked_for_is_no_name_the_answer_must_print():
    """什么荣誉 asks for an honour (土地生命奖), which the passage need not call 荣誉, though jieba tags it a name."""
    groups = {g.word: g.anchor for g in QuestionReader(seed_tokenizer())("塞罕坝林场拿到了联合国颁发的什么荣誉？").groups}
    assert groups["荣誉"] is False and groups["联合国"] is True


def test_an_english_question_asks_a_target_or_an_outcome_in_its_chinese_words():
    """The kind of figure asked is read off the Chinese keywords (plan → 计划, actually → 实际): in 2014,
    what the government planned to cancel is the plan's 200项以上, not the review's 246项."""
    from rag.answer.readings import Asks
    from rag.crosslingual import EnglishExpander

    reader = QuestionReader(seed_tokenizer(), EnglishExpander({"取消", "审批"}))
    assert Asks.of(reader("In 2014, how many approval items did the government plan to cancel?")).kind == "target"
    assert Asks.of(reader("How much foreign direct investment did China actually use in 2014?")).kind == "outcome"
    assert Asks.of(reader("How many approval items were cancelled in 2014?")).kind is None


def test_an_english_question_for_a_quantity_asks_the_reader_how_much():
    """"What … target / ratio / output" asks for a figure as "how much" does: the reader, which learned from
    Chinese questions, is asked 多少, not 什么 (which it reads as a thing named)."""
    from rag.answer.readings import reader_questions

    reader = QuestionReader(seed_tokenizer())
    assert reader_questions(reader("What GDP growth target did Guangdong set for 2026?"))[0].endswith("多少？")
    assert reader_questions(reader("What is the deficit ratio?"))[0].endswith("多少？")
    assert reader_questions(reader("What brand slogan does the zone want to make known?"))[0].endswith("什么？")
