"""Images (.png .jpg .jpeg .tif .tiff): the text on them, by OCR. A multi-page TIFF is one page per frame."""
from __future__ import annotations

import warnings
from pathlib import Path

from . import ocr
from .base import Extracted, FormatError, Reading, _check_not_empty, dateline


def _open(path: Path, reading: Reading):
    """The image, its header read and its size checked; nothing decoded yet."""
    from PIL import Image, UnidentifiedImageError

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(path)  # reads the header only
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as e:  # Pillow's own bound, from the header
        raise FormatError(f"the image is larger than the limit of {reading.settings.image_max_megapixels:g} megapixels "
                          f"(RAG_IMAGE_MAX_MEGAPIXELS); refused before decoding ({e})"[:300]) from None
    except UnidentifiedImageError:
        raise FormatError("not an image this server can read (its content is not PNG, JPEG or TIFF)") from None
    except Exception as e:
        raise FormatError(f"the image is damaged or unreadable: {e}") from e
    if image.format not in ("PNG", "JPEG", "TIFF", "MPO"):
        raise FormatError(f"the file is a {image.format} image; use PNG, JPEG or TIFF")
    ocr.check_pixels(image.width, image.height, reading, "the image")
    return image


def check_image(path: Path, reading: Reading):
    """(the image, its page count), from its header alone: its type, pixels and pages within the limits, and
    OCR installed. Nothing is decoded, so the upload request checks this much before storing the file."""
    _check_not_empty(path)
    image = _open(path, reading)
    frames = getattr(image, "n_frames", 1) if image.format == "TIFF" else 1
    ocr.check_pages(frames, reading, "pages of the TIFF" if frames > 1 else "images")
    ocr.require()
    return image, frames


def read_image(path: Path, reading: Reading | None = None) -> Extracted:
    from PIL import Image

    reading = reading or Reading()
    image, frames = check_image(path, reading)
    cache = ocr.Cache(path, reading.settings)
    pages = list(range(1, frames + 1))
    if not reading.ocr and any(cache.get(n) is None for n in pages):
        try:  # decode now (bounded: the size is checked), so a truncated file is refused by the upload, not the job
            image.load()
        except Exception as e:
            raise FormatError(f"the image is damaged or unreadable: {e}") from e
        return Extracted("", "", "", ocr_pending=len(pages))

    def image_of(number: int):
        try:
            image.seek(number - 1)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", Image.DecompressionBombWarning)
                frame = image.copy()
            ocr.check_pixels(frame.width, frame.height, reading, f"page {number} of the image")
            return frame
        except FormatError:
            raise
        except Exception as e:
            raise FormatError(f"the image is damaged or unreadable: {e}") from e

    texts = ocr.read_pages(cache, pages, image_of, reading, paged=len(pages) > 1)
    paragraphs = [p for n in pages for p in texts[n]]
    text = "\n\n".join(paragraphs)
    if not text.strip():
        raise FormatError("OCR found no text in the image")
    # An image has no metadata: only a dateline dates it, never an event date in its first sentence.
    return Extracted(text, "", dateline(text), ocr_spans=((0, len(text)),))
