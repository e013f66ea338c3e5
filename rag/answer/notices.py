"""Notices: bylines and sign-offs answer only who wrote or published a text, and when.

General rule: a short line that is not the text's content (a byline, a photo credit, a notice's
closing line with its issuer and date) is read only when the question asks for it, and a question
asking when or by whom a notice was published is answered from that closing line, which shares no
word with the question, so neither search nor reader finds it. Example: 市教育局办公室2023年5月8日
closing a notice answers 这份通知是哪天发布的, and □本报记者 王强 answers no question about a school's head.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from ..chunking import Chunk

SIGN_OFF = re.compile(r"^(?:(?P<issuer>[\u4e00-\u9fff（）()]{2,30}?)\s*)?(?P<date>(?:19|20)\d{2}年\d{1,2}月\d{1,2}日)$")
_NOTICE = "公告|通知|通告|公报|声明|决定"
_PUBLISHED = re.compile(rf"(?:{_NOTICE})[^？?，,]{{0,12}}?(?:发布|印发|发出|公布|落款)|(?:发布|印发|发出|公布)[^？?，,]{{0,6}}(?:{_NOTICE})")
_ASKS_WHEN = re.compile(r"哪天|哪一天|何时|什么时候|哪年|几月|日期|时间")
_ASKS_WHO = re.compile(r"哪个单位|哪个部门|哪家|什么单位|什么部门|哪个机构|谁")
_ASKS_BYLINE = re.compile(r"记者|撰稿|作者|撰文|执笔|摄影|拍摄|摄|通讯员|编辑|\b(?:reporters?|wrote|written|authors?|photo\w*|editors?)\b",
                          re.IGNORECASE)
_ASKS_PUBLISHED = re.compile(rf"{_PUBLISHED.pattern}|发布|印发|公布|落款|\b(?:publish|issu|sign)\w*", re.IGNORECASE)


def readable(wording: str) -> Callable[[Chunk], bool]:
    """Which passages the reader reads for a question worded so: a byline only when it asks who
    reported or wrote, a sign-off only when it asks who published or when."""
    bylines, sign_offs = bool(_ASKS_BYLINE.search(wording)), bool(_ASKS_PUBLISHED.search(wording))
    return lambda chunk: (bylines or chunk.kind != "byline") and (sign_offs or not SIGN_OFF.match(chunk.text.strip()))


def asked_sign_off(question: str) -> str | None:
    """"date" or "issuer" when the question asks when or by whom a notice was published, else None."""
    part = "date" if _ASKS_WHEN.search(question) else "issuer" if _ASKS_WHO.search(question) else None
    return part if part and _PUBLISHED.search(question) else None


def sign_off(chunks: list[Chunk], row: int, part: str) -> tuple[int, re.Match] | None:
    """The row of the line closing the section of passage ``row``, and its match, when it is a sign-off
    giving ``part`` (only a section's last passage can close it)."""
    chunk = chunks[row]
    for closing_row in range(len(chunks) - 1, -1, -1):
        closing = chunks[closing_row]
        if closing.doc_id != chunk.doc_id or closing.heading != chunk.heading:
            continue
        match = SIGN_OFF.match(closing.text.strip())
        return (closing_row, match) if match and match.group(part) else None
    return None
