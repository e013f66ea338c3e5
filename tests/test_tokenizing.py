"""jieba's user words are the corpus's own: recurring place, company and office names, learned at index time."""

from __future__ import annotations

from rag.tokenizing import corpus_words, tokenizer_for


def test_recurring_names_are_learned_and_a_name_seen_once_is_not():
    texts = ["鹿泉区的华普生物表示，市发改委将支持。", "华普生物在鹿泉区落户，市发改委介绍。", "石家庄交投集团完成投资。"]
    words = dict(corpus_words(texts))
    assert words == {"鹿泉区": "ns", "华普生物": "nt", "市发改委": "nt"}
    tokenizer = tokenizer_for(tuple(sorted(words.items())))
    assert "华普生物" in tokenizer.words("华普生物董事长") and "华普生物" in tokenizer("华普生物董事长")
