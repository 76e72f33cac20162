"""Label templates: sheet and roll geometry as data, in millimetres.

A template says where every label sits on a page (``margin_mm`` is the top-left corner
of the first label, ``pitch_mm`` the distance from one label's corner to the next),
where the QR symbol sits within a label (``qr_center_mm``, ``qr_size_mm``: the side of
the square kept for the symbol *including* its 4-module quiet zone), the safe area
(``safe_mm``: an inset inside each label's edges that no ink enters; the QR square and
the text box lie inside it), and a per-printer calibration: every position ``p`` on the
page is printed at ``p * scale + shift_mm``. Sizes are not scaled (a QR module is a
whole number of printer dots).

The safe inset defaults to 3 mm on edge-to-edge stock (a label edge on the page edge or
on its neighbour's: office printers leave a few millimetres of the sheet unprinted, die
cuts and roll feeds wander by a millimetre or so) and to 1.5 mm on labels with gaps all
round; a user template may set its own.

Labels are filled row by row, left to right, top to bottom.

Users add templates from a TOML or JSON file (``--templates FILE`` or the
``LOYALCODE_TEMPLATES`` environment variable)::

    [[templates]]
    name = "a4-3x8-office"      # a new name, or a built-in name to override it
    extends = "a4-3x8"          # optional: start from a known template
    shift_mm = [0.4, -0.3]
    scale = [1.002, 0.998]

>>> get_template("a4-3x8").label_mm
(70.0, 37.0)
>>> get_template("a4-3x8").qr_size_mm
31.0
>>> get_template("a4-3x8").safe_mm
3.0
"""

from __future__ import annotations

import json
import math
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from loyalcode.printing.errors import TemplateFileError, TemplateInvalid, TemplateNotFound

#: Safe inset of labels with gaps all round, in mm (die-cut tolerance).
LABEL_PADDING_MM = 1.5
#: Safe inset of edge-to-edge stock, in mm.
EDGE_TO_EDGE_SAFE_MM = 3.0
#: Space between the QR square and the text box, in mm.
_GAP_MM = 0.75
#: Environment variable naming a user template file.
TEMPLATES_ENV = "LOYALCODE_TEMPLATES"
_EPS = 1e-6


Pair = tuple[float, float]
Box = tuple[float, float, float, float]
NO_BOX: Box = (0.0, 0.0, 0.0, 0.0)


