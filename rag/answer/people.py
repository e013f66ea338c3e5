"""People and posts: a person answers only for the post printed right before their name.

General rule: a who-question that names a post (主任, 副局长, 董事长) is answered by a name printed under
that very post, not by one printed under another post in the same passage; and when different
people are printed under the asked post in documents of different dates, the post changed hands.
Example: 院长王明、副院长张华 answers 副院长是谁 with 张华, not 王明; 管委会主任 A in a 2021 article and
管委会主任 B in a 2023 one are both listed, newest first.
"""

from __future__ import annotations

import re

from .sentences import CLAUSE_BREAK

_POSTS = ("主任|书记|局长|区长|县长|市长|省长|镇长|乡长|厅长|院长|部长|处长|科长|司长|所长|站长|总经理|董事长|经理|主席|委员|"
          "总监|秘书长|负责人|馆长|校长|行长|社长|会长|理事长|主编|总编辑|总裁|队长|组长")
POST_TITLE = re.compile(rf"(?:{_POSTS})$")
_ASKED_POST = re.compile(rf"(副)?(?:{_POSTS})(?=是谁|是哪位|为谁)|(?<=谁是|谁任)[^，,。？?]*?(副)?(?:{_POSTS})")
_POST_BEFORE = re.compile(rf"(副)?(?:{_POSTS})\s*$")
_ASKED_OFFICE = re.compile(rf"[\u4e00-\u9fff]{{0,2}}[会委局厅办院部府](?:常务)?(?:副)?(?:{_POSTS})(?=是谁|是哪位|为谁)")


def asked_post(question: str) -> bool | None:
    """Whether a who-question asks for a deputy (谁是副馆长 → True; 管委会主任是谁 → False); None when it
    asks for no post."""
    match = _ASKED_POST.search(question)
    return None if match is None else bool(match.group(1) or match.group(2))


def asked_office(question: str) -> str | None:
    """The post a who-question asks for, with the body it belongs to (高新区管委会主任是谁 → 管委会主任);
    None when it asks for no post or names no body (区长是谁: 区长 alone is printed of every district)."""
    match = _ASKED_OFFICE.search(question)
    return match.group(0) if match else None


def post_before(text: str, start: int) -> bool | None:
    """Whether the post title printed right before ``start`` (常务副主任李明) is a deputy's; None when
    no post title stands there (within the clause)."""
    clause = text[max((m.end() for m in CLAUSE_BREAK.finditer(text, max(0, start - 16), start)), default=max(0, start - 16)):start]
    match = _POST_BEFORE.search(clause)
    return None if match is None else bool(match.group(1))
