"""payslips/<manager_id>.html: one print-ready payslip per person, from templates/payslip.html.j2.

Each line carries its plain-language reason (cmsettle/config/explanations.yaml, filled with this person's
figures and the rule set's parameters) and, below it, the formula with its figures (the line's detail).
The grade block says what it would take to reach the next grade (G1/G2 thresholds against A3). ID and
bank numbers are masked, and nothing about anyone else is shown: texts that could name a colleague (a
referral's formula) are left out by explanations.yaml, and every other manager id or name that a formula
might still contain is blotted out before rendering.

With WeasyPrint installed (the optional ``pdf`` extra), each payslip is also written as PDF.
"""

from __future__ import annotations

import functools
import re
import string
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

import yaml
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from markupsafe import Markup, escape

from cmsettle import TEMPLATES_DIR
from cmsettle.compute.lines import AFTER_TAX, COMPONENTS, EARNINGS, PayLine
from cmsettle.compute.settle import ManagerResult, MonthResult
from cmsettle.model import GRADES
from cmsettle.money import fmt_money, fmt_num, round1, round4
from cmsettle.outputs.report import CONFIG_DIR, ReportConfig, load_config
from cmsettle.ruleset.diff import parameters
from cmsettle.ruleset.loader import LoadedRuleSet
from cmsettle.ruleset.schema import RuleSet
from cmsettle.yaml_loaders import SafeLoader

PAYSLIP_DIR = "payslips"
TEMPLATE = "payslip.html.j2"
EXPLANATIONS_FILE = CONFIG_DIR / "explanations.yaml"
HIDDEN = "＊＊＊"  # what stands where a formula named someone else


# ---- masking ---------------------------------------------------------------------------------------

def mask_id_number(value: str | None) -> str:
    """An ID card number with its first 6 (region) and last 4 digits: 110105********1234."""
    text = (value or "").strip()
    if len(text) < 11:
        return mask_account(text)
    return text[:6] + "*" * (len(text) - 10) + text[-4:]


def mask_account(value: str | None) -> str:
    """A bank account with its last 4 digits only: ************1234."""
    text = (value or "").strip()
    if len(text) <= 4:
        return "*" * len(text)
    return "*" * (len(text) - 4) + text[-4:]


# ---- explanations -----------------------------------------------------------------------------------

@functools.lru_cache(maxsize=8)
def load_explanations(path: Path = EXPLANATIONS_FILE) -> Mapping[str, Any]:
    with open(path, encoding="utf-8") as fh:
        data = yaml.load(fh, Loader=SafeLoader)
    missing = [c for c in COMPONENTS if c not in data]
    if missing:
        raise ValueError(f"{path}: no explanation for component(s) {', '.join(missing)}")
    return data


def _pct(value: Decimal) -> str:
    return f"{fmt_num(value * 100)}%"


def rule_figures(rules: RuleSet) -> dict[str, dict[str, str]]:
    """The rule set's numbers for explanations: as written (p), as a percentage (pct), as money (money)."""
    params = dict(parameters(rules))
    params["social_insurance.employee_rates.total"] = rules.social_insurance.employee_rates.total
    numeric = {k: Decimal(v) for k, v in params.items() if isinstance(v, (int, Decimal)) and not isinstance(v, bool)}
    return {"p": {k: fmt_num(v) for k, v in numeric.items()}, "pct": {k: _pct(v) for k, v in numeric.items()},
            "money": {k: fmt_money(v) for k, v in numeric.items()}}


def figures(m: ManagerResult, rules: RuleSet, cfg: ReportConfig, lang: str,
            base: Mapping[str, Mapping[str, str]] | None = None) -> dict[str, Any]:
    """The str.format fields of an explanation: this person's figures and the rule set's numbers."""
    return person_fields(m, rules, cfg, base or rule_figures(rules))[lang]


def grade_figures(rules: RuleSet, grade: str) -> dict[str, dict[str, str]]:
    """The grade's row of the rule set as percentages (gpct) and money (gmoney)."""
    row = rules.grades.row(grade).model_dump()
    row_num = {k: Decimal(v) for k, v in row.items() if isinstance(v, (int, Decimal))}
    return {"gpct": {k: _pct(v) for k, v in row_num.items()},
            "gmoney": {k: fmt_money(v) for k, v in row_num.items()}}


def person_fields(m: ManagerResult, rules: RuleSet, cfg: ReportConfig, base: Mapping[str, Mapping[str, str]],
                  grades: dict[str, dict[str, dict[str, str]]] | None = None,
                  written: Mapping[str, str] | None = None) -> dict[str, dict[str, Any]]:
    """:func:`figures` in both languages, {"zh": ..., "en": ...}; ``grades`` keeps :func:`grade_figures`
    per grade for a month of payslips, ``written`` holds figures of the person already written."""
    g = m.grade_in_effect
    if grades is None:
        grades = {}
    if g not in grades:
        grades[g] = grade_figures(rules, g)
    zh, en = cfg.pair("grades", g)
    written = written or {}
    mine = {k: written[k] if k in written else f(m) for k, f in _PERSON_FIELDS.items()}
    common = {**base, **mine, **grades[g]}
    return {"zh": {**common, "grade": zh}, "en": {**common, "grade": en}}


