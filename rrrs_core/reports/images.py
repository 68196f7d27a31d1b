"""Charts in the PDFs: the app's Altair charts rendered offline by vl-convert and placed as images.

Each chart is rendered once at `CHART_SCALE` (2 PNG pixels per CSS pixel, 144 dpi at one CSS pixel per
point) and recent renders are kept, so a report generated again reuses them. Images are placed at one
point per CSS pixel, shrunk (never enlarged) to the frame, and may shrink a little more to use the space
left on a page.
"""

from __future__ import annotations

import hashlib
import io
import json
import struct
import threading
from collections import OrderedDict
from typing import Any

import altair as alt
import vl_convert as vlc
from PIL import Image as PILImage
from reportlab.lib.utils import ImageReader
from reportlab.platypus import Flowable

from rrrs_core.reports import layout as lay

CHART_SCALE = 2.0       # PNG pixels per CSS pixel: sharp in print, still quick to render
MAX_CHART_HEIGHT = lay.FRAME_HEIGHT - 40

_png_cache: OrderedDict[str, bytes] = OrderedDict()
_png_lock = threading.Lock()
PNG_CACHE_SIZE = 32     # recent chart images kept per process (~0.1-0.6 MB each)


def render_png(chart_: alt.TopLevelMixin, scale: float = CHART_SCALE,
               config: dict[str, dict[str, Any]] | None = None) -> bytes:
    """Offline PNG of an Altair chart (vl-convert bundles Vega), rendered once per distinct spec.

    Same as `charts.render.to_png` but skips Altair's schema validation (0.03-0.14 s per chart; the
    builders are validated by their own tests and by the app) and keeps the last `PNG_CACHE_SIZE`
    images, so a report generated again (another user, another minute, a page rerun) reuses them.
    `config` entries (e.g. {"legend": {"columns": 4}}) are merged into the spec's config for print only.
    """
    spec = chart_.to_dict(validate=False)
    for key, values in (config or {}).items():
        spec.setdefault("config", {}).setdefault(key, {}).update(values)
    key = hashlib.sha256(json.dumps([spec, scale], sort_keys=True, default=str).encode()).hexdigest()
    with _png_lock:
        if key in _png_cache:
            _png_cache.move_to_end(key)
            return _png_cache[key]
    png = vlc.vegalite_to_png(spec, scale=scale)
    with _png_lock:
        _png_cache[key] = png
        while len(_png_cache) > PNG_CACHE_SIZE:
            _png_cache.popitem(last=False)
    return png


def png_size(png: bytes) -> tuple[int, int]:
    """Pixel width and height from the PNG header."""
    if png[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError("not a PNG image")
    width, height = struct.unpack(">II", png[16:24])
    return int(width), int(height)


class ChartImage(Flowable):
    """A raster chart at a fixed aspect ratio that may shrink (to `min_fraction`) to use the space left
    on a page instead of leaving it blank. The PNG is flattened to RGB: vl-convert writes RGBA, and
    ReportLab would otherwise embed the (all-opaque) alpha channel as a second image."""

    def __init__(self, png: bytes, width: float, height: float, min_fraction: float = 0.8) -> None:
        super().__init__()
        with PILImage.open(io.BytesIO(png)) as im:
            im.load()
            if im.mode == "RGBA" and im.getextrema()[3] == (255, 255):
                im = im.convert("RGB")        # opaque (vl-convert paints a white background)
            elif im.mode != "RGB":
                background = PILImage.new("RGBA", im.size, (255, 255, 255, 255))
                im = PILImage.alpha_composite(background, im.convert("RGBA")).convert("RGB")
            self._reader = ImageReader(im)
        self.full_width, self.full_height = width, height
        self.width, self.height = width, height
        self.min_fraction = min_fraction
        self.hAlign = "LEFT"

    def wrap(self, availWidth: float, availHeight: float) -> tuple[float, float]:  # noqa: N803
        k = 1.0
        if self.full_height > availHeight >= self.full_height * self.min_fraction:
            k = availHeight / self.full_height
        self.width, self.height = self.full_width * k, self.full_height * k
        return self.width, self.height

    def draw(self) -> None:
        self.canv.drawImage(self._reader, 0, 0, self.width, self.height)


def image(png: bytes, scale: float = CHART_SCALE, max_width: float = lay.FRAME_WIDTH,
          max_height: float = MAX_CHART_HEIGHT) -> ChartImage:
    """A PNG placed at one point per CSS pixel, shrunk (never enlarged) to fit the frame."""
    w_px, h_px = png_size(png)
    w, h = w_px / scale, h_px / scale
    k = min(1.0, max_width / w, max_height / h)
    return ChartImage(png, w * k, h * k)


def chart(chart_: alt.TopLevelMixin, *, max_height: float = MAX_CHART_HEIGHT,
          config: dict[str, dict[str, Any]] | None = None) -> ChartImage:
    """Render a chart once and place it."""
    return image(render_png(chart_, config=config), max_height=max_height)
