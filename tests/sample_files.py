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


def raw_pdf(path: Path, pages: list[bytes], contents: list[bytes], extra: list[bytes] = ()) -> Path:
    """A PDF written object by object: ``pages`` are page dictionaries' inner text (objects numbered from 3),
    ``contents`` stream bodies numbered after them, ``extra`` objects after those. For files no tool would write."""
    import zlib

    objects = [b"<< /Type /Catalog /Pages 2 0 R >>",
               b"<< /Type /Pages /Kids [%s] /Count %d >>" % (b" ".join(b"%d 0 R" % (3 + i) for i in range(len(pages))), len(pages))]
    objects += [b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 200] " + page + b" >>" for page in pages]
    for body in contents:
        packed = zlib.compress(body, 9)
        objects.append(b"<< /Length %d /Filter /FlateDecode >>\nstream\n" % len(packed) + packed + b"\nendstream")
    objects += list(extra)
    out, offsets = b"%PDF-1.7\n", []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1) + b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    path.write_bytes(out)
    return path


def shared_stream_pdf(path: Path, pages: int = 10, megabytes: float = 2) -> Path:
    """A few KB: ``pages`` pages that all draw one compressed content stream of ``megabytes`` of text operators."""
    op = b"BT /F1 12 Tf 10 10 Td (a) Tj ET\n"
    body = op * int(megabytes * 1_000_000 // len(op))
    font = b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"
    page = b"/Contents %d 0 R /Resources << /Font << /F1 %d 0 R >> >>" % (3 + pages, 4 + pages)
    return raw_pdf(path, [page] * pages, [body], [font])


def broken_fonts_pdf(path: Path, pages: int = 10, fonts: int = 100) -> Path:
    """A malformed PDF whose fonts point at objects that do not exist: pypdf warns once for each (1,400 lines)."""
    content = b"".join(b"BT /F%d 12 Tf 10 10 Td (a) Tj ET\n" % j for j in range(fonts))
    dicts = []
    for i in range(pages):
        fonts_of_page = b" ".join(
            b"/F%d << /Type /Font /Subtype /Type0 /BaseFont /X /Encoding /Identity-H /DescendantFonts [%d 0 R] /ToUnicode %d 0 R >>"
            % (j, 5000 + i * 1000 + j, 90000 + i * 1000 + j) for j in range(fonts))
        dicts.append(b"/Contents %d 0 R /Resources << /Font << %s >> >>" % (3 + pages, fonts_of_page))
    return raw_pdf(path, dicts, [content])


def noto_cjk() -> str:
    """The installed Noto Sans CJK (Debian's fonts-noto-cjk; `make browser` installs it as root), or skip."""
    found = sorted(glob.glob("/usr/share/fonts/**/NotoSansCJK-Regular.tt[cf]", recursive=True))
    if not found:
        pytest.skip("no Noto Sans CJK font installed (fonts-noto-cjk): cannot render Chinese pages for OCR")
    return found[0]


def rendered_page(paragraphs: list[str], width: int = 1190, height: int = 1684, size: int = 30, title: str = ""):
    """A page image (A4 at 144 dpi) of Chinese text as a scanner sees it: black on white, each paragraph
    wrapped to the text width with a two-character indent, a gap between paragraphs."""
    from PIL import Image, ImageDraw, ImageFont

    font = ImageFont.truetype(noto_cjk(), size, index=2)  # 2: Simplified Chinese
    image = Image.new("L", (width, height), 255)
    draw = ImageDraw.Draw(image)
    margin, y, line = 110, 120, int(size * 1.6)
    if title:
        draw.text(((width - draw.textlength(title, font=font)) / 2, y), title, font=font, fill=0)
        y += 2 * line
    for paragraph in paragraphs:
        x, text = margin + 2 * size, paragraph
        while text:
            n = 1
            while n < len(text) and x + draw.textlength(text[:n + 1], font=font) <= width - margin:
                n += 1
            draw.text((x, y), text[:n], font=font, fill=0)
            text, x, y = text[n:], margin, y + line
        y += line // 2
    return image


def scanned_pdf(path: Path, images, text_pages: Path | None = None) -> Path:
    """An image-only PDF of ``images`` (as a scanner writes it); after the pages of ``text_pages`` when given (a mixed PDF)."""
    import pypdf

    scan = path.with_suffix(".scan.pdf")
    images[0].save(scan, "PDF", save_all=True, append_images=images[1:], resolution=144)
    writer = pypdf.PdfWriter()
    if text_pages is not None:
        writer.append(str(text_pages))
    writer.append(str(scan))
    writer.write(path)
    scan.unlink()
    return path
