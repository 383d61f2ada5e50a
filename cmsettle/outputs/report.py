"""pay_report.xlsx (薪酬月报表): the signed pay report, written with openpyxl, ready to print.

Sheets, in order:

1. the pay report: one row per person with every component (DATA.md order), subtotals by station and by
   project, a grand total; A4 landscape, header rows and id/name columns repeated on every page and frozen
   on screen, ``¥`` number formats;
2. sign-off: the three roles of RULEBOOK O1 (names, times, key fingerprints), empty with a red
   "草稿 DRAFT" until the month is closed; :func:`close_report` fills it in at the third signature;
3. grade changes with the rule and the figures behind them (G2-G7);
4. flags to act on (D43), with the rule ids, what to do and the figures;
5. employer costs (TX1 employer part, accident insurance);
6. inputs (table, file, rows, encoding, sha256), the run and its warnings (D44);
7. the rule set used: id, file, sha256 and every parameter with its RULEBOOK ids.

Labels and the language (zh, en or both) come from ``cmsettle/config/report.yaml``. Every text cell goes
through :func:`neutralise` (no formula injection from names or details in the inputs). The file is
byte-reproducible: workbook properties carry times passed in (the month's last day for a draft, the closing
time when closed), never the clock, and the zip is rewritten with fixed entry dates in a fixed order.
"""

from __future__ import annotations

import copy
import functools
import io
import itertools
import re
import unicodedata
import zipfile
from dataclasses import dataclass
from datetime import datetime, time, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

import yaml
from openpyxl import Workbook, load_workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE, Cell
from openpyxl.compat import safe_string
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter
from openpyxl.utils.exceptions import IllegalCharacterError
from openpyxl.worksheet.page import PageMargins
from openpyxl.worksheet.worksheet import Worksheet
from openpyxl.writer.excel import ExcelWriter
from openpyxl.xml.functions import tostring

from cmsettle import __version__
from cmsettle.compute.lines import COMPONENTS
from cmsettle.compute.settle import ManagerResult, MonthResult
from cmsettle.model import InputFile
from cmsettle.money import ZERO, fen, round4
from cmsettle.ruleset.diff import parameters, show_value
from cmsettle.ruleset.loader import LoadedRuleSet
from cmsettle.yaml_loaders import SafeLoader

REPORT_FILE = "pay_report.xlsx"
CONFIG_DIR = Path(__file__).resolve().parent.parent / "config"
CONFIG_FILE = CONFIG_DIR / "report.yaml"
LANGUAGES = ("zh", "en", "both")
LANGUAGE_TAG = "cmsettle pay report, language "  # the workbook's category: close_report keeps the language
ROLES = ("chief_accountant", "deputy_manager", "branch_manager")  # RULEBOOK O1, as in cmsettle.lifecycle
SHEETS = ("report", "signoff", "grades", "flags", "employer", "inputs", "rules")
#: characters that make a spreadsheet read a text cell as a formula (OWASP CSV injection), and tab / CR
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
HEADER_ROW = 3  # rows 1-2: title and run line; row 3: column headers; data from row 4
RED, GREY, LIGHT, DARK = "C00000", "808080", "F2F2F2", "D9D9D9"
_ZIP_DATE_MIN = (1980, 1, 1, 0, 0, 0)  # the earliest date a zip entry can carry


# ---- configuration -------------------------------------------------------------------------------

@dataclass(frozen=True)
class ReportConfig:
    """report.yaml: the language and every label of the report and the payslips."""

    data: Mapping[str, Any]

    @property
    def language(self) -> str:
        return str(self.data["language"])

    @property
    def workbook(self) -> Mapping[str, Any]:
        return self.data["workbook"]

    def pair(self, group: str, key: str) -> tuple[str, str]:
        entry = self.data[group][key]
        return str(entry["zh"]), str(entry["en"])

    def label(self, group: str, key: str, sep: str = " ") -> str:
        """The label in the configured language; ``both``: Chinese, ``sep``, English."""
        zh, en = self.pair(group, key)
        if self.language == "zh" or not en:
            return zh
        if self.language == "en" or not zh:
            return en
        return f"{zh}{sep}{en}" if zh != en else zh

    def value(self, group: str, key: str | None) -> str:
        """A code shown as a value (grade, position): one language, Chinese unless the language is en."""
        if not key:
            return ""
        if key not in self.data.get(group, {}):
            return key
        zh, en = self.pair(group, key)
        return en if self.language == "en" else zh

    def text(self, key: str, sep: str = " ") -> str:
        return self.label("text", key, sep)


def parse_config(data: Mapping[str, Any], source: str = "report.yaml") -> ReportConfig:
    """Check report.yaml: a known language, a label for every component, sheet, role and status."""
    problems = []
    if data.get("language") not in LANGUAGES:
        problems.append(f"language: {data.get('language')!r}, expected one of {', '.join(LANGUAGES)}")
    required = {"components": COMPONENTS, "sheets": SHEETS, "roles": ROLES,
                "status": ("draft", "draft_note", "closed", "closed_note", "simulated", "simulated_note")}
    for group, keys in required.items():
        for key in keys:
            entry = (data.get(group) or {}).get(key)
            if not isinstance(entry, Mapping) or not {"zh", "en"} <= set(entry):
                problems.append(f"{group}.{key}: a label with zh and en is required")
    for key in SHEETS:
        entry = (data.get("sheets") or {}).get(key) or {}
        if len(f"{entry.get('zh', '')} {entry.get('en', '')}") > 31:
            problems.append(f"sheets.{key}: a sheet name has at most 31 characters")
    if problems:
        raise ValueError(f"{source}: " + "; ".join(problems))
    return ReportConfig(data)


@functools.lru_cache(maxsize=8)
def load_config(path: Path = CONFIG_FILE) -> ReportConfig:
    with open(path, encoding="utf-8") as fh:
        return parse_config(yaml.load(fh, Loader=SafeLoader), str(path))


