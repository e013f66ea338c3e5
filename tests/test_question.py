"""Reading a question: the same question parses the same in every engine of a process."""

from rag.question import QuestionReader
from rag.tokenizing import default_tokenizer


def test_a_second_reader_tags_names_like_the_first():
    # jieba gives the user dictionary's tags (市发改委: nt) to the first tagger over a tokenizer only.
    question = "市发改委表示要突出抓好总投资多少以上的重大项目建设？"
    first, second = QuestionReader(default_tokenizer()), QuestionReader(default_tokenizer())
    assert second._tagged(question) == first._tagged(question)
    assert [(g.word, g.anchor) for g in second(question).groups] == [(g.word, g.anchor) for g in first(question).groups]
    assert first(question).groups[0].anchor  # the office is a name the answer must contain
