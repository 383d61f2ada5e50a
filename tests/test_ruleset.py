"""Rule sets as data (issue 4): strict loading, one tiny bad file per error, resolve, ids, show, diff."""

from __future__ import annotations

import hashlib
import sys
from decimal import Decimal
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))  # tests/ruleset_cases.py

from ruleset_cases import CASES, PACKAGED, build, sections, variant  # noqa: E402

from cmsettle import DEFAULT_RULES_DIR  # noqa: E402
from cmsettle.errors import Exit, InputError  # noqa: E402
from cmsettle.months import Month  # noqa: E402
from cmsettle.ruleset.diff import diff, parameters  # noqa: E402
from cmsettle.ruleset.ids import Ref, packaged, parse_comment, refs_of_text  # noqa: E402
from cmsettle.ruleset.loader import load_all, parse_ruleset, resolve, validate  # noqa: E402
from cmsettle.ruleset.schema import RuleSet  # noqa: E402
from cmsettle.ruleset.show import as_json  # noqa: E402

RULEBOOK = Path(__file__).resolve().parents[2] / "shared" / "spec" / "RULEBOOK.md"


def problems_of(path: Path) -> list:
    with pytest.raises(InputError) as info:
        parse_ruleset(path)
    assert info.value.exit_code == Exit.BAD_INPUT
    return info.value.problems


# The packaged rules ---------------------------------------------------------------------------------------

def test_the_packaged_rules_validate_and_hold_the_rulebook_defaults() -> None:
    [rs] = load_all(DEFAULT_RULES_DIR)
    r = rs.rules
    assert (rs.id, r.effective_from, rs.path.name) == ("default-2024", "2024-01", "2024-01-default.yaml")
    assert len(rs.sha256) == 64
    # a sample across the RULEBOOK, every one a Decimal (never a float)
    assert r.metrics.revenue_tax_rate == Decimal("0.0565") and type(r.metrics.revenue_tax_rate) is Decimal
    assert r.metrics.regulatory_fee_rate == Decimal("0.0000687")
    assert r.metrics.institution_weight == 3
    assert r.attendance.statutory_pay_days == Decimal("21.75")
    assert r.earnings.excess_mv_cap == 3000 and r.earnings.qualification_factor == Decimal("0.8")
    assert r.penalties.management_fee_rate == 0
    assert r.social_insurance.employee_rates.total == Decimal("0.175")
    assert [(b.upto, b.rate, b.quick) for b in r.tax.brackets][0] == (36000, Decimal("0.03"), 0)
    assert r.tax.brackets[-1].upto is None and r.tax.brackets[-1].quick == 181920
    # §9, row by row
    table = [(g, r.grades.row(g).threshold, r.grades.row(g).fixed_standard[1], r.grades.row(g).base_rate,
              r.grades.row(g).ea_target, r.grades.row(g).nmv_target, r.grades.row(g).nr_target,
              r.grades.row(g).transport) for g in ("trainee", "assistant", "manager", "senior", "chief")]
    assert table == [
        ("trainee", 0, 1500, Decimal("0.10"), 2, 100000, 2000, 120),
        ("assistant", 500000, 2000, Decimal("0.15"), 3, 300000, 5000, 120),
        ("manager", 3000000, 2500, Decimal("0.20"), 5, 500000, 10000, 200),
        ("senior", 6000000, 3500, Decimal("0.25"), 6, 1000000, 20000, 300),
        ("chief", 12000000, 5000, Decimal("0.30"), 8, 2000000, 40000, 300),
    ]


def test_no_number_of_a_rule_set_is_a_float() -> None:
    [rs] = load_all(DEFAULT_RULES_DIR)
    assert not [k for k, v in parameters(rs.rules).items() if isinstance(v, float)]


# One tiny bad file per error: file, line, key path, message, expected ------------------------------------

