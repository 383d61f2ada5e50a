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
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

import yaml
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from markupsafe import Markup

from cmsettle import TEMPLATES_DIR
from cmsettle.compute.lines import AFTER_TAX, COMPONENTS, EARNINGS, PayLine
from cmsettle.compute.settle import ManagerResult, MonthResult
from cmsettle.model import GRADES
from cmsettle.money import fmt_money, fmt_num, round1, round4
from cmsettle.outputs.report import CONFIG_DIR, ReportConfig, load_config
from cmsettle.ruleset.diff import parameters
from cmsettle.ruleset.loader import LoadedRuleSet
from cmsettle.ruleset.schema import RuleSet

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
        data = yaml.safe_load(fh)
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
    return {"gpct": {k: _pct(v) for k, v in row_num.items()}, "gmoney": {k: fmt_money(v) for k, v in row_num.items()}}


def person_fields(m: ManagerResult, rules: RuleSet, cfg: ReportConfig, base: Mapping[str, Mapping[str, str]],
                  grades: dict[str, dict[str, dict[str, str]]] | None = None) -> dict[str, dict[str, Any]]:
    """:func:`figures` in both languages, {"zh": ..., "en": ...}; ``grades`` keeps :func:`grade_figures`
    per grade for a month of payslips."""
    g = m.grade_in_effect
    if grades is None:
        grades = {}
    if g not in grades:
        grades[g] = grade_figures(rules, g)
    zh, en = cfg.pair("grades", g)
    common = {
        **base, "ea": fmt_num(m.ea), "nmv": fmt_money(m.nmv),
        "nr": fmt_money(m.net_revenue), "avg_assets": fmt_money(m.avg_assets), "a3": fmt_money(m.a3),
        "score": fmt_num(round4(m.score_raw)), "score_applied": fmt_num(round4(m.score_applied)),
        "mscore": fmt_num(round1(m.management_score)), **grades[g],
    }
    return {"zh": {**common, "grade": zh}, "en": {**common, "grade": en}}


def explain(line: PayLine, spec: Mapping[str, Any], fields: Mapping[str, Mapping[str, Any]]) -> dict[str, str]:
    """The reason of one line in Chinese and English, {"zh": ..., "en": ...}: ``spec`` is the component's
    entry of explanations.yaml, ``fields`` the :func:`figures` of each language."""
    fmt = string.Formatter()
    out = {}
    for lang in ("zh", "en"):
        f = dict(fields[lang], amount=fmt_money(abs(line.amount)))
        parts = [spec.get("parts", {}).get(r, {}).get(lang) for r in line.rule.split(";") if r]
        f["parts"] = ("；" if lang == "zh" else "; ").join(fmt.vformat(str(p), (), f) for p in parts if p)
        text = fmt.vformat(str(spec[lang]), (), f)
        out[lang] = text[:1].upper() + text[1:]  # an English reason may start with a part ("first ...")
    return out


# ---- the next grade -------------------------------------------------------------------------------

def next_grade_text(m: ManagerResult, rules: RuleSet, cfg: ReportConfig) -> dict[str, list[str]]:
    """What it would take to reach the grade above next month's (G1/G2; for a trainee also G5)."""
    ps = cfg.data["payslip"]
    out: dict[str, list[str]] = {"zh": [], "en": []}
    if m.refund_only:
        return out
    g = m.grade_next if m.grade_next in GRADES else m.grade_in_effect
    i = GRADES.index(g)
    for lang in ("zh", "en"):
        if i + 1 >= len(GRADES):
            out[lang].append(str(ps["top_grade"][lang]))
            continue
        target = GRADES[i + 1]
        name = cfg.pair("grades", target)[0 if lang == "zh" else 1]
        threshold = rules.grades.row(target).threshold
        gap = threshold - m.a3
        key = "next_grade" if gap > 0 else "next_grade_reached"
        out[lang].append(str(ps[key][lang]).format(grade=name, threshold=fmt_money(threshold),
                                                   a3=fmt_money(m.a3), gap=fmt_money(max(gap, Decimal(0)))))
        if g == GRADES[0]:
            out[lang].append(str(ps["probation"][lang]).format(
                mean=fmt_num(rules.grading.conversion_mean), grade=name))
    return out


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
        self.own_names: dict[str, set[str]] = {}  # manager id -> the names of that id (one, unless ids repeat)
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
            self.rx_ids = re.compile(rf"(?<![0-9A-Za-z])[{re.escape(chars)}]{{{lo},{hi}}}(?![0-9A-Za-z])")
        else:  # unusual ids: the general pattern, everyone's (longest first)
            self.rx_ids = re.compile("|".join(rf"(?<![0-9A-Za-z]){re.escape(i)}(?![0-9A-Za-z])"
                                              for i in sorted(self.ids, key=len, reverse=True)))
        starts = "".join(sorted({n[0] for n in self.names}))
        self.rx_starts = re.compile(f"[{re.escape(starts)}]") if starts else None

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