#: a person's figures in the reasons, as written there
_PERSON_FIELDS: dict[str, Callable[[ManagerResult], str]] = {
    "ea": lambda m: fmt_num(m.ea), "nmv": lambda m: fmt_money(m.nmv),
    "nr": lambda m: fmt_money(m.net_revenue), "avg_assets": lambda m: fmt_money(m.avg_assets),
    "a3": lambda m: fmt_money(m.a3), "score": lambda m: fmt_num(round4(m.score_raw)),
    "score_applied": lambda m: fmt_num(round4(m.score_applied)),
    "mscore": lambda m: fmt_num(round1(m.management_score)),
}


def explain(line: PayLine, spec: Mapping[str, Any], fields: Mapping[str, Mapping[str, Any]]) -> dict[str, str]:
    """The reason of one line in Chinese and English, {"zh": ..., "en": ...}: ``spec`` is the component's
    entry of explanations.yaml, ``fields`` the :func:`figures` of each language."""
    out = {}
    amount = fmt_money(abs(line.amount))
    for lang in ("zh", "en"):
        f = dict(fields[lang], amount=amount)
        parts = [spec.get("parts", {}).get(r, {}).get(lang) for r in line.rule.split(";") if r]
        f["parts"] = ("；" if lang == "zh" else "; ").join(str(p).format_map(f) for p in parts if p)
        text = str(spec[lang]).format_map(f)
        out[lang] = text[:1].upper() + text[1:]  # an English reason may start with a part ("first ...")
    return out


# ---- the next grade -------------------------------------------------------------------------------

def next_grade_text(m: ManagerResult, rules: RuleSet, cfg: ReportConfig,
                    plans: dict[str, Any] | None = None, a3: str | None = None) -> dict[str, list[str]]:
    """What it would take to reach the grade above next month's (G1/G2; for a trainee also G5).

    ``plans`` keeps what depends on the grade only, for a month of payslips; ``a3`` is ``fmt_money(m.a3)``
    when already written."""
    out: dict[str, list[str]] = {"zh": [], "en": []}
    if m.refund_only:
        return out
    g = m.grade_next if m.grade_next in GRADES else m.grade_in_effect
    plan = plans.get(g) if plans is not None else None
    if plan is None:
        plan = _next_grade_plan(rules, cfg, g)
        if plans is not None:
            plans[g] = plan
    top, threshold, threshold_text, names, probation = plan
    if top is not None:
        return {"zh": [top["zh"]], "en": [top["en"]]}
    ps = cfg.data["payslip"]
    gap = threshold - m.a3
    key = "next_grade" if gap > 0 else "next_grade_reached"
    a3_text, gap_text = a3 if a3 is not None else fmt_money(m.a3), fmt_money(max(gap, Decimal(0)))
    for lang in ("zh", "en"):
        out[lang].append(str(ps[key][lang]).format(grade=names[lang], threshold=threshold_text, a3=a3_text,
                                                   gap=gap_text))
        if probation is not None:
            out[lang].append(probation[lang])
    return out


def _next_grade_plan(rules: RuleSet, cfg: ReportConfig, g: str) -> tuple[Any, ...]:
    """For :func:`next_grade_text`: (the top grade's text or None, the next grade's threshold, as text, its
    names, the probation text or None)."""
    ps = cfg.data["payslip"]
    i = GRADES.index(g)
    if i + 1 >= len(GRADES):
        return {lang: str(ps["top_grade"][lang]) for lang in ("zh", "en")}, None, None, None, None
    target = GRADES[i + 1]
    names = dict(zip(("zh", "en"), cfg.pair("grades", target)))
    threshold = rules.grades.row(target).threshold
    probation = None
    if g == GRADES[0]:
        probation = {lang: str(ps["probation"][lang]).format(mean=fmt_num(rules.grading.conversion_mean),
                                                             grade=names[lang]) for lang in ("zh", "en")}
    return None, threshold, fmt_money(threshold), names, probation


# ---- nothing about anyone else ------------------------------------------------------------------------

_ID_TOKEN = re.compile(r"[0-9A-Za-z]+")