#: case file → [(line, key path, words of the message, words of what was expected, value shown)]
BAD = {
    "rate_above_one.yaml": [
        (9, "earnings.fund_commission_rate", "out of range", "a rate from 0 to 1", "1.5")],
    "rate_below_zero.yaml": [
        (5, "metrics.revenue_tax_rate", "out of range", "a rate from 0 to 1", "-0.0565")],
    "management_fee_above_cap.yaml": [
        (7, "penalties.management_fee_rate", "out of range", "a rate from 0 to 0.05", "0.06")],
    "thresholds_not_increasing.yaml": [
        (6, "grades.senior.threshold", "senior 3000000 is not above manager 3000000",
         "a threshold above 3000000 (G1: trainee < assistant < manager < senior < chief)", "3000000")],
    "grade_missing.yaml": [
        (2, "grades.senior", "missing key", "a mapping with the keys threshold, fixed_standard", None)],
    "target_zero.yaml": [
        (4, "grades.assistant.ea_target", "out of range", "a number > 0", "0")],
    "cap_missing.yaml": [
        (4, "risk_fund.caps", "missing position(s): station_manager",
         "an entry for each of: marketer, station_manager, regional_manager", None)],
    "cap_negative.yaml": [
        (5, "risk_fund.caps.marketer", "out of range", "a number >= 0", "-10000")],
    "event_missing.yaml": [
        (8, "management_score.events", "missing management event(s): complaint",
         "an entry for each of: no_promotion", None)],
    "score_floor_above_cap.yaml": [
        (5, "score.floor", "score floor 1.30 is above its cap 1.20", "floor <= cap", None)],
    "effective_from_not_a_month.yaml": [
        (3, "effective_from", "not a month", "a month YYYY-MM", "'2024-13'")],
    "unknown_key.yaml": [
        (2, "earnings.account_bonus", "missing key", "a number >= 0", None),
        (5, "earnings.acount_bonus", "unknown key (did you mean account_bonus?)",
         "one of the keys qualification_factor, qualification_service_months, account_bonus", None)],
    "duplicate_key.yaml": [
        (7, "metrics.revenue_tax_rate", "duplicate key", "each key once (first given at line 5)", None)],
    "quoted_number.yaml": [
        (3, "attendance.late_fine", "wrong type: text, not a number", "a number >= 0", "'50'")],
    "two_errors.yaml": [
        (6, "grades.senior.base_rate", "out of range", "a rate from 0 to 1", "1.5"),
        (8, "commission_bonus", "unknown key", "one of the keys id, effective_from, description, metrics",
         None)],
    "brackets_not_increasing.yaml": [
        (8, "tax.brackets.1.upto", "upper bound 14400 is not above the previous 36000",
         "increasing upper bounds, here above 36000", "14400")],
    "calendar_date_outside_year.yaml": [
        (4, "calendar.2027.holidays.1", "date 2026-12-31 belongs to another year", "a date in 2027",
         "2026-12-31")],
    "calendar_holiday_and_workday.yaml": [
        (5, "calendar.2027.workdays.0", "2027-02-07 is both a holiday and a workday",
         "each date in one list only", "2027-02-07")],
    "not_yaml.yaml": [
        (3, None, "not readable YAML", "valid YAML", None)],
}


def test_every_case_file_has_expectations() -> None:
    assert sorted(p.name for p in CASES.glob("*.yaml")) == sorted(BAD)


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_rule_set(case: str, tmp_path: Path) -> None:
    path = build(case, tmp_path)
    found = problems_of(path)
    assert len(found) == len(BAD[case]), "\n".join(map(str, found))
    for problem, (line, key, message, expected, value) in zip(found, BAD[case]):
        text = str(problem)
        assert problem.file == str(path) and case in text
        assert (problem.line, problem.key_path) == (line, key), text
        assert message in problem.message, text
        assert expected in problem.expected, text
        assert problem.value == value, text
        where = f"{path}:{line} {key}:" if key else f"{path}:{line}:"
        assert text.startswith(where), text
        assert text.endswith(f", expected {problem.expected}"), text