# ---- the guard and the facts of the run ---------------------------------------------------------------

def neutralise(text: str) -> str:
    """A text that a spreadsheet would take for a formula gets a leading apostrophe (stays text)."""
    return "'" + text if text.startswith(FORMULA_START) else text


@dataclass(frozen=True)
class RunFacts:
    """What the title lines and the sign-off sheet say about the run (also readable from manifest.json)."""

    month: str
    revision: int
    run_id: str
    pay_day: str
    rule_set_id: str
    rule_set_sha256: str
    tool_version: str = __version__

    @classmethod
    def from_manifest(cls, manifest: Mapping[str, Any]) -> "RunFacts":
        rs = manifest.get("rule_set") or {}
        return cls(str(manifest["month"]), int(manifest["revision"]), str(manifest["run_id"]),
                   str(manifest.get("pay_day", "")), str(rs.get("id", "")), str(rs.get("sha256", "")),
                   str(manifest.get("tool_version", __version__)))


@dataclass(frozen=True)
class SignOff:
    """One signature as the sign-off sheet shows it."""

    role: str
    signer: str
    signed_at: datetime
    fingerprint: str


# ---- cells and pages ------------------------------------------------------------------------------------

BORDERS = {  # the cell borders by name: thin all round (headers, sign-off), a double top line (grand total)
    "thin": Border(left=Side(style="thin", color=GREY), right=Side(style="thin", color=GREY),
                   top=Side(style="thin", color=GREY), bottom=Side(style="thin", color=GREY)),
    "double_top": Border(top=Side(style="double")),
}
#: a cell style: number format, bold, font colour, fill colour, wrap, font size, border (BORDERS), horizontal and
#: vertical alignment
_StyleKey = tuple[str | None, bool, str | None, str | None, bool, int, str | None, str | None, str]
_NUMBERS = (int, float, Decimal)
_PLAIN_NUMBERS = frozenset(_NUMBERS)  # the classes themselves, not subclasses (bool)
#: cells of a body row from a column on: the column, the values, the style numbers. Tuples of atoms, so that
#: the garbage collector stops tracking them (a report of 5,000 people holds some 300,000 cells)
_Run = tuple[int, tuple[object, ...], tuple[int, ...]]


class _Styles:
    """Each distinct cell style of one workbook, built once.

    openpyxl hashes every style object a cell is given, so a Font, Alignment and fill per cell cost far more
    than the cell; here each style is built at its first use (so fonts, fills and formats enter the workbook
    in the order they always did) and then only referred to by its number."""

    def __init__(self, font_name: str):
        self.font_name = font_name
        self.numbers: dict[_StyleKey, int] = {}
        self.objects: list[tuple[str | None, Font, PatternFill | None, Alignment, Border | None]] = []
        self.templates: list[Cell] = []  # one detached cell per style: its style_id is the style's xf
        self.wraps: list[bool] = []  # per style: wrapped text
        self.sizes: list[int] = []  # per style: the font size

    def number(self, ws: Worksheet, key: _StyleKey) -> int:
        n = self.numbers.get(key)
        if n is None:
            fmt, bold, color, fill, wrap, size, border, align, valign = key
            objects = (fmt, Font(name=self.font_name, size=size, bold=bold, color=color),
                       PatternFill("solid", start_color=fill, end_color=fill) if fill else None,
                       Alignment(wrap_text=wrap, vertical=valign, horizontal=align),
                       BORDERS[border] if border else None)
            template = WriteOnlyCell(ws)
            _apply(template, objects)
            n = self.numbers[key] = len(self.objects)
            self.objects.append(objects)
            self.templates.append(template)
            self.wraps.append(wrap)
            self.sizes.append(size)
        return n


def _apply(cell: Cell, objects: tuple) -> None:
    fmt, font, fill, alignment, border = objects
    if fmt:
        cell.number_format = fmt
    cell.font = font
    if fill:
        cell.fill = fill
    cell.alignment = alignment
    if border:
        cell.border = border


def _cell_value(value: object) -> object:
    """What openpyxl would store for ``value`` in a text or number cell (texts: at most 32,767 characters, no
    control characters); any other type is refused."""
    if isinstance(value, str):
        value = str(value)[:32767]
        if ILLEGAL_CHARACTERS_RE.search(value):
            raise IllegalCharacterError(f"{value} cannot be used in worksheets.")
        return value
    if value is None or (isinstance(value, _NUMBERS) and not isinstance(value, bool)):
        return value
    raise TypeError(f"a report cell holds a text or a number, not {type(value).__name__}: {value!r}")