class Redaction:
    """Everyone's ids and names of a month, indexed once; :meth:`hider` gives one person's blotter.

    A month of 5,000 payslips stays linear: nothing here is rebuilt per person. Ids are found by one
    pattern of the tokens that could be an id (whole alphanumeric tokens of the ids' characters and
    lengths), names by the characters names start with; each candidate is then a set look-up, and what
    stays visible to a person (their own id, names within their own name) is decided per hit.
    """

    def __init__(self, managers: Sequence[ManagerResult]):
        self.ids = frozenset(m.manager_id for m in managers)
        self.me: dict[str, ManagerResult] = {}
        self.own_names: dict[str, set[str]] = {}  # manager id -> its names (one, unless ids repeat)
        owners: dict[str, set[str]] = {}
        for m in managers:
            self.me.setdefault(m.manager_id, m)
            if len(m.name) >= 2:
                owners.setdefault(m.name, set()).add(m.manager_id)
                self.own_names.setdefault(m.manager_id, set()).add(m.name)
        self.owners = owners
        self.names = frozenset(owners)
        self.lengths = sorted({len(n) for n in self.names}, reverse=True)
        self.tokens = all(_ID_TOKEN.fullmatch(i) for i in self.ids)
        if not self.ids:
            self.rx_ids: re.Pattern[str] | None = None
        elif self.tokens:  # a whole token of the ids' characters and lengths: the only tokens that can be ids
            chars = "".join(sorted({c for i in self.ids for c in i}))
            lo, hi = min(map(len, self.ids)), max(map(len, self.ids))
            # (?<![0-9A-Za-z])[chars]{lo,hi}(?![0-9A-Za-z]), written to start with the characters, which
            # lets the pattern skip to them: the lookbehind checks the character before the first
            c = re.escape(chars)
            self.rx_ids = re.compile(rf"[{c}](?<![0-9A-Za-z].)[{c}]{{{lo - 1},{hi - 1}}}(?![0-9A-Za-z])")
        else:  # unusual ids: the general pattern, everyone's (longest first)
            self.rx_ids = re.compile("|".join(rf"(?<![0-9A-Za-z]){re.escape(i)}(?![0-9A-Za-z])"
                                              for i in sorted(self.ids, key=len, reverse=True)))
        starts = "".join(sorted({n[0] for n in self.names}))
        self.rx_starts = re.compile(f"[{re.escape(starts)}]") if starts else None
        self._clean: dict[str, bool] = {}  # texts seen (formulas repeat: "300.00 × 21/21")

    def clean(self, text: str) -> bool:
        """Whether a text holds nobody's id or name at all: then every payslip shows it as it is."""
        try:
            return self._clean[text]
        except KeyError:
            pass
        self._clean[text] = found = self._is_clean(text)
        return found

    def _is_clean(self, text: str) -> bool:
        rx_ids, rx_starts = self.rx_ids, self.rx_starts
        if rx_ids is not None and rx_ids.search(text):
            if not self.tokens or any(t in self.ids for t in rx_ids.findall(text)):
                return False
        if rx_starts is not None and rx_starts.search(text):
            names = self.names
            for mt in rx_starts.finditer(text):
                i = mt.start()
                if any(text[i:i + n] in names for n in self.lengths):
                    return False
        return True

    def hider(self, manager_id: str) -> Callable[[str], str]:
        """A function blotting out every other person's id (as a whole token) and name from a text: ids
        but ``manager_id``; names of two characters or more but this person's and those within it."""
        me = self.me.get(manager_id)
        own = me.name if me is not None else None
        # the names this person may see: a name only people with this id bear, and any within their name
        keep = {n for n in self.own_names.get(manager_id, ()) if self.owners[n] <= {manager_id}}
        if own is not None:
            keep |= {own[i:j] for i in range(len(own)) for j in range(i + 2, len(own) + 1)} & self.names
        names, lengths, rx_starts = self.names, self.lengths, self.rx_starts
        other_ids = len(self.ids) > 1 or (self.ids and manager_id not in self.ids)
        other_names = len(keep) < len(names)  # keep is a part of names
        if not other_ids and not other_names:
            return lambda text: text
        rx_ids = self.rx_ids

        if rx_ids is None:
            hide_ids: Callable[[str], str] = lambda text: text  # noqa: E731
        elif self.tokens:
            ids = self.ids

            def token(mt: re.Match[str]) -> str:
                t = mt.group(0)
                return HIDDEN if t in ids and t != manager_id else t

            def hide_ids(text: str) -> str:
                return rx_ids.sub(token, text) if rx_ids.search(text) else text
        else:
            exact: list[re.Pattern[str] | None] = []  # this person's own pattern, made if ever needed

            def hide_ids(text: str) -> str:
                if not rx_ids.search(text):
                    return text
                hits = [mt.group(0) for mt in rx_ids.finditer(text)]
                if manager_id not in hits:  # everyone's pattern finds what the others' one would
                    return rx_ids.sub(HIDDEN, text)
                if not exact:
                    patterns = [rf"(?<![0-9A-Za-z]){re.escape(i)}(?![0-9A-Za-z])"
                                for i in sorted(self.ids - {manager_id}, key=len, reverse=True)]
                    exact.append(re.compile("|".join(patterns)) if patterns else None)
                return exact[0].sub(HIDDEN, text) if exact[0] else text

        def hide_names(text: str) -> str:
            """Left to right, the longest name starting at each place (only places a name can start)."""
            out, pos = [], 0
            for mt in rx_starts.finditer(text):  # type: ignore[union-attr]
                i = mt.start()
                if i < pos:
                    continue
                for n in lengths:
                    w = text[i:i + n]
                    if w in names and w not in keep:
                        out.append(text[pos:i])
                        out.append(HIDDEN)
                        pos = i + n
                        break
            if not out:
                return text
            out.append(text[pos:])
            return "".join(out)

        if rx_starts is None or not other_names:
            return hide_ids
        return lambda text: hide_names(hide_ids(text))


def redactor(result: MonthResult, manager_id: str) -> Callable[[str], str]:
    """A function blotting out every other person's id (as a whole token) and name from a text (for one
    person; :class:`Redaction` indexes a month once for all of its payslips)."""
    return Redaction(result.managers).hider(manager_id)


