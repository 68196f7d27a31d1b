"""Vector figures drawn straight onto the page canvas: the session timelines and the segment strip.

ReportLab's graphics `Drawing` builds a validated shape object per rectangle and renders each through a
state-tracking walker, ~0.1 ms a shape; a 30-session dyad report has ~1,800 of them (0.15-0.2 s). A
`Sketch` records plain tuples and replays them as canvas operators, setting a colour, width or dash only
when it changes. Coordinates are points from the figure's bottom-left corner, as in a Drawing.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

from reportlab.lib import colors
from reportlab.platypus import Flowable

Colour = colors.Color


class Box(NamedTuple):
    x: float
    y: float
    width: float
    height: float
    fill: Colour | None
    stroke: Colour | None
    stroke_width: float
    dash: tuple[float, ...] | None


class Rule(NamedTuple):
    x1: float
    y1: float
    x2: float
    y2: float
    colour: Colour
    width: float


class Label(NamedTuple):
    x: float
    y: float
    text: str
    font: str
    size: float
    colour: Colour
    anchor: str          # "start", "middle" or "end", as in a Drawing's String


class Sketch(Flowable):
    """A fixed-size figure of boxes, rules and labels, drawn in the order they were added."""

    def __init__(self, width: float, height: float) -> None:
        super().__init__()
        self.width, self.height = width, height
        self.items: list[Box | Rule | Label] = []
        self.hAlign = "LEFT"

    def box(self, x: float, y: float, width: float, height: float, fill: Colour | None = None,
            stroke: Colour | None = None, stroke_width: float = 1.0,
            dash: Sequence[float] | None = None) -> None:
        self.items.append(Box(x, y, width, height, fill, stroke, stroke_width, tuple(dash) if dash else None))

    def rule(self, x1: float, y1: float, x2: float, y2: float, colour: Colour, width: float = 0.5) -> None:
        self.items.append(Rule(x1, y1, x2, y2, colour, width))

    def label(self, x: float, y: float, text: str, font: str, size: float,
              colour: Colour = colors.black, anchor: str = "start") -> None:
        self.items.append(Label(x, y, text, font, size, colour, anchor))

    def texts(self) -> list[str]:
        return [i.text for i in self.items if isinstance(i, Label)]

    def boxes(self) -> list[Box]:
        return [i for i in self.items if isinstance(i, Box)]

    def wrap(self, availWidth: float, availHeight: float) -> tuple[float, float]:  # noqa: N803
        return self.width, self.height

    def draw(self) -> None:
        c = self.canv
        c.saveState()
        unknown = object()
        fill: object = unknown
        stroke: object = unknown
        width: object = unknown
        dash: object = unknown
        font: object = unknown
        say = {"start": c.drawString, "middle": c.drawCentredString, "end": c.drawRightString}

        def pen(colour: Colour, line_width: float, pattern: tuple[float, ...] | None) -> None:
            nonlocal stroke, width, dash
            if colour != stroke:
                c.setStrokeColor(colour)
                stroke = colour
            if line_width != width:
                c.setLineWidth(line_width)
                width = line_width
            if pattern != dash:
                c.setDash(list(pattern) if pattern else [])
                dash = pattern

        for item in self.items:
            if isinstance(item, Box):
                if item.fill is not None and item.fill != fill:
                    c.setFillColor(item.fill)
                    fill = item.fill
                if item.stroke is not None:
                    pen(item.stroke, item.stroke_width, item.dash)
                c.rect(item.x, item.y, item.width, item.height, stroke=int(item.stroke is not None),
                       fill=int(item.fill is not None))
            elif isinstance(item, Rule):
                pen(item.colour, item.width, None)
                c.line(item.x1, item.y1, item.x2, item.y2)
            else:
                if item.colour != fill:
                    c.setFillColor(item.colour)
                    fill = item.colour
                if (item.font, item.size) != font:
                    c.setFont(item.font, item.size)
                    font = (item.font, item.size)
                say[item.anchor](item.x, item.y, item.text)
        c.restoreState()
