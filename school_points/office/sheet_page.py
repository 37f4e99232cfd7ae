"""A printable sheet as one self-contained A4 HTML page: cards in a grid, eight to a page.

The page needs nothing from anywhere: its stylesheet is one inline <style> block whose SHA-256
digest the adapter puts in the response's Content-Security-Policy (no other inline style and no
script is allowed), and each QR code is inline SVG drawn here with segno. Everything a person or
WeChat typed is escaped by Jinja's autoescape. Pages are cut server-side, so a page always holds
whole cards, the header repeats on every page, and the page count is known: ceil(cards / 8).
"""

import base64
import hashlib
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from pathlib import Path

import segno
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from markupsafe import Markup

TEMPLATES = Path(__file__).parent / "templates"
CARDS_PER_PAGE = 8  # 2 columns x 4 rows of 95 x 64 mm on A4
STYLESHEET = (TEMPLATES / "sheet.css").read_text(encoding="utf-8")
STYLE_SHA256 = base64.b64encode(hashlib.sha256(STYLESHEET.encode("utf-8")).digest()).decode("ascii")

_env = Environment(
    loader=FileSystemLoader(TEMPLATES),
    autoescape=select_autoescape(["html"], default_for_string=True, default=True),
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)


@dataclass(frozen=True)
class Card:
    """One card: who, the code to type, the words to send (may be empty), the QR code or why not."""

    name: str
    details: tuple[str, ...]
    code_label: str
    code: str
    words_label: str
    words: str
    qr_svg: Markup | None
    qr_caption: str
    note: str
    failed: bool


@dataclass(frozen=True)
class Sheet:
    """A sheet's cards and what its header says."""

    kind: str
    heading: str
    printed_on: date
    instructions: str
    notice: str
    empty_text: str
    cards: list[Card]


@dataclass(frozen=True)
class RenderedSheet:
    """The page's HTML and the base64 SHA-256 digest of its one inline <style> block (for the CSP)."""

    html: str
    style_sha256: str
    pages: int


@lru_cache(maxsize=4096)
def qr_svg(content) -> Markup:
    """`content` as a QR code in inline SVG (no size: the stylesheet sizes it; quiet zone included).

    Kept per process: segno tries all eight masks to choose the most legible one, ~5 ms a code on
    a quiet machine, and a reprint draws the same stored contents again."""
    code = segno.make(content, error="m", micro=False)
    return Markup(code.svg_inline(scale=1, border=4, omitsize=True, svgclass="qr-code", lineclass=None))


def render(sheet) -> RenderedSheet:
    """The printable page of `sheet`."""
    pages = [sheet.cards[i : i + CARDS_PER_PAGE] for i in range(0, len(sheet.cards), CARDS_PER_PAGE)] or [[]]
    html = _env.get_template("sheet.html").render(
        sheet=sheet,
        pages=pages,
        printed_on=f"{sheet.printed_on.year}年{sheet.printed_on.month}月{sheet.printed_on.day}日",
        stylesheet=Markup(STYLESHEET),
    )
    return RenderedSheet(html=html, style_sha256=STYLE_SHA256, pages=len(pages))