@dataclass(frozen=True, slots=True)
class Template:
    """One label stock: page, grid, QR placement and calibration, all in mm."""

    name: str
    page_mm: Pair
    label_mm: Pair
    rows: int
    columns: int
    margin_mm: Pair
    pitch_mm: Pair
    qr_center_mm: Pair
    qr_size_mm: float
    shift_mm: Pair = (0.0, 0.0)
    scale: Pair = (1.0, 1.0)
    description: str = ""
    text_box_mm: tuple[float, float, float, float] = field(default=(0.0, 0.0, 0.0, 0.0))
    """Box for the human-readable text within a label: (x, y, width, height)."""
    safe_mm: float = EDGE_TO_EDGE_SAFE_MM
    """Inset inside each label's edges that no ink enters."""
    outer_box_mm: Box = NO_BOX
    """Unit labels: the region for the outer code (the visible serial as a DataMatrix),
    outside the scratch-off area (the QR square and the text box); none if all zero."""
    barcode_box_mm: Box = NO_BOX
    """Case and pallet (SSCC) labels: the region of the GS1-128 barcode, its quiet zones
    and its human-readable line; a template with one is a logistic template."""

    @property
    def logistic(self) -> bool:
        """Whether this is a case and pallet (SSCC) label template."""
        return self.barcode_box_mm[2] > 0

    @property
    def has_outer_code(self) -> bool:
        """Whether the template declares a region for a unit's outer code."""
        return self.outer_box_mm[2] > 0

    @property
    def labels_per_page(self) -> int:
        return self.rows * self.columns

    def label_origin_mm(self, index: int) -> Pair:
        """Uncalibrated top-left corner of label ``index`` (0-based on its page)."""
        row, col = divmod(index, self.columns)
        return (
            self.margin_mm[0] + col * self.pitch_mm[0],
            self.margin_mm[1] + row * self.pitch_mm[1],
        )

    def place_mm(self, x: float, y: float) -> Pair:
        """Where the printer is asked to put the page point (x, y): calibration applied."""
        return (x * self.scale[0] + self.shift_mm[0], y * self.scale[1] + self.shift_mm[1])

    def qr_center_on_page_mm(self, index: int) -> Pair:
        """Calibrated centre of the QR symbol of label ``index`` on its page."""
        ox, oy = self.label_origin_mm(index)
        return self.place_mm(ox + self.qr_center_mm[0], oy + self.qr_center_mm[1])

    def safe_box_mm(self) -> tuple[float, float, float, float]:
        """The safe area within a label: (x, y, width, height)."""
        s = self.safe_mm
        return (s, s, self.label_mm[0] - 2 * s, self.label_mm[1] - 2 * s)

    def to_dict(self) -> dict[str, Any]:
        """The ``loyalcode templates --json`` shape (DESIGN.md contract plus extras)."""
        return {
            "name": self.name,
            "page_mm": list(self.page_mm),
            "label_mm": list(self.label_mm),
            "rows": self.rows,
            "columns": self.columns,
            "margin_mm": list(self.margin_mm),
            "pitch_mm": list(self.pitch_mm),
            "qr_center_mm": list(self.qr_center_mm),
            "qr_size_mm": self.qr_size_mm,
            "shift_mm": list(self.shift_mm),
            "scale": list(self.scale),
            "safe_mm": self.safe_mm,
            "text_box_mm": list(self.text_box_mm),
            "outer_box_mm": list(self.outer_box_mm) if self.has_outer_code else None,
            "barcode_box_mm": list(self.barcode_box_mm) if self.logistic else None,
            "labels_per_page": self.labels_per_page,
            "description": self.description,
        }


def edge_to_edge(t: Template) -> bool:
    """Whether some label edge lies on the page edge or on a neighbour's edge."""
    right = t.margin_mm[0] + (t.columns - 1) * t.pitch_mm[0] + t.label_mm[0]
    bottom = t.margin_mm[1] + (t.rows - 1) * t.pitch_mm[1] + t.label_mm[1]
    touching = 0.5  # mm: closer than this is one edge
    return (
        min(t.margin_mm) < touching
        or t.page_mm[0] - right < touching or t.page_mm[1] - bottom < touching
        or (t.columns > 1 and t.pitch_mm[0] - t.label_mm[0] < touching)
        or (t.rows > 1 and t.pitch_mm[1] - t.label_mm[1] < touching)
    )


def auto_layout(label_mm: Pair, safe_mm: float = LABEL_PADDING_MM
                ) -> tuple[Pair, float, tuple[float, float, float, float]]:
    """Default QR placement and text box for a label size, inside the safe inset.

    Wide labels get the QR on the left and the text on the right; tall ones the QR on
    top and the text below. The text column keeps at least 30 % of the label.
    """
    return _auto_layout(label_mm, safe_mm)


def outer_strip(text_box: Box, height_mm: float) -> tuple[Box, Box]:
    """``text_box`` split for an outer code: (the text box above, the outer box of
    ``height_mm`` at the bottom of the text column)."""
    x, y, w, h = text_box
    top = (x, y, w, _r(h - height_mm - _GAP_MM))
    return top, (x, _r(y + h - height_mm), w, _r(height_mm))


def _auto_layout(label_mm: Pair, safe_mm: float) -> tuple[Pair, float, tuple[float, float, float, float]]:
    w, h = label_mm
    p = safe_mm
    if w >= h:
        side = min(h - 2 * p, w * 0.62)
        qr_center = (p + side / 2, h / 2)
        tx = p + side + _GAP_MM
        text_box = (tx, p, w - p - tx, h - 2 * p)
    else:
        side = min(w - 2 * p, h * 0.62)
        qr_center = (w / 2, p + side / 2)
        ty = p + side + _GAP_MM
        text_box = (p, ty, w - 2 * p, h - p - ty)
    return (_r(qr_center[0]), _r(qr_center[1])), _r(side), tuple(_r(v) for v in text_box)  # type: ignore[return-value]