class _Sheet:
    """Writes cells of one sheet with the report's fonts and formats; every text through the guard.

    With ``body=True`` (a new report) the rows below the header are not openpyxl cells: they are kept here
    (per row, runs of consecutive cells: first column, values, style numbers; and the row heights) and
    :func:`workbook_bytes` writes them into the sheet's XML, a few string operations per cell. Rows 1 to
    HEADER_ROW (title, state and header lines, which :func:`close_report` rewrites in a loaded workbook) are
    always openpyxl cells. A cell written twice takes the last value and style. Nothing here scans the sheet
    per row or per cell (openpyxl's max_row and max_column do, over every cell)."""

    def __init__(self, ws: Worksheet, cfg: ReportConfig, styles: _Styles | None = None, *, body: bool = False):
        self.ws, self.cfg = ws, cfg
        wb = cfg.workbook
        self.font_name, self.size = str(wb["font"]), int(wb["font_size"])
        self.styles = styles if styles is not None else _Styles(self.font_name)
        self.body: dict[int, tuple[_Run, ...]] | None = {} if body else None
        self.heights: dict[int, float] = {}  # body rows
        self.wrapped: set[int] = set()  # body rows with a cell in a wrapped style
        self.body_columns = 0
        self._widths: dict[int, float] = {}

    def style(self, *, fmt: str | None = None, bold: bool = False, color: str | None = None,
              fill: str | None = None, wrap: bool = False, size: int | None = None, border: str | None = None,
              align: str | None = None, valign: str = "top") -> int:
        """The number of a cell style (for :meth:`set`), built at its first use."""
        return self.styles.number(self.ws, (fmt, bold, color, fill, wrap, size or self.size, border, align,
                                            valign))

    def put(self, row: int, col: int, value: object, **style: Any) -> None:
        """One cell with the style of :meth:`style`'s arguments."""
        self.set(row, col, value, self.style(**style))

    def set(self, row: int, col: int, value: object, style: int) -> None:
        """One cell with a style number from :meth:`style`."""
        if isinstance(value, str):
            value = neutralise(value)
        if self.body is not None and row > HEADER_ROW:
            self._run(row, col, (_cell_value(value),), (style,))
            return
        cell = self.ws.cell(row=row, column=col)
        cell.value = value
        if isinstance(value, str):
            cell.data_type = "s"
        _apply(cell, self.styles.objects[style])

    def set_row(self, row: int, col: int, values: Sequence[object], styles: Sequence[int]) -> None:
        """Cells from column ``col`` on, one per value, with the style numbers in ``styles``."""
        if len(values) != len(styles):
            raise ValueError(f"{len(values)} values, {len(styles)} styles")
        if self.body is None or row <= HEADER_ROW:
            for i, (value, style) in enumerate(zip(values, styles)):
                self.set(row, col + i, value, style)
            return
        self._run(row, col, tuple([v if v.__class__ in _PLAIN_NUMBERS else _cell_value(
            neutralise(v) if isinstance(v, str) else v) for v in values]), tuple(styles))

    def _run(self, row: int, col: int, values: tuple[object, ...], styles: tuple[int, ...]) -> None:
        assert self.body is not None
        self.body[row] = self.body.get(row, ()) + ((col, values, styles),)
        self.body_columns = max(self.body_columns, col + len(values) - 1)
        if any(map(self.styles.wraps.__getitem__, styles)):
            self.wrapped.add(row)

    def cells(self, row: int) -> Sequence[_Run]:
        """A body row as runs in column order, none overlapping (a cell written twice: the last one)."""
        assert self.body is not None
        runs = self.body.get(row, ())
        if len(runs) < 2:
            return runs
        ordered = sorted(runs, key=lambda run: run[0])
        if all(a[0] + len(a[1]) <= b[0] for a, b in zip(ordered, ordered[1:])):
            return ordered
        cells: dict[int, tuple[object, int]] = {}
        for col, values, styles in runs:  # in the order written
            for c, value, style in zip(itertools.count(col), values, styles):
                cells[c] = (value, style)
        return [(c, (cells[c][0],), (cells[c][1],)) for c in sorted(cells)]

    def height(self, row: int, height: float) -> None:
        if self.body is not None and row > HEADER_ROW:
            self.heights[row] = height
        else:
            self.ws.row_dimensions[row].height = height

    @property
    def max_row(self) -> int:
        return max(self.ws.max_row, max(self.body, default=0) if self.body else 0)

    @property
    def max_column(self) -> int:
        return max(self.ws.max_column, self.body_columns)

    def header(self, labels: Sequence[str], row: int = HEADER_ROW) -> None:
        """Column headers: bold, shaded, wrapped."""
        for i, text in enumerate(labels, start=1):
            self.put(row, i, text, bold=True, fill=DARK, wrap=True, border="thin", align="center",
                     valign="center")

    def width(self, col: int) -> float:
        w = self._widths.get(col)
        if w is None:
            w = self._widths[col] = self.ws.column_dimensions[get_column_letter(col)].width or 8
        return w

    def fit_rows(self, rows: Iterable[int]) -> None:
        """Row heights for wrapped text (spreadsheets do not grow rows they did not lay out themselves)."""
        spans = {(r.min_row, r.min_col): r.max_col for r in self.ws.merged_cells.ranges}
        sizes, wraps = self.styles.sizes, self.styles.wraps
        for row in rows:
            if self.body is not None and row > HEADER_ROW:
                if row not in self.wrapped:
                    continue
                cells = [(c, value, sizes[style]) for col, values, styles in self.cells(row)
                         for c, value, style in zip(itertools.count(col), values, styles)
                         if wraps[style] and isinstance(value, str)]
            else:
                cells = [(cell.column, cell.value, cell.font.sz) for cell in self.ws[row]
                         if cell.alignment and cell.alignment.wrap_text and isinstance(cell.value, str)]
            lines, size = 0, self.size
            for col, value, sz in cells:
                last = spans.get((row, col), col)
                width = sum(self.width(c) for c in range(col, last + 1))
                size = max(size, int(sz or self.size))
                lines = max(lines, text_lines(value, width * self.size / (sz or self.size)))
            if lines:
                self.height(row, lines * (size * 13 // 10) + 4)

    def widths(self, widths: Sequence[int]) -> None:
        for i, w in enumerate(widths, start=1):
            self.ws.column_dimensions[get_column_letter(i)].width = w
        self._widths.clear()

    def body_xml(self) -> str:
        """The body rows as the XML elements of ``<sheetData>``, the way openpyxl writes them.

        The styles get their numbers (xf) here, in the order openpyxl would give them (the order cells are
        written), so call this right after the cells of the rows above have been given theirs."""
        assert self.body is not None
        templates = self.styles.templates
        style_attrs: list[str | None] = [None] * len(templates)
        letters = [""] + [get_column_letter(c) for c in range(1, self.body_columns + 1)]
        texts: dict[str, str] = {}  # a text cell's type and content
        numbers: dict[object, str] = {}
        zero, minus_zero = ' t="n"><v>0</v></c>', ' t="n"><v>-0</v></c>'  # equal, so not keys of numbers
        out: list[str] = []
        for row in sorted(self.body.keys() | self.heights.keys()):
            height = self.heights.get(row)
            head = f'<row r="{row}" ht="{safe_string(height)}" customHeight="1"' if height else f'<row r="{row}"'
            if row not in self.body:
                out.append(head + "></row>")
                continue
            out.append(head + ">")
            for col, values, styles in self.cells(row):
                for value, style, letter in zip(values, styles, letters[col:col + len(values)]):
                    s = style_attrs[style]
                    if s is None:
                        t = templates[style]
                        s = style_attrs[style] = f' s="{t.style_id}"' if t.has_style else ""
                    if value.__class__ is str:
                        content = texts.get(value)
                        if content is None:
                            content = texts[value] = _text_xml(value)
                    elif value is None:
                        content = ' t="n" />'
                    elif not value:
                        content = minus_zero if str(value).startswith("-") else zero
                    else:
                        content = numbers.get(value)
                        if content is None:
                            number = "%.16g" % value
                            content = numbers[value] = (' t="n"><v /></c>' if "n" in number  # nan, inf: as openpyxl
                                                        else f' t="n"><v>{number}</v></c>')
                    out.append(f'<c r="{letter}{row}"{s}{content}')
            out.append("</row>")
        return "".join(out)


def _text_xml(text: str) -> str:
    """A text cell's type and content as openpyxl writes it (from after the style to the end of the cell)."""
    if not text:
        return ' t="inlineStr" />'
    escaped = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    space = ' xml:space="preserve"' if text.strip() and text != text.strip() else ""
    return f' t="inlineStr"><is><t{space}>{escaped}</t></is></c>'


@functools.lru_cache(maxsize=4096)  # the same labels and actions on many rows
def text_lines(text: str, width: float) -> int:
    """Lines ``text`` takes in a column ``width`` characters wide (a CJK character is two wide)."""
    per_line = max(1, int(width) - 1)
    n = 0
    for part in text.split("\n"):
        w = len(part) if part.isascii() else sum(
            2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in part)
        n += max(1, -(-w // per_line))
    return n


def _state_of(status: str) -> str:
    """The report's state: draft; simulated (closed without sign-off, `settle simulate`); closed (signed)."""
    return {"draft": "draft", "signed": "closed"}.get(status, "simulated")


def _title_span(s: _Sheet, key: str) -> int:
    """Columns the title lines span: on the pay sheet, what surely fits its first printed page; else all."""
    if key == "report":
        return len(ID_COLUMNS) + COMPONENTS.index("regional_override")
    return max(s.max_column, 4)


def _mark(s: _Sheet, key: str, facts: RunFacts, state: str, closed_at: datetime | None = None) -> None:
    """Title line, state line and page header/footer of a sheet, for the month's state.

    Called when the report is written and again when the month is closed (:func:`close_report`)."""
    ws, cfg = s.ws, s.cfg
    org = _org(cfg)
    status = cfg.label("status", state)
    when = f" {_utc(closed_at)}" if closed_at else ""
    title = " ".join(x for x in (org, cfg.label("sheets", key), facts.month) if x)
    span = _title_span(s, key)
    for row in (1, 2):
        rng = f"A{row}:{get_column_letter(span)}{row}"
        if rng not in ws.merged_cells:
            ws.merge_cells(rng)
    s.put(1, 1, f"{title}  【{status}{when}】", bold=True, size=s.size + 4,
          color=RED if state == "draft" else None, wrap=True)
    s.put(2, 1, "  ·  ".join([
        cfg.label("status", f"{state}_note", " / "),
        f"{cfg.text('pay_day')} {facts.pay_day}", f"{cfg.text('revision')} {facts.revision}",
        f"{cfg.text('run_id')} {facts.run_id}", f"{cfg.text('rule_set')} {facts.rule_set_id}",
    ]), color=RED if state == "draft" else GREY, wrap=True)
    s.fit_rows((1, 2))
    header, footer = ws.oddHeader, ws.oddFooter
    header.left.text = _hf(f"{org} {cfg.text('title')} {facts.month}".strip())
    header.left.size = s.size
    header.center.text = _hf(status)
    header.center.size = 20 if state == "draft" else s.size + 2
    header.center.color = RED if state == "draft" else "000000"
    header.center.font = f"{s.font_name},Bold"
    header.right.text = _hf(f"{cfg.text('run_id')} {facts.run_id}")
    header.right.size = s.size - 2
    footer.left.text = _hf(f"cmsettle {facts.tool_version} · {facts.rule_set_id}")
    footer.left.size = s.size - 2
    footer.right.text = cfg.text("page", " · ")  # &P, &N: header/footer codes, not escaped
    footer.right.size = s.size - 2


def _org(cfg: ReportConfig) -> str:
    org = cfg.data.get("organisation") or {}
    zh, en = str(org.get("zh") or ""), str(org.get("en") or "")
    return {"zh": zh, "en": en}.get(cfg.language, " ".join(x for x in (zh, en) if x))


def _hf(text: str) -> str:
    """Literal text for a page header or footer (`&` starts a code there)."""
    return text.replace("&", "&&")


def _page(s: _Sheet, *, landscape: bool = True, fit_width: int = 1, title_cols: str | None = None,
          freeze: str = "A4") -> None:
    ws, wb = s.ws, s.cfg.workbook
    ws.page_setup.orientation = "landscape" if landscape else "portrait"
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.fitToWidth = fit_width
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.print_options.horizontalCentered = True
    ws.page_margins = PageMargins(**{k: wb["margins"][k] for k in ("left", "right", "top", "bottom",
                                                                   "header", "footer")})
    ws.print_title_rows = f"{HEADER_ROW}:{HEADER_ROW}"
    if title_cols:
        ws.print_title_cols = title_cols
    ws.freeze_panes = freeze
    s.fit_rows(range(HEADER_ROW, s.max_row + 1))


# ---- the workbook ------------------------------------------------------------------------------------------

def pay_report(result: MonthResult, rule_set: LoadedRuleSet, files: Iterable[InputFile], *, run_id: str,
               revision: int, status: str, pay_day: str, config: ReportConfig | None = None) -> bytes:
    """The report of a run as xlsx bytes. ``status`` draft: DRAFT marks and an empty sign-off sheet;
    closed (a simulated month, never signed): marked simulated."""
    cfg = config or load_config()
    facts = RunFacts(str(result.month), revision, run_id, pay_day, rule_set.id, rule_set.sha256)
    state = _state_of(status)
    wb = Workbook()
    sheets = {key: (wb.active if i == 0 else wb.create_sheet()) for i, key in enumerate(SHEETS)}
    styles = _Styles(str(cfg.workbook["font"]))
    for key, ws in sheets.items():
        ws.title = cfg.label("sheets", key)
    s = {key: _Sheet(ws, cfg, styles, body=True) for key, ws in sheets.items()}
    _pay_sheet(s["report"], result)
    _signoff_sheet(s["signoff"], facts, state, (), None, None)
    _grades_sheet(s["grades"], result)
    _flags_sheet(s["flags"], result)
    _employer_sheet(s["employer"], result)
    _inputs_sheet(s["inputs"], facts, tuple(files), result.warnings, status)
    _rules_sheet(s["rules"], rule_set)
    for key, sheet in s.items():
        _mark(sheet, key, facts, state)
    created = datetime.combine(result.month.last_day, time.min)
    _properties(wb, facts, cfg, created)
    return workbook_bytes(wb, created=created, modified=created, bodies=list(s.values()))


def close_report(draft: bytes, manifest: Mapping[str, Any], signoffs: Sequence[SignOff], closed_at: datetime,
                 manifest_sha256: str, config: ReportConfig | None = None) -> bytes:
    """The closed report: the draft with its sign-off sheet filled in and every DRAFT mark replaced.

    Sheets are known by their place (SHEETS order) and the labels are in the language the draft was written
    in (kept in the workbook's category), so a change of report.yaml between draft and close does no harm.
    Deterministic in its arguments: the workbook's modified time is ``closed_at``."""
    cfg = config or load_config()
    wb = load_workbook(io.BytesIO(draft))
    language = str(wb.properties.category or "").removeprefix(LANGUAGE_TAG)
    if config is None and language in LANGUAGES and language != cfg.language:
        cfg = parse_config({**cfg.data, "language": language})
    if len(wb.worksheets) != len(SHEETS) or not str(wb.properties.keywords or "").startswith("cmsettle"):
        raise ValueError(f"{REPORT_FILE}: not a cmsettle pay report ({len(wb.worksheets)} sheets)")
    facts = RunFacts.from_manifest(manifest)
    index = SHEETS.index("signoff")
    title = wb.worksheets[index].title
    wb.remove(wb.worksheets[index])
    styles = _Styles(str(cfg.workbook["font"]))
    _signoff_sheet(_Sheet(wb.create_sheet(title, index), cfg, styles), facts, "closed", signoffs, closed_at,
                   manifest_sha256)
    for key, sheet in zip(SHEETS, wb.worksheets):
        _mark(_Sheet(sheet, cfg, styles), key, facts, "closed", closed_at)
    created = wb.properties.created or _naive(closed_at)
    return workbook_bytes(wb, created=created, modified=_naive(closed_at))


def _properties(wb: Workbook, facts: RunFacts, cfg: ReportConfig, created: datetime) -> None:
    p = wb.properties
    p.title = f"{cfg.text('title')} {facts.month}"
    p.subject = f"{facts.month} r{facts.revision} run {facts.run_id}"
    p.creator = p.lastModifiedBy = f"cmsettle {facts.tool_version}"
    p.keywords = f"cmsettle {facts.month} {facts.run_id} {facts.rule_set_id}"
    p.category = LANGUAGE_TAG + cfg.language
    p.created = p.modified = created


def workbook_bytes(wb: Workbook, *, created: datetime, modified: datetime,
                   bodies: Sequence[_Sheet] = ()) -> bytes:
    """Save ``wb`` byte-reproducibly: fixed core properties, zip entries in a fixed order ([Content_Types].xml
    first, then openpyxl's order) with a fixed date, mode and compression.

    ``bodies``: sheets whose rows below the header are kept by a :class:`_Sheet` (a new report); their XML is
    put into the sheet's ``<sheetData>`` after openpyxl's rows, and the sheet's dimension is widened."""
    by_sheet = {id(s.ws): s for s in bodies}
    bodies_xml: dict[int, tuple[str, str, str]] = {}  # openpyxl's dimension, the whole one, the body XML
    for ws in wb.worksheets:  # in the order openpyxl writes cells, so the styles get the numbers it gives
        s = by_sheet.get(id(ws))
        if s is None:
            continue
        if s.body and ws.max_row >= min(s.body):
            raise ValueError(f"sheet {ws.title!r}: openpyxl cells below the header")
        for _, cell in sorted(ws._cells.items()):  # as openpyxl's writer (iter_rows would add empty rows)
            if cell.has_style:
                cell.style_id  # noqa: B018  (registers the cell's style)
        dimension = ws.calculate_dimension()
        whole = f"{dimension.split(':')[0]}:{get_column_letter(s.max_column)}{s.max_row}"
        bodies_xml[id(ws)] = (dimension, whole, s.body_xml())
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as archive:  # compressed once, below
        ExcelWriter(wb, archive).save()
    parts = {ws.path.lstrip("/"): bodies_xml[id(ws)] for ws in wb.worksheets if id(ws) in bodies_xml}
    props = copy.copy(wb.properties)
    props.created, props.modified = _naive(created), _naive(modified)
    core = tostring(props.to_tree())
    stamp = max(_ZIP_DATE_MIN, _naive(modified).timetuple()[:6])
    out = io.BytesIO()
    with zipfile.ZipFile(buf) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        names = src.namelist()
        for name in sorted(names, key=lambda n: (n != "[Content_Types].xml", names.index(n))):
            info = zipfile.ZipInfo(name, date_time=stamp)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.create_system = 0
            info.external_attr = 0
            data = core if name == "docProps/core.xml" else src.read(name)
            if name in parts:
                data = _with_body(data, *parts[name])
            dst.writestr(info, data)
    return out.getvalue()


def _with_body(xml: bytes, dimension: str, whole: str, body: str) -> bytes:
    """A sheet's XML from openpyxl with the body rows after its own rows and the dimension of both."""
    old = f'<dimension ref="{dimension}"'.encode()
    if old not in xml:
        raise ValueError(f"no {old!r} in the sheet XML")
    xml = xml.replace(old, f'<dimension ref="{whole}"'.encode(), 1)
    end = xml.find(b"</sheetData>")
    if end >= 0:
        return b"".join((xml[:end], body.encode("utf-8"), xml[end:]))
    empty = re.search(rb"<sheetData\s*/>", xml)
    if empty is None:
        raise ValueError("no <sheetData> in the sheet XML")
    return b"".join((xml[:empty.start()], b"<sheetData>", body.encode("utf-8"), b"</sheetData>",
                     xml[empty.end():]))


def _naive(dt: datetime) -> datetime:
    """UTC without tzinfo, to the second (what xlsx core properties hold)."""
    if dt.tzinfo is not None:
        dt = dt.astimezone(timezone.utc).replace(tzinfo=None)
    return dt.replace(microsecond=0)


def _utc(dt: datetime) -> str:
    return _naive(dt).strftime("%Y-%m-%d %H:%M:%S UTC")


# ---- sheet 1: the pay report ----------------------------------------------------------------------------

ID_COLUMNS = ("manager_id", "name", "project", "station", "position", "grade")


def group_key(m: ManagerResult) -> tuple:
    """Report order: by project and station (people without, i.e. refund-only leavers, last), then id."""
    return (m.project is None, m.project or "", m.station is None, m.station or "", m.manager_id)


def amounts_by_person(result: MonthResult) -> dict[str, dict[str, Decimal]]:
    table: dict[str, dict[str, Decimal]] = {m.manager_id: dict.fromkeys(COMPONENTS, ZERO) for m in result.managers}
    for ln in result.lines:
        amounts = table.get(ln.manager_id)
        if amounts is None:
            amounts = table[ln.manager_id] = dict.fromkeys(COMPONENTS, ZERO)
        amounts[ln.component] += ln.amount
    return table


def _pay_sheet(s: _Sheet, result: MonthResult) -> None:
    ws, cfg = s.ws, s.cfg
    wbc = cfg.workbook
    money = str(wbc["money_format"])
    s.header([cfg.label("columns", c, "\n") for c in ID_COLUMNS]
             + [cfg.label("components", c, "\n") for c in COMPONENTS])
    w = wbc["widths"]
    s.widths([w[c] for c in ID_COLUMNS] + [w["money"]] * len(COMPONENTS))
    table = amounts_by_person(result)
    first_amount = len(ID_COLUMNS) + 1
    row = HEADER_ROW + 1
    people = sorted(result.managers, key=group_key)
    # each style built once, in the order of first use (the order fonts and formats enter the workbook)
    text_styles, amount_styles = [], []
    if people:
        text_styles = [s.style()] * len(ID_COLUMNS)
        plain, bold = s.style(fmt=money), s.style(fmt=money, bold=True)
        amount_styles = [bold if c in ("gross_pay", "net_pay") else plain for c in COMPONENTS]
    no_station = cfg.text("no_station")

    def total_row(label: str, people: int, sums: list[Decimal], fill: str, *, top: bool = False) -> None:
        nonlocal row
        border = "double_top" if top else None
        s.put(row, 2, f"{label} ({people} {cfg.text('people')})", bold=True, fill=fill, border=border)
        empty = s.style(fill=fill, border=border)
        for col in range(1, first_amount):
            if col != 2:
                s.set(row, col, None, empty)
        s.set_row(row, first_amount, sums, [s.style(fmt=money, bold=True, fill=fill, border=border)] * len(sums))
        row += 1

    def add(a: list[Decimal], b: Iterable[Decimal]) -> list[Decimal]:
        return [x + y for x, y in zip(a, b, strict=True)]

    projects: dict[str, list[ManagerResult]] = {}
    for m in people:
        projects.setdefault(m.project or "", []).append(m)
    grand = [ZERO] * len(COMPONENTS)
    for project, members in projects.items():
        stations: dict[str, list[ManagerResult]] = {}
        for m in members:
            stations.setdefault(m.station or "", []).append(m)
        project_label = project or cfg.text("no_project")
        project_sums = [ZERO] * len(COMPONENTS)
        for station, group in stations.items():
            station_sums = [ZERO] * len(COMPONENTS)
            for m in group:
                s.set_row(row, 1, (m.manager_id, m.name, m.project or project_label, m.station or no_station,
                                   cfg.value("positions", m.position), cfg.value("grades", m.grade_in_effect)),
                          text_styles)
                amounts = list(table[m.manager_id].values())  # COMPONENTS order
                s.set_row(row, first_amount, amounts, amount_styles)
                station_sums = add(station_sums, amounts)
                row += 1
            total_row(f"{cfg.text('station_subtotal')} {station or no_station}", len(group), station_sums, LIGHT)
            project_sums = add(project_sums, station_sums)  # exact: Decimal sums of cents in any order
        total_row(f"{cfg.text('project_subtotal')} {project_label}", len(members), project_sums, DARK)
        grand = add(grand, project_sums)
    total_row(cfg.text("grand_total"), len(people), grand, DARK, top=True)
    _page(s, fit_width=int(wbc["fit_width_pages"]), title_cols="A:B", freeze="C4")
    ws.print_area = f"A1:{get_column_letter(first_amount + len(COMPONENTS) - 1)}{row - 1}"


# ---- sheet 2: sign-off ------------------------------------------------------------------------------------

def _signoff_sheet(s: _Sheet, facts: RunFacts, state: str, signoffs: Sequence[SignOff],
                   closed_at: datetime | None, manifest_sha256: str | None) -> None:
    cfg = s.cfg
    s.header([cfg.text(k, "\n") for k in ("order", "role", "signer", "signed_at", "fingerprint")])
    w = cfg.workbook["widths"]
    s.widths([w["id"], w["station"] + w["name"], w["station"] + w["name"], w["station"] + w["name"],
              w["hash"] + 10])
    by_role = {x.role: x for x in signoffs}
    row = HEADER_ROW + 1
    for i, role in enumerate(ROLES, start=1):
        sig = by_role.get(role)
        s.put(row, 1, i, border="thin", align="center", valign="center")
        s.put(row, 2, cfg.label("roles", role), border="thin", align="left", valign="center")
        s.put(row, 3, sig.signer if sig else "", border="thin", align="left", valign="center")
        s.put(row, 4, _utc(sig.signed_at) if sig else "", border="thin", align="left", valign="center")
        s.put(row, 5, f"SHA256:{sig.fingerprint}" if sig else "", border="thin", align="left", valign="center")
        s.height(row, 30)  # room for a handwritten initial next to the key signature
        row += 1
    row += 1
    if state == "draft":  # the watermark: big, red, under the empty signature lines
        s.put(row, 2, cfg.label("status", "draft"), bold=True, color=RED, size=s.size * 4)
        s.height(row, s.size * 6)
        s.put(row + 1, 2, cfg.label("status", "draft_note", "\n"), bold=True, color=RED, size=s.size + 2)
        s.height(row + 1, (s.size + 2) * 3 + 4)
        row += 3
    facts_rows = [
        ("status", cfg.label("status", state) + (f" {_utc(closed_at)}" if closed_at else "")),
        ("month", facts.month), ("revision", str(facts.revision)), ("run_id", facts.run_id),
        ("pay_day", facts.pay_day), ("rule_set", f"{facts.rule_set_id} sha256 {facts.rule_set_sha256}"),
        ("tool", f"cmsettle {facts.tool_version}"),
    ]
    if manifest_sha256:
        facts_rows.append(("manifest", f"manifest.json sha256 {manifest_sha256}"))
    for key, value in facts_rows:
        s.put(row, 1, cfg.text(key), bold=True)
        s.put(row, 3, value)
        row += 1
    s.put(row + 1, 1, cfg.text("signatures_cover", " / "), color=GREY)
    _page(s, freeze="A4")


# ---- sheet 3: grade changes -------------------------------------------------------------------------------

def _grades_sheet(s: _Sheet, result: MonthResult) -> None:
    cfg = s.cfg
    wbc = cfg.workbook
    w = wbc["widths"]
    s.header([cfg.label("columns", "manager_id", "\n"), cfg.label("columns", "name", "\n"),
              cfg.label("columns", "station", "\n"), cfg.text("in_effect", "\n"), cfg.text("next", "\n"),
              cfg.text("rule", "\n"), cfg.text("a3", "\n"), cfg.text("score", "\n"), cfg.text("reason", "\n")])
    s.widths([w["id"], w["name"], w["station"], w["grade"], w["grade"], w["id"], w["money"] + 2, w["id"],
              w["text"]])
    row = HEADER_ROW + 1
    changes = [m for m in sorted(result.managers, key=group_key)
               if not m.refund_only and (m.grade_next != m.grade_in_effect or m.grade_rule)]
    for m in changes:
        s.set_row(row, 1, (m.manager_id, m.name, m.station or "", cfg.value("grades", m.grade_in_effect)),
                  [s.style()] * 4)
        s.put(row, 5, cfg.value("grades", m.grade_next), bold=m.grade_next != m.grade_in_effect)
        s.set_row(row, 6, (m.grade_rule, fen(m.a3), round4(m.score_raw), m.grade_reason),
                  (s.style(), s.style(fmt=str(wbc["plain_money_format"])), s.style(fmt=str(wbc["score_format"])),
                   s.style(wrap=True)))
        row += 1
    if not changes:
        s.put(row, 1, cfg.text("no_grade_changes"), color=GREY)
    _page(s)


# ---- sheet 4: flags to act on -----------------------------------------------------------------------------

def _flag_details(m: ManagerResult, source: str, result: MonthResult) -> str:
    lines = {ln.component: ln for ln in result.lines_of(m.manager_id)}
    if source == "grade":
        return m.grade_reason
    if source == "attendance":
        ln = lines.get("attendance_deduction")
        return "; ".join(x for x in (ln.detail if ln else "", m.management_detail) if x)
    if source == "penalty":
        ln = lines.get("penalty")
        return ln.detail if ln else ""
    return ""


def flag_rows(result: MonthResult, cfg: ReportConfig) -> list[tuple[str, ManagerResult]]:
    """(flag, person) in the order of report.yaml's flags, then the report order of people."""
    order = list(cfg.data["flags"])
    people = sorted(result.managers, key=group_key)
    rows = [(f, m) for m in people for f in m.flags]
    return sorted(rows, key=lambda x: (order.index(x[0]) if x[0] in order else len(order),
                                       group_key(x[1])))


def _flags_sheet(s: _Sheet, result: MonthResult) -> None:
    cfg = s.cfg
    w = cfg.workbook["widths"]
    s.header([cfg.text("flag", "\n"), cfg.text("code", "\n"), cfg.label("columns", "manager_id", "\n"),
              cfg.label("columns", "name", "\n"), cfg.label("columns", "station", "\n"),
              cfg.label("columns", "position", "\n"), cfg.text("rule", "\n"), cfg.text("action", "\n"),
              cfg.text("details", "\n")])
    s.widths([w["station"] + 12, w["station"] + 12, w["id"], w["name"], w["station"], w["position"], w["id"],
              w["text"] // 2, w["text"]])
    row = HEADER_ROW + 1
    flags = cfg.data["flags"]
    styles: list[int] = []
    for flag, m in flag_rows(result, cfg):
        if not styles:  # in the order of first use
            styles = [s.style(bold=True, wrap=True)] + [s.style()] * 6 + [s.style(wrap=True)] * 2
        spec = flags.get(flag, {})
        action = spec.get("action") or {}
        s.set_row(row, 1, (
            cfg.label("flags", flag, "\n") if flag in flags else flag, flag, m.manager_id, m.name, m.station or "",
            cfg.value("positions", m.position), str(spec.get("rules", "")),
            {"zh": action.get("zh", ""), "en": action.get("en", "")}.get(
                cfg.language, f"{action.get('zh', '')}\n{action.get('en', '')}".strip()),
            _flag_details(m, str(spec.get("details", "")), result),
        ), styles)
        row += 1
    if row == HEADER_ROW + 1:
        s.put(row, 1, cfg.text("no_flags"), color=GREY)
    _page(s)


# ---- sheet 5: employer costs ------------------------------------------------------------------------------

def _employer_sheet(s: _Sheet, result: MonthResult) -> None:
    cfg = s.cfg
    wbc = cfg.workbook
    w = wbc["widths"]
    money = str(wbc["money_format"])
    s.header([cfg.label("columns", c, "\n") for c in ("manager_id", "name", "project", "station")]
             + [cfg.text(k, "\n") for k in ("employer_si", "accident", "total_cost")])
    s.widths([w["id"], w["name"], w["project"], w["station"], w["money"] + 4, w["money"] + 4, w["money"]])
    row = HEADER_ROW + 1
    people = [m for m in sorted(result.managers, key=group_key) if not m.refund_only]
    styles: list[int] = []
    for m in people:
        if not styles:  # in the order of first use
            styles = [s.style()] * 4 + [s.style(fmt=money)] * 2 + [s.style(fmt=money, bold=True)]
        s.set_row(row, 1, (m.manager_id, m.name, m.project or "", m.station or "", m.employer_social_insurance,
                           m.accident_insurance, m.employer_social_insurance + m.accident_insurance), styles)
        row += 1
    s.put(row, 2, f"{cfg.text('grand_total')} ({len(people)} {cfg.text('people')})", bold=True, fill=DARK)
    for col, v in ((5, sum((m.employer_social_insurance for m in people), ZERO)),
                   (6, sum((m.accident_insurance for m in people), ZERO))):
        s.put(row, col, v, fmt=money, bold=True, fill=DARK)
    s.put(row, 7, sum((m.employer_social_insurance + m.accident_insurance for m in people), ZERO), fmt=money,
          bold=True, fill=DARK)
    _page(s, landscape=False)


# ---- sheet 6: inputs and the run ---------------------------------------------------------------------------

def _inputs_sheet(s: _Sheet, facts: RunFacts, files: tuple[InputFile, ...], warnings: Sequence[str],
                  status: str) -> None:
    cfg = s.cfg
    w = cfg.workbook["widths"]
    s.header([cfg.text(k, "\n") for k in ("table", "file", "rows", "encoding")] + ["sha256"])
    s.widths([w["station"], w["text"] // 2, w["id"], w["position"], w["hash"]])
    row = HEADER_ROW + 1
    for f in files:
        s.put(row, 1, f.table)
        s.put(row, 2, f.path)
        s.put(row, 3, f.rows, fmt=str(cfg.workbook["count_format"]))
        s.put(row, 4, f.encoding or "")
        s.put(row, 5, f.sha256)
        row += 1
    row += 1
    for key, value in (("run_id", facts.run_id), ("revision", str(facts.revision)), ("pay_day", facts.pay_day),
                       ("rule_set", facts.rule_set_id), ("tool", f"cmsettle {facts.tool_version}"),
                       ("status", status)):
        s.put(row, 1, cfg.text(key), bold=True)
        s.put(row, 2, value)
        row += 1
    row += 1
    s.put(row, 1, cfg.text("warnings"), bold=True)
    for text in warnings or [cfg.text("no_warnings")]:
        s.put(row, 2, text, wrap=False, color=RED if warnings else GREY)
        row += 1
    _page(s)


# ---- sheet 7: the rule set ----------------------------------------------------------------------------------

def _rules_sheet(s: _Sheet, rule_set: LoadedRuleSet) -> None:
    from cmsettle.ruleset.ids import packaged

    cfg = s.cfg
    w = cfg.workbook["widths"]
    s.header([cfg.text(k, "\n") for k in ("parameter", "value", "rule_ids", "note")])
    s.widths([w["text"] // 2 + 6, w["money"] + 6, w["id"] + 4, w["text"]])
    row = HEADER_ROW + 1
    r = rule_set.rules
    for key, value in (("rule_set", rule_set.id), ("effective_from", str(r.effective_from)),
                       ("rule_set_file", rule_set.path.name), ("sha256", rule_set.sha256)):
        s.put(row, 1, cfg.text(key) if key != "sha256" else "sha256", bold=True)
        s.put(row, 2, value)
        row += 1
    row += 1
    ids = packaged()
    for path, value in parameters(r).items():
        ref = ids.ref(path)
        s.put(row, 1, path)
        s.put(row, 2, show_value(value), align="right")
        s.put(row, 3, ", ".join(ref.ids))
        s.put(row, 4, ref.note)
        row += 1
    _page(s, landscape=False)