# ---- rendering ---------------------------------------------------------------------------------------
#
# The template is rendered once per month (per shape below) with a marker standing for each of a person's
# values; each payslip is then that stencil filled in with the person's values, escaped as Jinja2 would,
# so 5,000 payslips cost 5,000 string fills rather than 5,000 template renders. The shape is all the
# template decides by a person's values: a leaver's (refund only), whether the grade changes, whether
# there is a grade rule, the number of next-grade lines, and per pay line its component, sign and whether
# it shows a formula. Should the template test, measure or change any other value of a person (an if, a
# filter), making the stencil fails; and the first payslip made from each new stencil is also rendered by
# Jinja2 and must come out the same. Failing either, every payslip is rendered by Jinja2 (render_payslip).

@functools.lru_cache(maxsize=4)
def _environment(folder: str) -> Environment:
    env = Environment(loader=FileSystemLoader(folder), autoescape=select_autoescape(["html", "j2"]),
                      undefined=StrictUndefined, keep_trailing_newline=True, trim_blocks=True,
                      lstrip_blocks=True)
    return env


@dataclass(frozen=True)
class Bilingual:
    """Labels for the template: ``L(group, key)`` gives marked-up text in the configured language(s).

    Each label and pair is marked up once (they are the same on every payslip of a month)."""

    cfg: ReportConfig
    _done: dict[tuple[str, ...], Markup] = field(default_factory=dict, compare=False, repr=False)

    def __call__(self, group: str, key: str) -> Markup:
        try:
            return self._done[(group, key)]
        except KeyError:
            zh, en = self.cfg.pair(group, key)
            text = self._done[(group, key)] = self.both(zh, en)
            return text

    def both(self, zh: str, en: str) -> Markup:
        if type(zh) is not str or type(en) is not str:  # a stencil's markers: not kept
            return self._markup(zh, en)
        try:
            return self._done[("", zh, en)]
        except KeyError:
            text = self._done[("", zh, en)] = self._markup(zh, en)
            return text

    def _markup(self, zh: str, en: str) -> Markup:
        lang = self.cfg.language
        if lang == "zh":
            return Markup('<span class="zh">{}</span>').format(zh)
        if lang == "en":
            return Markup('<span class="en">{}</span>').format(en)
        return Markup('<span class="zh">{}</span> <span class="en">{}</span>').format(zh, en)


FIGURES = ("avg_assets", "a3", "ea", "nmv", "nr", "score", "management_score")  # the figures block, in order


class _NoStencil(Exception):
    """The template decides something by a person's value the stencil does not fix."""


def _mark(key: str) -> str:
    """The marker of a hole in a stencil (hH: upper(), lower() or title() on it would show)."""
    return f"\x00hH{key}\x00"


class _Hole(str):
    """A marker standing for one value of a person while the stencil is rendered. Its truth is known only
    where the shape fixes it (``truth``); any other test of it means the stencil cannot stand for everyone."""

    __slots__ = ("key", "truth")
    key: str
    truth: bool | None

    def __new__(cls, key: str, truth: bool | None = None) -> _Hole:
        hole = super().__new__(cls, _mark(key))
        hole.key, hole.truth = key, truth
        return hole

    def __bool__(self) -> bool:
        if self.truth is None:
            raise _NoStencil(f"the template tests a person's {self.key}")
        return self.truth

    def _tested(self, *_: object) -> Any:
        raise _NoStencil(f"the template looks into a person's {self.key}")

    __eq__ = __ne__ = __lt__ = __le__ = __gt__ = __ge__ = _tested  # type: ignore[assignment]
    __len__ = __iter__ = __getitem__ = __contains__ = __mod__ = _tested  # type: ignore[assignment]
    __hash__ = str.__hash__


for _method in [name for name in dir(str) if not name.startswith("_")]:  # strip(), replace(), isdigit()...
    setattr(_Hole, _method, _Hole._tested)
del _method


def _escaper() -> Callable[[Any], str]:
    """``{{ value }}`` with autoescape, i.e. markupsafe.escape: skipped for a text with nothing to escape,
    remembered for one with something (a reason with an apostrophe is on many payslips)."""
    done: dict[str, str] = {}

    def escape_text(value: Any) -> str:
        if type(value) is not str:
            return str(escape(value))
        if not ("&" in value or "<" in value or ">" in value or "'" in value or '"' in value):
            return value
        try:
            return done[value]
        except KeyError:
            done[value] = text = str(escape(value))
            return text

    return escape_text


_MARK = re.compile("\x00hH([A-Za-z_][A-Za-z0-9_]*)\x00")


class _Stencil:
    """A text rendered with markers, as the literal pieces between them and the markers' keys:
    ``fill(values)`` puts the values in their places, escaped but for the keys in ``raw`` (values that are
    HTML already, or texts that never hold anything to escape)."""

    __slots__ = ("pieces", "keys", "_plan", "_n")

    def __init__(self, text: str, holes: set[str], raw: frozenset[str] = frozenset()):
        split = _MARK.split(text)
        self.pieces, self.keys = split[0::2], split[1::2]
        if any("\x00" in piece for piece in self.pieces):
            raise _NoStencil("a marker was changed by the template")
        if not set(self.keys) <= holes:
            raise _NoStencil(f"a marker the stencil did not set: {sorted(set(self.keys) - holes)}")
        self._plan = [(k, k in raw) for k in self.keys]
        self._n = len(split)

    def fill(self, values: Mapping[str, Any], escape: Callable[[Any], str]) -> str:
        out: list[str] = [""] * self._n
        out[0::2] = self.pieces
        out[1::2] = [values[k] if raw else escape(values[k]) for k, raw in self._plan]
        return "".join(out)


