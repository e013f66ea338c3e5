"""Real files for tests: a Chinese PDF (fpdf2 with Noto Sans CJK outlines), a Word file, bad files."""

from __future__ import annotations

import glob
import zipfile
from pathlib import Path

import pytest


def cjk_font(dest: Path, text: str) -> Path:
    """A TrueType font with Noto Sans CJK SC's outlines for `text`'s characters.

    fpdf2 embeds the installed Noto CJK (CID-keyed CFF) with an embedded CMap encoding that pypdf
    cannot decode (text comes back with NULs); converting the needed glyphs to TrueType makes
    fpdf2 use Identity-H, which every reader understands.  Same glyphs, only the outline format.
    """
    from fontTools.fontBuilder import FontBuilder
    from fontTools.pens.cu2quPen import Cu2QuPen
    from fontTools.pens.ttGlyphPen import TTGlyphPen
    from fontTools.ttLib import TTFont

    found = sorted(glob.glob("/usr/share/fonts/**/NotoSansCJK-Regular.tt[cf]", recursive=True))
    found += sorted(glob.glob("/usr/share/fonts/**/NotoSans*CJK*SC*Regular*.otf", recursive=True))
    if not found:
        pytest.skip("no Noto Sans CJK font installed: cannot build a PDF with Chinese text")
    number = 2 if found[0].endswith(".ttc") else -1  # in NotoSansCJK-Regular.ttc, 2 is "SC"
    src = TTFont(found[0], fontNumber=number, lazy=True)
    cmap, outlines = src.getBestCmap(), src.getGlyphSet()
    chars = sorted({c for c in text if ord(c) in cmap})
    names = [".notdef"] + [f"uni{ord(c):04X}" for c in chars]
    glyphs, widths = {}, {}
    for name, src_name in zip(names, [".notdef"] + [cmap[ord(c)] for c in chars]):
        pen = TTGlyphPen(None)
        outlines[src_name].draw(Cu2QuPen(pen, 1.0, reverse_direction=True))
        glyphs[name], widths[name] = pen.glyph(), outlines[src_name].width
    fb = FontBuilder(src["head"].unitsPerEm, isTTF=True)
    fb.setupGlyphOrder(names)
    fb.setupCharacterMap({ord(c): n for c, n in zip(chars, names[1:])})
    fb.setupGlyf(glyphs)
    fb.setupHorizontalMetrics({n: (w, getattr(fb.font["glyf"][n], "xMin", 0)) for n, w in widths.items()})
    fb.setupHorizontalHeader(ascent=880, descent=-120)
    fb.setupNameTable({"familyName": "NotoSansCJKscTest", "styleName": "Regular"})
    fb.setupOS2(sTypoAscender=880, sTypoDescender=-120, usWinAscent=1160, usWinDescent=288)
    fb.setupPost()
    fb.save(dest)
    return dest


def chinese_pdf(path: Path, title: str, paragraphs: list[str]) -> Path:
    """A PDF with a text layer: the title, then each paragraph wrapped over lines (and pages)."""
    import fpdf

    font = cjk_font(path.with_suffix(".ttf"), title + "".join(paragraphs))
    pdf = fpdf.FPDF(format=(148, 210))
    pdf.add_font("cjk", fname=str(font))
    pdf.set_title(title)
    pdf.add_page()
    pdf.set_font("cjk", size=11)
    for text in [title, *paragraphs]:
        pdf.multi_cell(0, 7, text, align="L", wrapmode="CHAR", new_x="LMARGIN", new_y="NEXT")
        pdf.ln(3)
    pdf.output(str(path))
    return path


def word_docx(path: Path, title: str, paragraphs: list[str], heading: str | None = None) -> Path:
    import docx

    document = docx.Document()
    document.core_properties.title = title
    document.add_heading(heading or title, level=1)
    for text in paragraphs:
        document.add_paragraph(text)
    document.save(str(path))
    return path


def encrypted_pdf(path: Path) -> None:
    import pypdf

    writer = pypdf.PdfWriter()
    writer.add_blank_page(200, 200)
    writer.encrypt("secret")
    writer.write(path)


def zip_bomb(path: Path) -> None:
    """250 MB of zeros deflated to ~250 KB, streamed in 1 MB chunks so memory stays low."""
    chunk = bytes(1024 * 1024)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("[Content_Types].xml", "<Types/>")
        with zf.open("word/document.xml", "w", force_zip64=True) as member:
            for _ in range(250):
                member.write(chunk)
