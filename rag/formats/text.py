"""Text files in the encodings Chinese text comes in: UTF-8, UTF-16/32 (by their byte-order mark, or
detected), GB18030 (which holds GBK and GB2312) and Big5. The byte-order mark is trusted first, then
strict UTF-8, then charset-normalizer's guess among those encodings (UTF-16/32 without a byte-order
mark only when NUL bytes show it); anything else is refused."""
from __future__ import annotations

import codecs
import re

from .base import FormatError

_BOMS = ((codecs.BOM_UTF32_LE, "utf-32"), (codecs.BOM_UTF32_BE, "utf-32"), (codecs.BOM_UTF8, "utf-8-sig"),
         (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16"))
# charset-normalizer's names -> the codec that reads them whole (GB18030 is a superset of GBK and GB2312)
_CHINESE = {"gb18030": "gb18030", "gbk": "gb18030", "gb2312": "gb18030", "hz": "hz", "big5": "big5hkscs",
            "big5hkscs": "big5hkscs", "cp950": "big5hkscs", "utf_16": "utf-16", "utf_16_le": "utf-16-le",
            "utf_16_be": "utf-16-be", "utf_32": "utf-32", "utf_32_le": "utf-32-le", "utf_32_be": "utf-32-be"}
SUPPORTED = "UTF-8, UTF-16, GB18030/GBK/GB2312 or Big5"


def detect(raw: bytes) -> str:
    """The codec name ``raw`` is read with (FormatError when it is none of the supported encodings)."""
    for bom, codec in _BOMS:
        if raw.startswith(bom):
            return codec
    try:
        raw.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError:
        pass
    from charset_normalizer import from_bytes

    # UTF-16/32 without a byte-order mark shows NUL bytes (its ASCII); otherwise a short GBK text could
    # pass for UTF-16, so the wide encodings are only candidates when NULs are there.
    wide = b"\x00" in raw[:1 << 16]
    candidates = [name for name in _CHINESE if name.startswith("utf") == wide]
    best = from_bytes(raw[:1 << 20], cp_isolation=candidates).best()
    codec = _CHINESE.get(best.encoding) if best is not None else None
    if codec is not None:
        try:
            raw.decode(codec)
            return codec
        except UnicodeDecodeError:
            pass
    raise FormatError(f"not text in {SUPPORTED} (the encodings this server reads)")


_CONTROL = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f-\x9f]")


def decode(raw: bytes) -> str:
    text = raw.decode(detect(raw))
    if "\x00" in text or len(_CONTROL.findall(text[:1 << 16])) > len(text[:1 << 16]) // 200:
        raise FormatError("not a text file (it holds NUL bytes or other binary content)")
    return text