@functools.lru_cache(maxsize=4)
def _environment(folder: str) -> Environment:
    env = Environment(loader=FileSystemLoader(folder), autoescape=select_autoescape(["html", "j2"]),
                      undefined=StrictUndefined, keep_trailing_newline=True, trim_blocks=True,
                      lstrip_blocks=True)
    return env


@dataclass(frozen=True)
class Bilingual:
    """Labels for the template: ``L(group, key)`` gives marked-up text in the configured language(s)."""

    cfg: ReportConfig

    def __call__(self, group: str, key: str) -> Markup:
        zh, en = self.cfg.pair(group, key)
        return self.both(zh, en)

    def both(self, zh: str, en: str) -> Markup:
        lang = self.cfg.language
        if lang == "zh":
            return Markup('<span class="zh">{}</span>').format(zh)
        if lang == "en":
            return Markup('<span class="en">{}</span>').format(en)
        return Markup('<span class="zh">{}</span> <span class="en">{}</span>').format(zh, en)


class MonthParts:
    """What every payslip of a month shares, built once per :func:`payslips` call (not once per person:
    5,000 payslips would otherwise redo the month's work 5,000 times)."""

    def __init__(self, result: MonthResult, rule_set: LoadedRuleSet):
        self.redaction = Redaction(result.managers)
        self.base = rule_figures(rule_set.rules)
        self.grades: dict[str, dict[str, dict[str, str]]] = {}


def payslip_context(m: ManagerResult, result: MonthResult, rule_set: LoadedRuleSet, *, run_id: str,
                    pay_day: str, cfg: ReportConfig, explanations: Mapping[str, Any],
                    parts: MonthParts | None = None) -> dict[str, Any]:
    rules = rule_set.rules
    parts = parts or MonthParts(result, rule_set)
    hide = parts.redaction.hider(m.manager_id)
    lines = result.lines_of(m.manager_id)
    fields = person_fields(m, rules, cfg, parts.base, parts.grades)

    def row(ln: PayLine) -> dict[str, Any]:
        why = explain(ln, explanations[ln.component], fields)
        show_formula = explanations[ln.component].get("formula", True) is not False
        return {"component": ln.component, "amount": fmt_money(ln.amount), "negative": ln.amount < 0,
                "rule": ln.rule, "zh": hide(why["zh"]), "en": hide(why["en"]),
                "formula": hide(ln.detail) if show_formula and ln.detail else ""}

    by = {ln.component: ln for ln in lines}
    earnings = [row(by[c]) for c in EARNINGS if c in by]
    after_tax = [row(by[c]) for c in AFTER_TAX if c in by]
    org = cfg.data.get("organisation") or {}
    return {
        "L": Bilingual(cfg), "lang": cfg.language, "month": str(result.month), "pay_day": pay_day,
        "month_end": result.month.last_day.isoformat(),
        "run_id": run_id, "rule_set_id": rule_set.id,
        "org": {"zh": str(org.get("zh") or ""), "en": str(org.get("en") or "")},
        "person": {
            "manager_id": m.manager_id, "name": m.name, "project": m.project or "", "station": m.station or "",
            "position": cfg.pair("positions", m.position) if m.position in cfg.data["positions"] else (
                m.position, m.position),
            "contract": cfg.pair("contracts", m.contract) if m.contract in cfg.data["contracts"] else (
                m.contract, m.contract),
            "id_number": mask_id_number(m.id_number), "bank_account": mask_account(m.bank_account),
        },
        "refund_only": m.refund_only,
        "earnings": earnings, "after_tax": after_tax,
        "gross": row(by["gross_pay"]) if "gross_pay" in by else None,
        "net": row(by["net_pay"]) if "net_pay" in by else None,
        "figures": [
            ("avg_assets", fmt_money(m.avg_assets)), ("a3", fmt_money(m.a3)), ("ea", fmt_num(m.ea)),
            ("nmv", fmt_money(m.nmv)), ("nr", fmt_money(m.net_revenue)),
            ("score", f"{round4(m.score_raw):.4f} / {round4(m.score_applied):.4f}"),
            ("management_score", f"{round1(m.management_score):.1f}"),
        ],
        "grade": {
            "now": cfg.pair("grades", m.grade_in_effect), "next": cfg.pair("grades", m.grade_next),
            "changed": m.grade_next != m.grade_in_effect, "rule": m.grade_rule, "why": hide(m.grade_reason),
            "to_next": next_grade_text(m, rules, cfg),
        },
    }


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
    cfg = config or load_config()
    explanations = load_explanations()
    if pdf is None:
        pdf = str(cfg.data["payslip"].get("pdf", "auto")) == "auto" and weasyprint_available()
    with_pdf = pdf
    parts = MonthParts(result, rule_set)
    out: dict[str, bytes] = {}
    for m in result.managers:
        html = render_payslip(payslip_context(m, result, rule_set, run_id=run_id, pay_day=pay_day, cfg=cfg,
                                              explanations=explanations, parts=parts), templates)
        out[f"{PAYSLIP_DIR}/{m.manager_id}.html"] = html
        if with_pdf:
            out[f"{PAYSLIP_DIR}/{m.manager_id}.pdf"] = html_to_pdf(html, templates)
    return out

