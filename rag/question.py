"""Understand a question: its keywords, the names a passage must contain, and what a follow-up refers to."""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from functools import lru_cache

from jieba import posseg

from .crosslingual import EnglishExpander, is_english
from .tokenizing import Tokenizer, normalize

QUESTION_WORDS = set(
    "多少 几 几个 什么 哪些 哪 哪个 哪家 哪里 哪位 谁 何时 时候 什么时候 吗 呢 了 请问 是 的 有 为 如何 怎样 怎么 哪一年 哪年 "
    "多大 是否 目前 现在 呀 啊 吧 么 啥 那 那么 还有 另外 又 和 与 及 在 对 将 把 被 于 之 其 该 这 那个 这个 个 一下 告诉 我 "
    "年 如果 假如 要是 你 您 所 是多少 是什么 了吗 分别 哪几 几年 多 少 一 时间 日期 名字 名称 叫 叫做 具体 "
    "这些 那些 这家 那家 这位 那位 这项 那项 此".split()  # pointing words: what they point at is in the earlier question
)
_FOLLOW_UP = re.compile(r"^(那么?|还有|另外|而|那个|那在|那)|呢[？?]?$|^(what|how) about\b|^and\b", re.I)
_POINTS_BACK = re.compile(r"^(?:它|他|她|其|这|该|此|上述|其中)")
_ASKS = re.compile(r"多少|几|什么|啥|哪|谁|何|怎|是否|吗")  # a follow-up with one of these asks a question of its own
_YEAR = re.compile(r"(?<!\d)((?:19|20)\d{2})(?!\d)")
# A year a follow-up gives against the earlier question's (2017年…, then 下一年呢 → 2018年).
_YEAR_AFTER = {"下一年": 1, "次年": 1, "第二年": 1, "后一年": 1, "上一年": -1, "前一年": -1}
_SHIFTED_YEAR = re.compile("|".join(_YEAR_AFTER))
_MARKUP = re.compile(r"<[^<>]{1,200}>")
# A session number (十一届, 七次) tells events apart; a count of items (四项, 两个, 四大) is what a list
# answers, and the passage may list them without restating it.
_SESSION = re.compile(r"[一二三四五六七八九十百两\d]+[次届]")
_GENERIC_PLACES = set("外国 国外 海外 境外 国内 全国 全省 全市 本地 当地 各地 地方 中外 国际 城市 地区".split())
_ASKS_FOR = {"什么", "哪个", "哪些", "哪种", "哪类", "哪项", "哪一", "何种"}
_TYPED_FLAGS = {"ns": "place", "nr": "person", "nt": "org", "nz": "topic", "nrt": "person"}


@dataclass(frozen=True)
class Keyword:
    """A question word and what else counts as finding it: (word, credit) pairs.

    ``anchor`` words (places, people, organisations, years, ordinal counts) must appear in the
    answering passage: a passage about 鹿泉区 does not answer a question about 藁城区.
    """

    word: str
    alternatives: tuple[tuple[str, float], ...] = ()
    weight: float = 1.0
    anchor: bool = False
    topic: bool = False  # what a follow-up asks about (那生物医药呢 → 生物医药): the answer must be about it
    searched: tuple[str, ...] = ()  # the words keyword search looks for, when not all (an English term's surest renderings)

    @property
    def words(self) -> list[str]:
        return [self.word, *(w for w, _ in self.alternatives)]


@dataclass
class Question:
    raw: str
    text: str  # the question as read: simplified, follow-ups resolved
    groups: list[Keyword] = field(default_factory=list)
    years: list[int] = field(default_factory=list)
    english: bool = False
    rewritten: bool = False
    asks: str = ""  # what the reader is asked, when not ``text``: a follow-up's own question
    replaced: tuple[str, ...] = ()  # the earlier question's words a follow-up swapped out (生物医药 in 那电子信息产业呢)

    @property
    def read_as(self) -> str:
        return self.asks or self.text

    @property
    def keywords(self) -> list[str]:
        """What keyword search looks for."""
        return list(dict.fromkeys(word for group in self.groups for word in (group.searched or group.words)
                                  if len(word) > 1 or group.word == word))

    @property
    def embedded(self) -> str:
        """What the dense retriever embeds: the text, and beside an English question its Chinese keywords
        (the passages are Chinese; the multilingual model meets them halfway)."""
        return f"{self.text} {' '.join(group.word for group in self.groups)}" if self.english else self.text