def _r(value: float) -> float:
    return round(value, 3)


def make_template(
    name: str,
    *,
    page_mm: Pair,
    label_mm: Pair,
    rows: int,
    columns: int,
    margin_mm: Pair,
    pitch_mm: Pair | None = None,
    qr_center_mm: Pair | None = None,
    qr_size_mm: float | None = None,
    text_box_mm: tuple[float, float, float, float] | None = None,
    shift_mm: Pair = (0.0, 0.0),
    scale: Pair = (1.0, 1.0),
    description: str = "",
    safe_mm: float | None = None,
    outer_box_mm: Box | None = None,
    outer_strip_mm: float | None = None,
    barcode_box_mm: Box | None = None,
) -> Template:
    """Build and validate a template; missing QR/text placement comes from :func:`auto_layout`
    and a missing safe inset from the stock (see :func:`edge_to_edge`)."""
    template = Template(
        name=name, page_mm=page_mm, label_mm=label_mm, rows=rows, columns=columns,
        margin_mm=margin_mm, pitch_mm=pitch_mm if pitch_mm is not None else label_mm,
        qr_center_mm=(0.0, 0.0), qr_size_mm=0.0,
    )
    if safe_mm is None:
        safe_mm = EDGE_TO_EDGE_SAFE_MM if edge_to_edge(template) else LABEL_PADDING_MM
    auto_center, auto_size, auto_box = auto_layout(label_mm, safe_mm)
    if outer_strip_mm is not None:
        auto_box, outer_box_mm = outer_strip(text_box_mm or auto_box, outer_strip_mm)
        text_box_mm = None
    template = Template(
        name=name,
        page_mm=page_mm,
        label_mm=label_mm,
        rows=rows,
        columns=columns,
        margin_mm=margin_mm,
        pitch_mm=pitch_mm if pitch_mm is not None else label_mm,
        qr_center_mm=qr_center_mm if qr_center_mm is not None else auto_center,
        qr_size_mm=qr_size_mm if qr_size_mm is not None else auto_size,
        text_box_mm=text_box_mm if text_box_mm is not None else auto_box,
        shift_mm=shift_mm,
        scale=scale,
        description=description,
        safe_mm=safe_mm,
        outer_box_mm=outer_box_mm or NO_BOX,
        barcode_box_mm=barcode_box_mm or NO_BOX,
    )
    validate(template)
    return template