_ROW_HOLES = ("cls", "rule", "amount", "zh", "en", "formula")
_ROW_SAFE = frozenset({"cls", "amount"})  # "", "total" or "net"; fmt_money's digits, sign, "," and "."
_PAGE_HOLES = ("manager_id", "name", "project", "station", "id_number", "bank_account", "grade_rule",
               "grade_why")
_PAIR_HOLES = ("position", "contract", "grade_now", "grade_next")
_FIGURE_HOLES = tuple(f"figure_{i}" for i in range(len(FIGURES)))


def _field_names(text: str) -> set[str] | None:
    """The top-level names a str.format pattern uses ({p[x.y]} → p), or None if it uses positions."""
    names: set[str] = set()
    for _, name, spec, _ in string.Formatter().parse(text):
        if name is not None:
            first = re.match(r"[^.\[]*", name).group(0)  # type: ignore[union-attr]
            if not first or first.isdigit():
                return None
            names.add(first)
        if spec:
            inner = _field_names(spec)
            if inner is None:
                return None
            names |= inner
    return names


def _written_in(pattern: str, fixed: Mapping[str, Any], left: set[str],
                inner: Mapping[str, str] | None = None) -> str | None:
    """A str.format pattern with the fields from ``fixed`` written in and those named in ``left`` left as
    fields: ``_written_in(p, fixed, left).format_map(rest) == p.format_map({**fixed, **rest})``. ``inner``:
    patterns to put in place of fields (already such patterns). None where that cannot be done exactly
    (a left field in a format spec, an inner field with a conversion or spec)."""
    out = []
    for literal, name, spec, conversion in string.Formatter().parse(pattern):
        out.append(literal.replace("{", "{{").replace("}", "}}"))
        if name is None:
            continue
        top = re.match(r"[^.\[]*", name).group(0)  # type: ignore[union-attr]
        field = "{" + name + ("!" + conversion if conversion else "") + (":" + spec if spec else "") + "}"
        if inner is not None and top in inner:
            if name != top or conversion or spec:
                return None
            out.append(inner[top])
        elif top in left:
            if spec and "{" in spec:
                return None
            out.append(field)
        else:
            try:
                out.append(field.format_map(fixed).replace("{", "{{").replace("}", "}}"))
            except (KeyError, AttributeError, IndexError, TypeError, ValueError):
                return None  # as explain() would fail, let it
    return "".join(out)


_MONTH_FIELDS = {"p", "pct", "money"}  # the rule set's: the same for everyone
_GRADE_FIELDS = {"grade", "gpct", "gmoney"}  # the grade in effect's
_OWN_FIELDS = {*_PERSON_FIELDS, "amount"}  # the person's (and the line's)