@lru_cache(maxsize=None)
def _tagger(tokenizer: Tokenizer) -> posseg.POSTokenizer:
    """One part-of-speech tagger per tokenizer: jieba hands the user dictionary's tags to the first
    tagger made over a tokenizer and clears them, so a second one (a second engine in the process:
    another knowledge base, another store) tagged the corpus's names as unknown ('x')."""
    return posseg.POSTokenizer(tokenizer._jieba)


class QuestionReader:
    """Callable: (question, history) → :class:`Question`."""

    def __init__(self, tokenizer: Tokenizer, expander: EnglishExpander | None = None) -> None:
        self.tokenizer = tokenizer
        self.expander = expander
        self._pos = _tagger(tokenizer)

    def _tagged(self, text: str) -> list[tuple[str, str]]:
        return [(p.word, p.flag) for p in self._pos.lcut(text) if p.word.strip()]

    def places(self, text: str) -> set[str]:
        """The places ``text`` names (鹿泉区, 石家庄), not the generic ones (全市, 国内)."""
        return {w for w, f in self._tagged(text) if f == "ns" and w not in _GENERIC_PLACES}

    def _content(self, text: str) -> list[str]:
        return [w for w in self.tokenizer.words(text) if w not in QUESTION_WORDS]

    def _group(self, word: str, flag: str = "", weight: float = 1.0) -> Keyword:
        """The word and its sub-words (电子信息产业 → 电子信息 …) for partial credit."""
        parts = [(w, 0.5) for w in dict.fromkeys(self.tokenizer._jieba.lcut_for_search(word)) if len(w) >= 2 and w != word]
        anchor = (flag in _TYPED_FLAGS and word not in _GENERIC_PLACES) or bool(_YEAR.fullmatch(word)) \
            or (flag == "m" and bool(_SESSION.fullmatch(word)))
        return Keyword(word, tuple(parts), weight, anchor)

    def _named(self, words: list[str]) -> bool:
        """All of an English term's Chinese renderings are names (places, organisations) in the dictionary."""
        tags = self._pos.word_tag_tab
        if self.expander is not None and words[0] in self.expander.names:
            return True  # Luquan → 鹿泉: a romanised name is a name, whatever jieba tags it
        return all(tags.get(w, "") in _TYPED_FLAGS and tags.get(w) != "nz" for w in words)

    def _words(self, text: str) -> list[tuple[str, str]]:
        """Content words of a question with their part-of-speech flags. The word a question word asks
        for (什么荣誉, 哪个奖项) is the kind of thing asked, not a name the answer must print, whatever its
        tag (jieba tags 荣誉 a person's name)."""
        tagged = self._tagged(text)
        return [(w, "n" if i and tagged[i - 1][0] in _ASKS_FOR and f in _TYPED_FLAGS else f) for i, (w, f) in enumerate(tagged)
                if w not in QUESTION_WORDS and re.search(r"\w", w) and (len(w) > 1 or f in _TYPED_FLAGS)]

    def is_follow_up(self, text: str) -> bool:
        """Elliptical: a follow-up marker, or too little of its own to be asked alone."""
        words = self._words(text)
        typed = any(f in _TYPED_FLAGS or _YEAR.fullmatch(w) for w, f in words)
        return self.surely_follow_up(text) or not typed

    def surely_follow_up(self, text: str) -> bool:
        """A marker (那…呢, 它, 这些) or two words at most: it cannot be asked alone. A question that only
        names no place, person or year (征集意见的截止日期是哪天) may well stand alone."""
        return bool(_FOLLOW_UP.search(text) or _POINTS_BACK.search(text)) or len(self._words(text)) < 3

    def rewrite(self, question: str, history: list[str]) -> tuple[str, str, bool]:
        """Fold a follow-up ("那生物医药呢？") into the question it refers to: (rewritten, base question, prefixed).
        One that swaps no name of the earlier question is prefixed to it ("营业收入同比增长，…产值同比增长多少"):
        the whole finds the passages, but only its own words say what is asked."""
        text = normalize(question)
        if not history or is_english(question) or not self.is_follow_up(text):
            return text, "", False
        base, earlier, earlier_prefixed = normalize(history[-1]), "", False
        if len(history) > 1:
            base, earlier, earlier_prefixed = self.rewrite(history[-1], history[:-1])
        years = set(_YEAR.findall(base))
        if (shift := _SHIFTED_YEAR.search(text)) and len(years) == 1:
            text = text.replace(shift.group(0), f"{int(years.pop()) + _YEAR_AFTER[shift.group(0)]}年")
        new = self._words(text)
        kind_of = lambda w, f: "year" if _YEAR.fullmatch(w) else _TYPED_FLAGS.get(f)  # noqa: E731
        # One that points back (其中河北工大那家研究院…) asks more of the same subject: its names swap none of the earlier ones.
        new_kinds = set() if _POINTS_BACK.search(text) else {kind_of(w, f) for w, f in new} - {None}
        # The earlier question names its place (year, person …) once: the first run of that kind is swapped,
        # not a later word tagged alike (广东2026年城镇新增就业, then 江苏呢: 城镇 stays).
        replaced, out, swapping, swapped = False, [], None, set()
        for word, flag in self._tagged(base):
            kind = kind_of(word, flag)
            if kind and kind in new_kinds and kind not in swapped and (swapping != kind or word not in _GENERIC_PLACES):
                if swapping != kind:
                    out.append("".join(w for w, f in new if kind_of(w, f) == kind))
                    replaced, swapping = True, kind
                continue
            swapped |= {swapping} if swapping else set()
            swapping = None
            out.append(word)
        rewritten = "".join(out)
        if not replaced:
            if earlier_prefixed:  # a follow-up of a prefixed follow-up (开工入统数量呢, then 竣工数量呢) swaps what that one added
                base = rewritten = earlier
            rewritten = "".join(w for w, _ in new) + "，" + rewritten
        return rewritten, base, not replaced

    def __call__(self, question: str, history: list[str] | None = None) -> Question:
        question = _MARKUP.sub(" ", question).strip() or question  # <script>…</script> is not part of a question
        english = is_english(question)
        text, base, prefixed = self.rewrite(question, history or [])
        if english and self.expander is not None:
            # A year, a named place or organisation (Luquan → 鹿泉区, high-tech zone → 高新区), or a
            # session number (十一届七次) must be in the answering passage, as in a Chinese question.
            groups = [Keyword(words[0], tuple((w, 1.0) for w in words[1:]),
                              anchor=bool(_YEAR.fullmatch(words[0])) or (may_name and self._named(words))
                              or bool(re.search("届.+次", words[0])), searched=tuple(searched))
                      for words, may_name, searched in self.expander(question)]
        else:
            # The follow-up's own words lead; what it inherits from the earlier question counts half.
            own = {w for w, _ in self._words(normalize(question))}
            # A follow-up that swaps a subject (那生物医药呢) must be answered about it; one that asks a question of
            # its own (主要用在什么场景) says what is asked, which the answering passage may word otherwise (应用在…领域).
            swaps = not _ASKS.search(question)
            groups, seen = [], set()
            words = self._words(text)
            for word, flag in words:
                if word not in seen:
                    seen.add(word)
                    mine = not base or any(o in word or word in o for o in own)  # 生物医药 → 生物医药产业
                    group = self._group(word, flag, 1.0 if mine else 0.5)
                    groups.append(replace(group, topic=True) if base and mine and swaps else group)
        years = [int(y) for y in _YEAR.findall(text)]
        # 同比增长了多少 after a question about 产值: the reader is asked what the follow-up asks, of the passages the
        # rewritten question finds; with the earlier question beside it, it answered the earlier question again.
        asks = normalize(question) if prefixed and _ASKS.search(question) else ""
        replaced = tuple(w for w, _ in self._words(base) if w not in text) if base and not prefixed else ()
        return Question(raw=question, text=question if english else text, groups=groups,
                        years=years, english=english, rewritten=bool(base), asks=asks, replaced=replaced)
