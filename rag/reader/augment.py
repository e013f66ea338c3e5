"""Training questions rewritten the way people type queries.

Why: the public QA sets the reader learns from are full written questions (西红柿开花后多久结果？);
people type keywords (西红柿开花 结果时间), drop particles, add spaces or write traditional script.
These rules are about how questions are phrased, not about any corpus: the question word becomes
the kind of answer it asks for (多久 → 时间, 哪里 → 地点, 为什么 → 原因) or is dropped, and the frame
around it goes. They differ on purpose from the frozen rules that build the keyword-form
development sets (``eval/queries/build.py``), which only delete.
"""

from __future__ import annotations

import random
import re

# Question word → the noun a query uses for what is asked ("" drops it). Longer words first.
ANSWER_KINDS = (
    ("多长时间", "时间"), ("什么时候", "时间"), ("什么时间", "时间"), ("哪一年", "年份"), ("哪年", "年份"),
    ("何时", "时间"), ("多久", "时间"), ("几时", "时间"), ("几月", "月份"), ("哪一天", "日期"),
    ("什么地方", "地点"), ("哪里", "地点"), ("哪儿", "地点"), ("何处", "地点"), ("何地", "地点"),
    ("为什么", "原因"), ("为何", "原因"), ("怎么样", "情况"), ("如何", "方法"), ("怎样", "方法"), ("怎么", "方法"),
    ("多少钱", "价格"), ("多少人", "人数"), ("多少岁", "年龄"), ("多大", "大小"), ("多高", "高度"),
    ("多远", "距离"), ("多重", "重量"), ("多长", "长度"), ("多少", ""), ("几", ""),
    ("什么人", "人物"), ("谁", "人物"), ("什么", ""), ("哪些", ""), ("哪个", ""), ("哪种", ""), ("哪位", ""), ("哪", ""),
)
_WORDS = re.compile("|".join(re.escape(word) for word, _ in ANSWER_KINDS))
_KIND = dict(ANSWER_KINDS)
_FRAME_BEFORE = re.compile(r"(?:是|为|在|叫|叫做|有|于)$")
_END = re.compile(r"[？?。！!\s]*(?:呢|吗|呀|啊)?[？?。！!\s]*$")
_PARTICLES = re.compile(r"[的了着]")
_NAMED_AS = "称成作认视名改译"  # 被称为什么 asks a name (为 + 什么), not a reason (为什么)
_MEASURES = "部个位种本家所座次条项名首只支届场件门"  # 哪部电影 → 电影


def keyword_query(question: str, rng: random.Random) -> str:
    """One query a person might type for ``question``: 西红柿开花后多久结果？ → 西红柿开花后 结果 时间,
    maybe without particles, spaced, or in traditional script. The question itself when no rule applies."""
    text = _END.sub("", question.strip())
    match = _WORDS.search(text)
    if not match:
        return question
    word, start = match.group(), match.start()
    if word in ("为什么", "为何") and start and text[start - 1] in _NAMED_AS:
        word, start = word[1:], start + 1
    before, after = text[:start], text[match.end():]
    if word[-1] in "哪几一" and after[:1] in _MEASURES:
        after = after[1:]
    before = _FRAME_BEFORE.sub("", before)
    kind = _KIND.get(word, "")
    parts = [part for part in (before.strip(), after.strip("的是 ")) if part]
    if kind:
        parts.append(kind)
    query = " ".join(parts) if rng.random() < 0.6 else "".join(parts)
    if rng.random() < 0.3:
        query = _PARTICLES.sub("", query)
    if rng.random() < 0.1:
        import zhconv

        query = zhconv.convert(query, "zh-tw")
    return query if len(query.replace(" ", "")) >= 2 else question