class PayslipMonth:
    """What every payslip of a month shares, built once per :func:`payslips` call (not once per person:
    5,000 payslips would otherwise redo the month's work 5,000 times): the index of everyone's ids and
    names, the rule set's and each grade's figures, the labels, the reasons already written, the stencils.
    """

    def __init__(self, result: MonthResult, rule_set: LoadedRuleSet, *, run_id: str, pay_day: str,
                 cfg: ReportConfig, explanations: Mapping[str, Any], templates: Path = TEMPLATES_DIR):
        self.result, self.rule_set, self.rules = result, rule_set, rule_set.rules
        self.cfg, self.explanations, self.templates = cfg, explanations, templates
        self.redaction = Redaction(result.managers)
        self.base = rule_figures(self.rules)
        self.grades: dict[str, dict[str, dict[str, str]]] = {}
        self.L = Bilingual(cfg)
        org = cfg.data.get("organisation") or {}
        self.constants = {
            "L": self.L, "lang": cfg.language, "month": str(result.month), "pay_day": pay_day,
            "month_end": result.month.last_day.isoformat(), "run_id": run_id, "rule_set_id": rule_set.id,
            "org": {"zh": str(org.get("zh") or ""), "en": str(org.get("en") or "")},
        }
        self._positions, self._contracts = cfg.data["positions"], cfg.data["contracts"]
        self._pairs: dict[tuple[str, str], tuple[str, str]] = {}
        self._why_fields: dict[str, tuple[str, ...] | None] = {}
        self._formula = {c: spec.get("formula", True) is not False for c, spec in explanations.items()
                         if isinstance(spec, Mapping)}  # a line shows its formula (not a referral's)
        self._next_grade: dict[str, Any] = {}
        self._why: dict[tuple[Any, ...], tuple[str, str, str | None, str | None]] = {}
        self._patterns: dict[tuple[str, str, str], tuple[str, str] | None] = {}
        self._lines: dict[tuple[Any, ...], dict[str, Any]] = {}  # rows that are the same on many payslips
        self.stencils = True  # False once the template turns out to decide by a person's value
        self._pages: dict[tuple[Any, ...], _Stencil] = {}
        self._rows: dict[tuple[str, bool, bool], _Stencil] = {}
        self._module: Any = None
        self._escape = _escaper()

    # -- one person's values --------------------------------------------------------------------------

    def _pair(self, group: str, key: str) -> tuple[str, str]:
        try:
            return self._pairs[(group, key)]
        except KeyError:
            data = {"positions": self._positions, "contracts": self._contracts}.get(group)
            pair = self.cfg.pair(group, key) if data is None or key in data else (key, key)
            self._pairs[(group, key)] = pair
            return pair

    def _reason_fields(self, component: str) -> tuple[str, ...] | None:
        """The person's figures a component's reason uses, so that a reason once written serves everyone
        with the same figures (None: written afresh for each line)."""
        if component not in self._why_fields:
            spec = self.explanations[component]
            texts = [spec.get("zh"), spec.get("en")] + [
                t for part in (spec.get("parts") or {}).values() if isinstance(part, Mapping)
                for t in (part.get("zh"), part.get("en"))]
            names: set[str] | None = set()
            for t in texts:
                found = _field_names(str(t)) if t else set()
                if found is None or names is None:
                    names = None
                    break
                names |= found
            if names is not None:
                names -= _MONTH_FIELDS | {"parts"}
                if not names <= _GRADE_FIELDS | set(_PERSON_FIELDS) | {"amount"}:
                    names = None  # a name no one has: explain() says so
            self._why_fields[component] = None if names is None else tuple(sorted(names))
        return self._why_fields[component]

    def _reason_patterns(self, component: str, rule: str, grade: str) -> tuple[str, str] | None:
        """The reason of a line in both languages as patterns with everything but the person's own figures
        written in (see :func:`explain`), once per component, rule and grade; None: explain() writes it."""
        key = (component, rule, grade)
        if key not in self._patterns:
            self._patterns[key] = self._write_reason_patterns(component, rule, grade)
        return self._patterns[key]

    def _write_reason_patterns(self, component: str, rule: str, grade: str) -> tuple[str, str] | None:
        spec, patterns = self.explanations[component], []
        if grade not in self.grades:
            self.grades[grade] = grade_figures(self.rules, grade)
        for lang, label in zip(("zh", "en"), self._pair("grades", grade)):
            fixed = {**self.base, **self.grades[grade], "grade": label}  # as explain() has them
            parts = [spec.get("parts", {}).get(r, {}).get(lang) for r in rule.split(";") if r]
            written = [_written_in(str(p), fixed, _OWN_FIELDS) for p in parts if p]
            if None in written:
                return None
            sep = "；" if lang == "zh" else "; "
            inner = {"parts": sep.join(w for w in written if w is not None)}
            pattern = _written_in(str(spec[lang]), fixed, _OWN_FIELDS, inner)
            if pattern is None:
                return None
            patterns.append(pattern)
        return patterns[0], patterns[1]

    def values(self, m: ManagerResult) -> dict[str, Any]:
        """Everything of one person a payslip shows (:meth:`context` makes it the template's context)."""
        mid, g = m.manager_id, m.grade_in_effect
        clean, whys, explanations, shared = self.redaction.clean, self._why, self.explanations, self._lines
        hider: list[Callable[[str], str]] = []

        def hide(text: str) -> str:
            if clean(text):
                return text
            if not hider:
                hider.append(self.redaction.hider(mid))
            return hider[0](text)

        figs = {"ea": fmt_num(m.ea), "nmv": fmt_money(m.nmv), "nr": fmt_money(m.net_revenue),
                "avg_assets": fmt_money(m.avg_assets), "a3": fmt_money(m.a3)}
        fields: list[dict[str, dict[str, Any]]] = []

        def figure(name: str, ln: PayLine) -> str:
            if name in _GRADE_FIELDS:
                return g
            if name == "amount":
                return fmt_money(abs(ln.amount))
            if name not in figs:
                figs[name] = _PERSON_FIELDS[name](m)
            return figs[name]

        def row(ln: PayLine, cls: str = "") -> dict[str, Any]:
            c = ln.component
            names = self._why_fields[c] if c in self._why_fields else self._reason_fields(c)
            if names is None:
                key = None
            else:
                key = (c, ln.rule, *(figure(n, ln) for n in names)) if names else (c, ln.rule)
            amount = ln.amount
            if key is not None:  # a line like one already shown, to someone else, with nothing to blot out
                same = (key, cls, amount, amount.is_signed(), ln.detail)  # -0.00 == 0.00, shown apart
                r = shared.get(same)
                if r is not None:
                    return r
            why = whys.get(key) if key is not None else None
            if why is None:
                patterns = self._reason_patterns(c, ln.rule, g) if key is not None else None
                if patterns is not None:  # the person's figures into the reason written for the grade
                    own = {n: v for n, v in zip(names, key[2:]) if n in _OWN_FIELDS}  # type: ignore[arg-type]
                    zh, en = (p.format_map(own) for p in patterns)
                    zh, en = zh[:1].upper() + zh[1:], en[:1].upper() + en[1:]
                else:
                    if not fields:
                        fields.append(person_fields(m, self.rules, self.cfg, self.base, self.grades, figs))
                    text = explain(ln, explanations[c], fields[0])
                    zh, en = text["zh"], text["en"]
                why = (zh, en, zh if clean(zh) else None, en if clean(en) else None)
                if key is not None:
                    whys[key] = why
            formula = ln.detail if self._formula[c] else ""
            clean_formula = not formula or clean(formula)
            r = {"component": c, "cls": cls, "amount": fmt_money(amount), "negative": amount < 0,
                 "rule": ln.rule, "zh": why[2] if why[2] is not None else hide(why[0]),
                 "en": why[3] if why[3] is not None else hide(why[1]),
                 "formula": formula if clean_formula else hide(formula)}
            if key is not None and clean_formula and why[2] is not None and why[3] is not None:
                shared[same] = r
            return r

        by = {ln.component: ln for ln in self.result.lines_of(mid)}
        earnings = [row(by[c]) for c in EARNINGS if c in by]
        after_tax = [row(by[c]) for c in AFTER_TAX if c in by]
        if "gross_pay" in by:
            earnings.append(row(by["gross_pay"], "total"))
        if "net_pay" in by:
            after_tax.append(row(by["net_pay"], "net"))
        to_next = next_grade_text(m, self.rules, self.cfg, self._next_grade, figs["a3"])
        return {
            "manager_id": mid, "name": m.name, "project": m.project or "", "station": m.station or "",
            "position": self._pair("positions", m.position), "contract": self._pair("contracts", m.contract),
            "id_number": mask_id_number(m.id_number), "bank_account": mask_account(m.bank_account),
            "refund_only": m.refund_only, "earnings": earnings, "after_tax": after_tax,
            "figures": [figs["avg_assets"], figs["a3"], figs["ea"], figs["nmv"], figs["nr"],
                        f"{round4(m.score_raw):.4f} / {round4(m.score_applied):.4f}",
                        f"{round1(m.management_score):.1f}"],
            "grade_now": self._pair("grades", g), "grade_next": self._pair("grades", m.grade_next),
            "changed": m.grade_next != g, "grade_rule": m.grade_rule,
            "grade_why": hide(m.grade_reason), "to_next_zh": to_next["zh"], "to_next_en": to_next["en"],
        }

    def context(self, v: Mapping[str, Any]) -> dict[str, Any]:
        """The template's context from :meth:`values` (or from the stencil's markers)."""
        return {
            **self.constants,
            "person": {"manager_id": v["manager_id"], "name": v["name"], "project": v["project"],
                       "station": v["station"], "position": v["position"], "contract": v["contract"],
                       "id_number": v["id_number"], "bank_account": v["bank_account"]},
            "refund_only": v["refund_only"], "earnings": v["earnings"], "after_tax": v["after_tax"],
            "figures": list(zip(FIGURES, v["figures"])),
            "grade": {"now": v["grade_now"], "next": v["grade_next"], "changed": v["changed"],
                      "rule": v["grade_rule"], "why": v["grade_why"],
                      "to_next": {"zh": v["to_next_zh"], "en": v["to_next_en"]}},
        }

    # -- the stencils ---------------------------------------------------------------------------------

    def _template(self) -> Any:
        return _environment(str(self.templates)).get_template(TEMPLATE)

    @staticmethod
    def _probe_row(prefix: str, component: str, negative: bool, formula: bool) -> dict[str, Any]:
        return {"component": component, "negative": negative,
                **{k: _Hole(prefix + k, True if k == "formula" and formula else None) for k in _ROW_HOLES},
                **({} if formula else {"formula": ""})}

    def _page(self, shape: tuple[Any, ...]) -> _Stencil:
        """The page's stencil for one shape: person's values as fields, each table's rows as one field."""
        refund_only, changed, rule, n_next = shape
        probe_rows = {"earnings": self._probe_row("e_", EARNINGS[0], False, True),
                      "after_tax": self._probe_row("a_", AFTER_TAX[0], False, True)}
        v = {
            **{k: _Hole(k) for k in _PAGE_HOLES if k != "grade_rule"},
            **{k: (_Hole(k + "_zh"), _Hole(k + "_en")) for k in _PAIR_HOLES},
            "refund_only": refund_only, "changed": changed,
            "grade_rule": _Hole("grade_rule", True) if rule else "",
            "figures": [_Hole(f"figure_{i}") for i in range(len(FIGURES))],
            "to_next_zh": [_Hole(f"next_zh_{i}") for i in range(n_next)],
            "to_next_en": [_Hole(f"next_en_{i}") for i in range(n_next)],
            "earnings": [probe_rows["earnings"]], "after_tax": [probe_rows["after_tax"]],
        }
        module = self._template().make_module(self.context(v))
        if self._module is None:
            self._module = module
        text = str(module)
        for table, probe in probe_rows.items():
            rows = str(module.line_row(probe))
            if text.count(rows) != 1:
                raise _NoStencil(f"the rows of {table} are not where the stencil looks for them")
            text = text.replace(rows, _mark(f"rows_{table}"))
        holes = {h.key for h in v.values() if isinstance(h, _Hole)} | {
            h.key for k in _PAIR_HOLES for h in v[k]} | {
            h.key for k in ("figures", "to_next_zh", "to_next_en") for h in v[k]} | {
            "rows_earnings", "rows_after_tax"}
        return _Stencil(text, holes, frozenset({"rows_earnings", "rows_after_tax"}))

    def _row(self, shape: tuple[str, bool, bool]) -> _Stencil:
        if self._module is None:
            self._page((False, False, False, 0))
        component, negative, formula = shape
        return _Stencil(str(self._module.line_row(self._probe_row("", component, negative, formula))),
                        set(_ROW_HOLES), _ROW_SAFE)

    def fill(self, v: Mapping[str, Any]) -> str:
        """The payslip from the stencils (:meth:`values` of one person)."""
        e = self._escape
        rows = {}
        for table in ("earnings", "after_tax"):
            out = []
            for r in v[table]:
                html = r.get("html")  # a row shared by many payslips is filled in once
                if html is None:
                    shape = (r["component"], r["negative"], bool(r["formula"]))
                    pattern = self._rows.get(shape)
                    if pattern is None:
                        pattern = self._rows[shape] = self._row(shape)
                    html = r["html"] = pattern.fill(r, e)
                out.append(html)
            rows[table] = "".join(out)
        to_next_zh, to_next_en = v["to_next_zh"], v["to_next_en"]
        shape = (bool(v["refund_only"]), bool(v["changed"]), bool(v["grade_rule"]), len(to_next_zh))
        page = self._pages.get(shape)
        if page is None:
            page = self._pages[shape] = self._page(shape)
        values = {k: v[k] for k in _PAGE_HOLES}
        for k in _PAIR_HOLES:
            values[k + "_zh"], values[k + "_en"] = v[k]
        values.update(zip(_FIGURE_HOLES, v["figures"]))
        for i, (zh, en) in enumerate(zip(to_next_zh, to_next_en)):
            values[f"next_zh_{i}"], values[f"next_en_{i}"] = zh, en
        values["rows_earnings"], values["rows_after_tax"] = rows["earnings"], rows["after_tax"]
        return page.fill(values, e)

    def html(self, m: ManagerResult) -> bytes:
        """One person's payslip: from the stencils, or rendered by Jinja2 if they cannot stand for it. The
        first payslip made with a new stencil is rendered by Jinja2 as well, and must come out the same."""
        v = self.values(m)
        if self.stencils:
            made = len(self._pages) + len(self._rows)
            try:
                html = self.fill(v).encode("utf-8")
            except _NoStencil:
                self.stencils = False
            else:
                if len(self._pages) + len(self._rows) == made:
                    return html
                plain = render_payslip(self.context(v), self.templates)
                self.stencils = html == plain
                return plain
        return render_payslip(self.context(v), self.templates)