def test_the_message_line_reads_file_line_key_message_got_expected(tmp_path: Path) -> None:
    [problem] = problems_of(build("rate_above_one.yaml", tmp_path))
    path = tmp_path / "rate_above_one.yaml"
    assert str(problem) == (f"{path}:9 earnings.fund_commission_rate: out of range: "
                            "got 1.5, expected a rate from 0 to 1 (0.05 is 5%)")


def test_a_missing_section_is_reported_at_the_mapping_that_lacks_it() -> None:
    path = CASES / "cap_missing.yaml"  # the fragment alone: every other section is missing
    found = problems_of(path)
    assert str(found[0]) == f"{path}:2 id: missing key, expected text (not empty)"
    assert str(found[2]) == (f"{path}:2 metrics: missing key, expected a mapping with the keys "
                             "institution_weight, effective_threshold, revenue_tax_rate, regulatory_fee_rate")
    assert [p.key_path for p in found][-1] == "risk_fund.caps"
    assert len(found) == 16  # 15 missing sections (calendar and description are optional) + the caps


def test_wrong_types_are_refused_not_coerced(tmp_path: Path) -> None:
    path = variant(tmp_path, "types.yaml", "grading:\n  demotion_score: 0.60\n  probation_months: true\n"
                   "  probation_hire_day: 15.5\n  conversion_mean: 1.00\n  early_conversion_mean: 1.20\n"
                   "  low_activity_ea: 2\n  low_activity_nmv: 1e5x\n")
    found = {p.key_path: (p.line, p.message, p.value, p.expected) for p in problems_of(path)}
    assert found == {
        "grading.probation_months": (3, "wrong type", "true", "a whole number >= 1"),
        "grading.probation_hire_day": (4, "wrong type", "15.5", "a whole number from 1 to 31"),
        "grading.low_activity_nmv": (
            8, "wrong type: text, not a number (write numbers without quotes)", "'1e5x'", "a number >= 0"),
    }


def test_a_float_given_from_code_is_refused() -> None:
    [rs] = load_all(DEFAULT_RULES_DIR)
    data = rs.rules.model_dump()
    data["metrics"]["revenue_tax_rate"] = 0.0565
    with pytest.raises(ValueError, match="wrong type: float, not an exact number"):
        RuleSet.model_validate(data)


def test_all_problems_of_all_files_at_once(tmp_path: Path) -> None:
    build("two_errors.yaml", tmp_path)
    build("cap_negative.yaml", tmp_path)
    loaded, problems = validate(tmp_path)
    assert loaded == []
    assert [(Path(p.file).name, p.line, p.key_path) for p in problems] == [
        ("cap_negative.yaml", 5, "risk_fund.caps.marketer"),
        ("two_errors.yaml", 6, "grades.senior.base_rate"),
        ("two_errors.yaml", 8, "commission_bonus"),
    ]
    with pytest.raises(InputError) as info:
        load_all(tmp_path)
    assert len(info.value.problems) == 3