def validate(t: Template) -> None:
    """Raise :class:`TemplateInvalid` unless every label fits its page and the QR its label."""

    def bad(reason: str) -> TemplateInvalid:
        return TemplateInvalid(name=t.name, reason=reason)

    numbers = [*t.page_mm, *t.label_mm, *t.margin_mm, *t.pitch_mm, *t.qr_center_mm,
               t.qr_size_mm, *t.shift_mm, *t.scale, *t.text_box_mm, t.safe_mm,
               *t.outer_box_mm, *t.barcode_box_mm]
    if not all(isinstance(v, (int, float)) and math.isfinite(v) for v in numbers):
        raise bad("every size must be a finite number of millimetres")
    if not t.name or not isinstance(t.name, str):
        raise bad("a template needs a name")
    if min(*t.page_mm, *t.label_mm) <= 0:
        raise bad("page and label sizes must be positive")
    if not (isinstance(t.rows, int) and isinstance(t.columns, int)) or t.rows < 1 or t.columns < 1:
        raise bad("rows and columns must be whole numbers of at least 1")
    if min(t.margin_mm) < 0:
        raise bad("margins cannot be negative")
    if t.columns > 1 and t.pitch_mm[0] < t.label_mm[0] - _EPS:
        raise bad(f"horizontal pitch {t.pitch_mm[0]} mm is less than the label width {t.label_mm[0]} mm")
    if t.rows > 1 and t.pitch_mm[1] < t.label_mm[1] - _EPS:
        raise bad(f"vertical pitch {t.pitch_mm[1]} mm is less than the label height {t.label_mm[1]} mm")
    if not (0.9 <= t.scale[0] <= 1.1 and 0.9 <= t.scale[1] <= 1.1):
        raise bad("calibration scale must be between 0.9 and 1.1")
    right = t.margin_mm[0] + (t.columns - 1) * t.pitch_mm[0] + t.label_mm[0]
    bottom = t.margin_mm[1] + (t.rows - 1) * t.pitch_mm[1] + t.label_mm[1]
    if right > t.page_mm[0] + 1e-3 or bottom > t.page_mm[1] + 1e-3:
        raise bad(
            f"{t.rows}x{t.columns} labels of {t.label_mm[0]}x{t.label_mm[1]} mm end at "
            f"{right:.2f}x{bottom:.2f} mm, outside the {t.page_mm[0]}x{t.page_mm[1]} mm page"
        )
    if t.safe_mm < 0 or 2 * t.safe_mm >= min(t.label_mm):
        raise bad(f"the safe inset {t.safe_mm} mm leaves no room inside a "
                  f"{t.label_mm[0]}x{t.label_mm[1]} mm label")
    half = t.qr_size_mm / 2
    cx, cy = t.qr_center_mm
    if t.qr_size_mm <= 0 or cx - half < -1e-3 or cy - half < -1e-3 \
            or cx + half > t.label_mm[0] + 1e-3 or cy + half > t.label_mm[1] + 1e-3:
        raise bad("the QR square does not fit inside the label")
    s = t.safe_mm
    safe_x0, safe_y0, safe_x1, safe_y1 = s, s, t.label_mm[0] - s, t.label_mm[1] - s
    if cx - half < safe_x0 - 1e-3 or cy - half < safe_y0 - 1e-3 \
            or cx + half > safe_x1 + 1e-3 or cy + half > safe_y1 + 1e-3:
        raise bad(f"the QR square reaches into the {s} mm safe inset of the label")
    bx, by, bw, bh = t.text_box_mm
    if bw <= 0 or bh <= 0 or bx < safe_x0 - 1e-3 or by < safe_y0 - 1e-3 \
            or bx + bw > safe_x1 + 1e-3 or by + bh > safe_y1 + 1e-3:
        raise bad(f"the text box is not inside the {s} mm safe area of the label")
    for name, box in (("outer code box", t.outer_box_mm), ("barcode box", t.barcode_box_mm)):
        if box == NO_BOX:
            continue
        x, y, w, h = box
        if w <= 0 or h <= 0 or x < safe_x0 - 1e-3 or y < safe_y0 - 1e-3 \
                or x + w > safe_x1 + 1e-3 or y + h > safe_y1 + 1e-3:
            raise bad(f"the {name} is not inside the {s} mm safe area of the label")
        qr_box = (cx - half, cy - half, t.qr_size_mm, t.qr_size_mm)
        if _overlap(box, qr_box) or (name == "outer code box" and _overlap(box, t.text_box_mm)):
            raise bad(f"the {name} overlaps the QR square or the text box"
                      + (" (the scratch-off area)" if name == "outer code box" else ""))
    if t.logistic and t.has_outer_code:
        raise bad("a case or pallet label has a barcode box, a unit label an outer code box: not both")
    # Calibration must not push any ink (inside the labels' safe areas) off the page.
    p = s
    for x, y in ((t.margin_mm[0] + p, t.margin_mm[1] + p), (right - p, bottom - p)):
        px, py = t.place_mm(x, y)
        if px < 0 or py < 0 or px > t.page_mm[0] or py > t.page_mm[1]:
            raise bad("the calibration shift/scale moves labels off the page")


def _overlap(a: Box, b: Box) -> bool:
    return (a[0] < b[0] + b[2] - 1e-3 and b[0] < a[0] + a[2] - 1e-3
            and a[1] < b[1] + b[3] - 1e-3 and b[1] < a[1] + a[3] - 1e-3)