def payslip_context(m: ManagerResult, result: MonthResult, rule_set: LoadedRuleSet, *, run_id: str,
                    pay_day: str, cfg: ReportConfig, explanations: Mapping[str, Any],
                    month: PayslipMonth | None = None) -> dict[str, Any]:
    """One person's context for templates/payslip.html.j2."""
    month = month or PayslipMonth(result, rule_set, run_id=run_id, pay_day=pay_day, cfg=cfg,
                                  explanations=explanations)
    return month.context(month.values(m))


def render_payslip(context: Mapping[str, Any], templates: Path = TEMPLATES_DIR) -> bytes:
    return _environment(str(templates)).get_template(TEMPLATE).render(**context).encode("utf-8")


def weasyprint_available() -> bool:
    try:
        import weasyprint  # noqa: F401
    except (ImportError, OSError):  # OSError: the Python package is there, its system libraries are not
        return False
    return True


def html_to_pdf(html: bytes, templates: Path = TEMPLATES_DIR) -> bytes:
    """A PDF of a payslip with WeasyPrint; the PDF's times come from the page's dcterms meta tags."""
    import weasyprint

    return weasyprint.HTML(string=html.decode("utf-8"), base_url=str(templates)).write_pdf()


def payslips(result: MonthResult, rule_set: LoadedRuleSet, *, run_id: str, pay_day: str,
             config: ReportConfig | None = None, pdf: bool | None = None,
             templates: Path = TEMPLATES_DIR) -> dict[str, bytes]:
    """``{"payslips/<manager_id>.html": bytes}`` for everyone settled, and ``.pdf`` with WeasyPrint
    (``pdf=None``: as report.yaml's ``payslip.pdf`` says; ``auto``: when WeasyPrint is installed)."""
    render = payslip_renderer(result, rule_set, run_id=run_id, pay_day=pay_day, config=config, pdf=pdf,
                              templates=templates)
    return render(result.managers)