def test_two_rule_sets_with_the_same_effective_from_are_rejected(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text(PACKAGED.read_text(encoding="utf-8"), encoding="utf-8")
    variant(tmp_path, "b.yaml", "id: branch-copy\n")
    with pytest.raises(InputError) as info:
        load_all(tmp_path)
    [problem] = info.value.problems
    # b.yaml: line 1 is its own id, line 2 the packaged effective_from
    assert (Path(problem.file).name, problem.line, problem.key_path) == ("b.yaml", 2, "effective_from")
    assert "effective_from 2024-01 is also used by" in problem.message and "a.yaml" in problem.message
    assert problem.expected == "one rule set per effective_from month"


def test_an_empty_folder_is_a_problem(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no rule set"):
        load_all(tmp_path)


# resolve: the newest rule set with effective_from <= month ---------------------------------------------

def test_resolve_picks_the_newest_rule_set_in_force(tmp_path: Path) -> None:
    (tmp_path / "2024-01-default.yaml").write_text(PACKAGED.read_text(encoding="utf-8"), encoding="utf-8")
    variant(tmp_path, "2024-05-branch.yaml", "id: branch-2024-05\neffective_from: 2024-05\n")
    assert resolve(tmp_path, Month.parse("2024-01")).id == "default-2024"
    assert resolve(tmp_path, Month.parse("2024-04")).id == "default-2024"
    assert resolve(tmp_path, Month.parse("2024-05")).id == "branch-2024-05"
    assert resolve(tmp_path, Month.parse("2031-12")).id == "branch-2024-05"
    picked = resolve(tmp_path, Month.parse("2024-05"))
    assert picked.path.name == "2024-05-branch.yaml"
    assert picked.sha256 == hashlib.sha256(picked.path.read_bytes()).hexdigest()
    with pytest.raises(InputError, match="no rule set in force for 2023-12"):
        resolve(tmp_path, Month.parse("2023-12"))


# RULEBOOK ids from the comments ------------------------------------------------------------------------

def test_comments_parse_into_ids_and_term() -> None:
    assert parse_comment("# M3/D8 有效户标准: buy turnover") == Ref(("M3", "D8"), "有效户标准: buy turnover")
    assert parse_comment("# G1 + §9 业务职级") == Ref(("G1", "§9"), "业务职级")
    assert parse_comment("# TX2 年度税率表") == Ref(("TX2",), "年度税率表")
    assert parse_comment("# 见习客户经理") == Ref((), "见习客户经理")
    assert parse_comment("# reported only (RULEBOOK silent)") == Ref((), "reported only (RULEBOOK silent)")


def test_a_hash_inside_a_quoted_value_is_not_a_comment() -> None:
    refs = refs_of_text('a:\n  b: "x # P1 not a comment"   # P4 开户奖\n  c: 1 #P9\n')
    assert refs[("a", "b")] == Ref(("P4",), "开户奖")
    assert refs[("a", "c")] == Ref(("P9",), "")


@pytest.mark.parametrize(("path", "ids"), [
    ("earnings.account_bonus", ("P4",)),
    ("metrics.effective_threshold", ("M3", "D8")),
    ("grades.senior.base_rate", ("P3",)),         # only the trainee row is commented: the column shares it
    ("grades.chief.threshold", ("G1",)),
    ("grades.manager.fixed_standard.1", ("P1",)),
    ("grades.senior.nmv_target", ("M6", "P5")),
    ("tax.brackets.3.rate", ("TX2",)),             # from the ancestor tax.brackets
    ("tax.agent_cost_share", ("TX3",)),
    ("management_score.events.complaint", ("M7",)),
    ("risk_fund.caps.station_manager", ("F1",)),
    ("social_insurance.employer_rates.medical", ("TX1",)),
    ("calendar.2027.holidays", ("D44",)),
    ("payday.day", ("O4",)),
    ("penalties.management_fee_rate", ("X6",)),
])
def test_rulebook_ids_of_key_paths(path: str, ids: tuple[str, ...]) -> None:
    assert packaged().ids(path) == ids


def test_every_parameter_of_the_packaged_rules_has_a_rulebook_id() -> None:
    [rs] = load_all(DEFAULT_RULES_DIR)
    lacking = [p for p in parameters(rs.rules) if not packaged().ids(p)]
    assert lacking == []
    mapping = packaged().mapping()
    assert mapping["grades.*.base_rate"] == ("P3",) and mapping["earnings.account_bonus"] == ("P4",)


@pytest.mark.skipif(not RULEBOOK.is_file(), reason="RULEBOOK.md is not next to this checkout")
def test_every_id_in_the_comments_exists_in_the_rulebook() -> None:
    text = RULEBOOK.read_text(encoding="utf-8")
    ids = {i for ref in packaged().exact.values() for i in ref.ids}
    assert {"P4", "M3", "D8", "TX2", "D44", "§9"} <= ids
    assert sorted(i for i in ids if i not in text) == []


# show and diff -----------------------------------------------------------------------------------------

def test_show_json_has_provenance_and_every_parameter_with_its_id() -> None:
    rs = resolve(DEFAULT_RULES_DIR, Month.parse("2024-05"))
    data = as_json(rs, Month.parse("2024-05"))
    assert (data["id"], data["effective_from"], data["month"]) == ("default-2024", "2024-01", "2024-05")
    assert data["sha256"] == rs.sha256 and data["file"] == str(rs.path)
    assert data["calendar_source"] == "PRC calendar (chinese_calendar)"
    assert data["parameters"]["grades.senior.base_rate"] == {"value": "0.25", "rulebook": ["P3"]}
    assert data["parameters"]["metrics.regulatory_fee_rate"] == {"value": "0.0000687", "rulebook": ["M5"]}
    assert data["parameters"]["tax.brackets.6.upto"] == {"value": "null", "rulebook": ["TX2"]}
    assert len(data["parameters"]) == len(parameters(rs.rules))


def test_diff_lists_changed_added_and_removed_parameters_with_ids(tmp_path: Path) -> None:
    base = parse_ruleset(PACKAGED)
    other = parse_ruleset(variant(tmp_path, "b.yaml", "\n".join([
        "id: branch-2024-05",
        "effective_from: 2024-05",
        "calendar: {2027: {holidays: [2027-05-03], workdays: [2027-04-25]}}",
        "tax:",
        "  monthly_deduction: 5000",
        "  agent_income_factor: 0.80",  # 0.8 written differently: no change
        "  agent_cost_share: 0.25",
        "  brackets:",
        "    - {upto: 36000, rate: 0.03, quick: 0}",
        "    - {upto: null, rate: 0.45, quick: 181920}",
        "",
    ])))
    changes = [str(c) for c in diff(base.rules, other.rules)]
    assert changes == [
        "tax.brackets.1.upto: 144000 → null  (TX2)",
        "tax.brackets.1.rate: 0.10 → 0.45  (TX2)",
        "tax.brackets.1.quick: 2520 → 181920  (TX2)",
        "tax.brackets.2.upto: 300000 → (absent)  (TX2, removed)",
        "tax.brackets.2.rate: 0.20 → (absent)  (TX2, removed)",
        "tax.brackets.2.quick: 16920 → (absent)  (TX2, removed)",
        "tax.brackets.3.upto: 420000 → (absent)  (TX2, removed)",
        "tax.brackets.3.rate: 0.25 → (absent)  (TX2, removed)",
        "tax.brackets.3.quick: 31920 → (absent)  (TX2, removed)",
        "tax.brackets.4.upto: 660000 → (absent)  (TX2, removed)",
        "tax.brackets.4.rate: 0.30 → (absent)  (TX2, removed)",
        "tax.brackets.4.quick: 52920 → (absent)  (TX2, removed)",
        "tax.brackets.5.upto: 960000 → (absent)  (TX2, removed)",
        "tax.brackets.5.rate: 0.35 → (absent)  (TX2, removed)",
        "tax.brackets.5.quick: 85920 → (absent)  (TX2, removed)",
        "tax.brackets.6.upto: null → (absent)  (TX2, removed)",
        "tax.brackets.6.rate: 0.45 → (absent)  (TX2, removed)",
        "tax.brackets.6.quick: 181920 → (absent)  (TX2, removed)",
        "calendar.2027.holidays: (absent) → [2027-05-03]  (D44, added)",
        "calendar.2027.workdays: (absent) → [2027-04-25]  (D44, added)",
    ]
    assert diff(base.rules, base.rules) == []


def test_sections_split_the_packaged_file_by_top_level_key() -> None:
    keys = [k for k, _ in sections(PACKAGED.read_text(encoding="utf-8"))]
    assert keys[:3] == ["id", "effective_from", "description"] and keys[-1] == "calendar"
    assert keys[3:] == [k for k in RuleSet.model_fields if k not in ("id", "effective_from", "description")]