A4 = (210.0, 297.0)
A6 = (105.0, 148.0)
FOUR_BY_SIX = (101.6, 152.4)
#: Height of the outer-code strip of the shipped ``-outer`` unit templates, in mm.
OUTER_STRIP_MM = 9.0
LETTER = (215.9, 279.4)

BUILTIN: dict[str, Template] = {
    t.name: t
    for t in (
        make_template(
            "a4-3x8", page_mm=A4, label_mm=(70.0, 37.0), rows=8, columns=3,
            margin_mm=(0.0, 0.5), description="A4 sheet, 3x8 labels of 70x37 mm, no gaps",
        ),
        make_template(
            "a4-l7160", page_mm=A4, label_mm=(63.5, 38.1), rows=7, columns=3,
            margin_mm=(7.2, 15.15), pitch_mm=(66.04, 38.1),
            description="A4 sheet, Avery L7160-style 3x7 labels of 63.5x38.1 mm",
        ),
        make_template(
            "letter-3x10", page_mm=LETTER, label_mm=(66.675, 25.4), rows=10, columns=3,
            margin_mm=(4.7625, 12.7), pitch_mm=(69.85, 25.4),
            description="US Letter sheet, 3x10 labels of 2.625x1 in (Avery 5160-style)",
        ),
        make_template(
            "roll-40x30", page_mm=(40.0, 30.0), label_mm=(40.0, 30.0), rows=1, columns=1,
            margin_mm=(0.0, 0.0), description="Roll label 40x30 mm, one label per page",
        ),
        make_template(
            "roll-50x30", page_mm=(50.0, 30.0), label_mm=(50.0, 30.0), rows=1, columns=1,
            margin_mm=(0.0, 0.0), description="Roll label 50x30 mm, one label per page",
        ),
        make_template(
            "a4-3x8-outer", page_mm=A4, label_mm=(70.0, 37.0), rows=8, columns=3,
            margin_mm=(0.0, 0.5), outer_strip_mm=OUTER_STRIP_MM,
            description="A4 sheet, 3x8 labels of 70x37 mm, with an outer code (the visible serial)",
        ),
        make_template(
            "roll-60x40-outer", page_mm=(60.0, 40.0), label_mm=(60.0, 40.0), rows=1, columns=1,
            margin_mm=(0.0, 0.0), outer_strip_mm=OUTER_STRIP_MM,
            description="Roll label 60x40 mm with an outer code (the visible serial)",
        ),
        make_template(
            "a6-sscc", page_mm=A6, label_mm=A6, rows=1, columns=1, margin_mm=(0.0, 0.0),
            text_box_mm=(3.0, 3.0, 99.0, 42.0), qr_center_mm=(52.5, 70.0), qr_size_mm=46.0,
            barcode_box_mm=(3.0, 96.0, 99.0, 49.0),
            description="A6 case and pallet label: GS1-128 SSCC, Digital Link QR, contents",
        ),
        make_template(
            "4x6-sscc", page_mm=FOUR_BY_SIX, label_mm=FOUR_BY_SIX, rows=1, columns=1,
            margin_mm=(0.0, 0.0), text_box_mm=(3.0, 3.0, 95.6, 44.0), qr_center_mm=(50.8, 72.0),
            qr_size_mm=46.0, barcode_box_mm=(3.0, 98.0, 95.6, 51.4),
            description="4x6 in thermal case and pallet label: GS1-128 SSCC, Digital Link QR, contents",
        ),
    )
}

_FIELDS = {f.name for f in fields(Template)}
_PAIRS = {"page_mm", "label_mm", "margin_mm", "pitch_mm", "qr_center_mm", "shift_mm", "scale"}