def payslip_renderer(result: MonthResult, rule_set: LoadedRuleSet, *, run_id: str, pay_day: str,
                     config: ReportConfig | None = None, pdf: bool | None = None,
                     templates: Path = TEMPLATES_DIR,
                     ) -> Callable[[Sequence[ManagerResult]], dict[str, bytes]]:
    """What :func:`payslips` does, for any of the month's people at a time: the month's shared part
    (PayslipMonth) made once, here; each call gives the files of the people it is given, the same bytes
    whoever else's were made before (cmsettle.pipeline shares the payslips out between two processes)."""
    cfg = config or load_config()
    explanations = load_explanations()
    if pdf is None:
        pdf = str(cfg.data["payslip"].get("pdf", "auto")) == "auto" and weasyprint_available()
    with_pdf = pdf
    month = PayslipMonth(result, rule_set, run_id=run_id, pay_day=pay_day, cfg=cfg, explanations=explanations,
                         templates=templates)

    def render(managers: Sequence[ManagerResult]) -> dict[str, bytes]:
        out: dict[str, bytes] = {}
        for m in managers:
            html = month.html(m)
            out[f"{PAYSLIP_DIR}/{m.manager_id}.html"] = html
            if with_pdf:
                out[f"{PAYSLIP_DIR}/{m.manager_id}.pdf"] = html_to_pdf(html, templates)
        return out

    return render

