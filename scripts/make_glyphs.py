"""Render the bundled glyph data set ``src/xbarmem/data/datasets/glyphs.npz`` (run once, offline).

    python scripts/make_glyphs.py            # writes src/xbarmem/data/datasets/glyphs.npz
    python scripts/make_glyphs.py -o FILE

The 62 characters A-Z, a-z, 0-9 are drawn in each text font that ships in matplotlib's own
``mpl-data/fonts/ttf`` folder (``FONTS``: DejaVu Sans / Sans Mono / Serif and STIX General in
four styles each, five Computer Modern text faces; symbol, math, display and fallback fonts are
left out). All glyphs of a font share one scale and one baseline, so case and size survive ('o'
is smaller than 'O', 'a' sits low and 'l' is tall): the font's frame is the union of the 62
glyph outlines (``matplotlib.textpath.TextPath``) drawn on a common baseline, from the lowest
descender to the highest ascender, and as wide as the widest glyph; it is scaled (aspect kept)
to fit the whole 28 x 28 image, with no margin, its rows centred on the image (``font_frame``;
unlike MNIST, whose digits fit a 20 x 20 box, so that small sides keep more detail). Each
glyph keeps the font's baseline (vertical position) and is centred horizontally by its own
bounding box, then filled by the Agg rasteriser with anti-aliasing; the pixel is the covered
fraction, 0 (background) .. 255 (ink). The output depends only on the fonts and on matplotlib's
rasteriser (its version is printed).

Arrays written (``np.savez_compressed``, no object arrays): ``images`` uint8 ``(P, 28, 28)``,
``labels`` int64 ``(P,)`` (index into ``characters``), ``fonts`` int64 ``(P,)`` (index into
``font_names``), ``font_names`` str ``(F,)`` (font file names without ``.ttf``),
``characters`` str ``(62,)``; ordered by font, then character (``P = 62 F``).
"""

from __future__ import annotations

import argparse
import functools
import string
from pathlib import Path

import matplotlib
import numpy as np
from matplotlib.backends.backend_agg import RendererAgg
from matplotlib.font_manager import FontProperties
from matplotlib.ft2font import FT2Font
from matplotlib.textpath import TextPath
from matplotlib.transforms import Affine2D

ROOT = Path(__file__).resolve().parents[1]
OUT = Path("src/xbarmem/data/datasets/glyphs.npz")
CHARACTERS = string.ascii_uppercase + string.ascii_lowercase + string.digits
#: text fonts of mpl-data/fonts/ttf, in the order written (file names without ``.ttf``)
FONTS = (
    "DejaVuSans", "DejaVuSans-Bold", "DejaVuSans-Oblique", "DejaVuSans-BoldOblique",
    "DejaVuSansMono", "DejaVuSansMono-Bold", "DejaVuSansMono-Oblique",
    "DejaVuSansMono-BoldOblique",
    "DejaVuSerif", "DejaVuSerif-Bold", "DejaVuSerif-Italic", "DejaVuSerif-BoldItalic",
    "STIXGeneral", "STIXGeneralBol", "STIXGeneralItalic", "STIXGeneralBolIta",
    "cmr10", "cmb10", "cmti10", "cmss10", "cmtt10",
)
SIDE = 28  # image side in pixels; a font's frame is scaled to fit the whole image


def _outline(font: Path, char: str) -> TextPath:
    """The outline of ``char`` in ``font`` at 100 units per em, baseline at y = 0."""
    return TextPath((0, 0), char, size=100, prop=FontProperties(fname=font))


@functools.cache
def font_frame(font: Path) -> tuple[float, float]:
    """``(scale, baseline)`` shared by all glyphs of ``font``: pixels per outline unit, so that
    the font's frame (lowest descender to highest ascender over ``CHARACTERS``, and the widest
    glyph) fits the whole ``SIDE`` x ``SIDE`` image (no margin), and the baseline's height in
    pixels above the image's bottom edge, so that the frame's rows are centred on the image."""
    boxes = [_outline(font, c).get_extents() for c in CHARACTERS]
    bottom, top = min(b.y0 for b in boxes), max(b.y1 for b in boxes)
    scale = SIDE / max(top - bottom, max(b.width for b in boxes))
    return scale, SIDE / 2 - scale * (bottom + top) / 2


def render(font: Path, char: str) -> np.ndarray:
    """One glyph of ``font`` as a uint8 ``(28, 28)`` image, anti-aliased coverage 0..255: at the
    font's common scale and on its baseline (``font_frame``), centred horizontally by the
    glyph's own bounding box."""
    path = _outline(font, char)
    box = path.get_extents()
    scale, baseline = font_frame(font)
    to_pixels = (Affine2D().translate(-(box.x0 + box.x1) / 2, 0)
                 .scale(scale).translate(SIDE / 2, baseline))
    canvas = RendererAgg(SIDE, SIDE, 72)
    gc = canvas.new_gc()
    gc.set_linewidth(0)
    gc.set_antialiased(True)
    gc.set_snap(False)
    canvas.draw_path(gc, path, to_pixels, (1.0, 1.0, 1.0))
    return np.asarray(canvas.buffer_rgba())[:, :, 3].copy()  # alpha = covered fraction


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-o", "--out", type=Path, default=ROOT / OUT,
                        help=f"output file (default {OUT})")
    out = parser.parse_args().out
    folder = Path(matplotlib.get_data_path()) / "fonts" / "ttf"
    images = []
    for name in FONTS:
        font = folder / f"{name}.ttf"
        missing = [c for c in CHARACTERS if ord(c) not in FT2Font(str(font)).get_charmap()]
        if missing:
            raise SystemExit(f"font {name} has no glyph for {''.join(missing)!r}")
        images += [render(font, c) for c in CHARACTERS]
    n_chars = len(CHARACTERS)
    arrays = {
        "images": np.stack(images).astype(np.uint8),
        "labels": np.tile(np.arange(n_chars, dtype=np.int64), len(FONTS)),
        "fonts": np.repeat(np.arange(len(FONTS), dtype=np.int64), n_chars),
        "font_names": np.array(FONTS, dtype=str),
        "characters": np.array(list(CHARACTERS), dtype=str),
    }
    np.savez_compressed(out, **arrays)
    print(f"wrote {out}: {len(images)} glyphs ({len(FONTS)} fonts x {n_chars} characters), "
          f"{out.stat().st_size} bytes, matplotlib {matplotlib.__version__}")


if __name__ == "__main__":
    main()