def _from_mapping(raw: Mapping[str, Any], known: Mapping[str, Template]) -> Template:
    name = raw.get("name")
    if not isinstance(name, str) or not name:
        raise TemplateInvalid(name=str(name), reason="every template needs a 'name'")
    unknown = set(raw) - _FIELDS - {"extends", "labels_per_page"}
    if unknown:
        raise TemplateInvalid(name=name, reason=f"unknown field(s) {', '.join(sorted(unknown))}")
    values: dict[str, Any] = {}
    try:
        for key, value in raw.items():
            if key in ("extends", "labels_per_page", "name"):
                continue
            if key in _PAIRS:
                if not isinstance(value, (list, tuple)) or len(value) != 2:
                    raise ValueError(f"{key} must be a pair of numbers")
                values[key] = (float(value[0]), float(value[1]))
            elif key in ("text_box_mm", "outer_box_mm", "barcode_box_mm"):
                if not isinstance(value, (list, tuple)) or len(value) != 4:
                    raise ValueError(f"{key} must be [x, y, width, height]")
                values[key] = tuple(float(v) for v in value)
            elif key in ("rows", "columns"):
                if isinstance(value, bool) or not isinstance(value, int):
                    raise ValueError(f"{key} must be a whole number")
                values[key] = value
            elif key in ("qr_size_mm", "safe_mm"):
                if isinstance(value, bool) or not isinstance(value, (int, float)):
                    raise ValueError(f"{key} must be a number of millimetres")
                values[key] = float(value)
            else:
                values[key] = str(value)
    except (TypeError, ValueError) as exc:
        raise TemplateInvalid(name=name, reason=str(exc)) from None
    base_name = raw.get("extends")
    if base_name is not None:
        if base_name not in known:
            raise TemplateNotFound(name=base_name, known=", ".join(sorted(known)))
        base = known[base_name]
        placed = {"qr_center_mm", "qr_size_mm", "text_box_mm"} & set(values)
        if not placed and ({"label_mm", "safe_mm"} & set(values)):
            # A new label size or inset without a placement of its own: lay it out anew.
            center, size, box = auto_layout(values.get("label_mm", base.label_mm),
                                            values.get("safe_mm", base.safe_mm))
            values.update(qr_center_mm=center, qr_size_mm=size, text_box_mm=box)
        template = replace(base, name=name, **values)
        validate(template)
        return template
    required = {"page_mm", "label_mm", "rows", "columns", "margin_mm"} - set(values)
    if required:
        raise TemplateInvalid(name=name, reason=f"missing field(s) {', '.join(sorted(required))}")
    return make_template(name, **values)


def load_template_file(path: str | os.PathLike[str], known: Mapping[str, Template] | None = None
                       ) -> dict[str, Template]:
    """Templates from a TOML (``[[templates]]``) or JSON (``{"templates": [...]}`` or a list) file."""
    path = Path(path)
    known = dict(BUILTIN if known is None else known)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise TemplateFileError(path=str(path), reason=exc.strerror or str(exc)) from None
    try:
        if path.suffix.lower() == ".json":
            data: Any = json.loads(text)
        else:
            data = tomllib.loads(text)
    except (ValueError, tomllib.TOMLDecodeError) as exc:
        raise TemplateFileError(path=str(path), reason=str(exc)) from None
    entries = data.get("templates") if isinstance(data, dict) else data
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        raise TemplateFileError(path=str(path), reason="expected a list of templates under 'templates'")
    loaded: dict[str, Template] = {}
    for entry in entries:
        template = _from_mapping(entry, known)
        known[template.name] = template
        loaded[template.name] = template
    return loaded


def all_templates(templates_file: str | os.PathLike[str] | None = None) -> dict[str, Template]:
    """Built-in templates plus (overridden by) those of ``templates_file`` or ``$LOYALCODE_TEMPLATES``."""
    result = dict(BUILTIN)
    source = templates_file if templates_file is not None else os.environ.get(TEMPLATES_ENV) or None
    if source is not None:
        result.update(load_template_file(source, result))
    return result


def get_template(name: str, templates_file: str | os.PathLike[str] | None = None) -> Template:
    """The template called ``name``; :class:`TemplateNotFound` if there is none."""
    known = all_templates(templates_file)
    try:
        return known[name]
    except KeyError:
        raise TemplateNotFound(name=name, known=", ".join(sorted(known))) from None
