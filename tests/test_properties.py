"""Property tests (hypothesis) for RULEBOOK TX2/TX3 (D38) and N1-N4 (D41, D42).

(1) Over any year of monthly taxable incomes, the monthly withholdings of
    ``cmsettle.compute.tax.income_tax`` chained month by month add up to the largest cumulative tax reached
    (TX2/D38: month's tax = max(0, cumulative tax − withheld), so withheld-to-date = max of cumulative taxes),
    and each cumulative tax is the annual table (written out here from the RULEBOOK) on max(0, base).
(2) Over generated small months (random managers, clients, trades, fund sales, attendance, management events,
    penalties, opening balances; all valid per DATA.md), settled for two months, for every person:
    net_pay = gross_pay + sum of the after-tax lines (D42), net_pay ≥ 0 (N3), every amount has at most
    2 decimals (N4), gross_pay = sum of the earnings lines + attendance_deduction (N1), one line per
    component.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cmsettle.compute.tax import income_tax
from tests.builders import DEFAULT_RULES, MonthBuilder, d, rules_with

D = Decimal
from tests.contract import AFTER_TAX, EARNINGS
ZERO = D(0)
FEN = D("0.01")

# RULEBOOK TX2 annual table: (upper bound, rate, quick deduction)
TABLE = ((D(36000), D("0.03"), D(0)), (D(144000), D("0.10"), D(2520)), (D(300000), D("0.20"), D(16920)),
         (D(420000), D("0.25"), D(31920)), (D(660000), D("0.30"), D(52920)), (D(960000), D("0.35"), D(85920)),
         (None, D("0.45"), D(181920)))


def table_tax(base: Decimal) -> Decimal:
    """D38: tax on max(0, base) from the annual table, rounded to 0.01 half up."""
    b = max(ZERO, base)
    for upto, rate, quick in TABLE:
        if upto is None or b <= upto:
            return (b * rate - quick).quantize(FEN, rounding=ROUND_HALF_UP)
    raise AssertionError


def two_decimals(x: Decimal) -> bool:
    return x == x.quantize(FEN)


# ---- (1) cumulative withholding ----------------------------------------------------------------------------

cents = st.integers(min_value=-1_000_000, max_value=40_000_000)  # −10,000.00 .. 400,000.00 a month


@settings(max_examples=150, deadline=None)
@given(
    contract=st.sampled_from(["employee", "agent"]),
    incomes=st.lists(cents, min_size=12, max_size=12),
    specials=st.lists(st.integers(min_value=0, max_value=500_000), min_size=12, max_size=12),
)
def test_sum_of_monthly_withholdings_is_the_largest_cumulative_tax(contract, incomes, specials):
    ytd_taxable = ytd_tax = ZERO
    base = ZERO
    withheld = ZERO
    cumulative: list[Decimal] = []
    for c, s in zip(incomes, specials):
        gross, special = D(c) / 100, D(s) / 100
        r = income_tax(contract=contract, gross_pay=gross, meal_allowance=ZERO, social_insurance=ZERO,
                       special_deductions=special, ytd_taxable=ytd_taxable, ytd_tax=ytd_tax,
                       rules=DEFAULT_RULES)
        # TX2: gross − special − 5,000; TX3/D39: gross × 0.8 × 0.75 − 5,000 (special deductions ignored)
        base += (gross * D("0.6") if contract == "agent" else gross - special) - 5000
        expected = table_tax(base)
        assert r.cumulative_tax == expected
        assert r.income_tax >= 0 and two_decimals(r.income_tax)
        assert r.income_tax == max(ZERO, expected - ytd_tax)
        withheld += r.income_tax
        cumulative.append(expected)
        ytd_taxable, ytd_tax = r.ytd_taxable, r.ytd_tax
    assert withheld == max(cumulative)
    assert ytd_tax == withheld


# ---- (2) generated months ----------------------------------------------------------------------------------


MAY_WORKDAYS = ("2024-05-06", "2024-05-07", "2024-05-08", "2024-05-09", "2024-05-10", "2024-05-11",
                "2024-05-13", "2024-05-14", "2024-05-15", "2024-05-16", "2024-05-17", "2024-05-20",
                "2024-05-21", "2024-05-22", "2024-05-23", "2024-05-24", "2024-05-27", "2024-05-28",
                "2024-05-29", "2024-05-30", "2024-05-31")
JUNE_DAYS = tuple(f"2024-06-{i:02d}" for i in range(1, 31))

RULESETS = (DEFAULT_RULES, rules_with(penalties={"management_fee_rate": d("0.05")}))
GRADES = ("trainee", "assistant", "manager", "senior", "chief")
POSITIONS = ("marketer", "marketer", "station_manager", "regional_manager")
STATUSES = ("normal", "normal", "normal", "under_investigation", "malicious_confirmed")
ATT_CODES = ("late", "early_leave", "personal_leave", "sick_leave", "absent", "work_injury", "promo_duty")
MGMT_KINDS = ("no_promotion", "meeting_not_held", "report_late", "dress_code", "left_post", "complaint")

money = st.integers(min_value=0, max_value=50_000_000).map(lambda c: D(c) / 100)


def _money_text(x: Decimal) -> str:
    return str(x)


@st.composite
def people(draw):  # noqa: ANN001, ANN201
    n = draw(st.integers(min_value=1, max_value=3))
    out = []
    for i in range(n):
        mid = f"M{i}"
        hire = draw(st.sampled_from(("2015-01-05", "2022-12-20", "2024-05-06", "2024-05-16", "2024-05-31")))
        leave = draw(st.sampled_from((None, None, None, "2024-05-10", "2024-05-20", "2024-05-31")))
        if leave is not None and leave < hire:
            leave = None
        out.append(dict(
            mid=mid, grade=draw(st.sampled_from(GRADES)), position=draw(st.sampled_from(POSITIONS)),
            hire=hire,
            leave=leave, leave_approved=draw(st.booleans()),
            qualified=draw(st.sampled_from((None, "2015-06-01", "2024-05-31", "2024-06-01"))),
            supervisor=draw(st.sampled_from((None, *[f"M{j}" for j in range(i)]))),
            contract=draw(st.sampled_from(("employee", "employee", "agent"))),
            si_base=draw(st.sampled_from((None, None, "3003", "4321.07"))),
            opening=dict(
                risk_fund_balance=str(draw(st.sampled_from((D(0), D("9950"), D("19990.55"), D("500"))))),
                ytd_taxable=str(draw(st.sampled_from((D(0), D("-12000"), D("35000"), D("150000.50"))))),
                ytd_tax=str(draw(st.sampled_from((D(0), D("1050"), D("13080.10"))))),
                personal_leave_days_ytd=str(draw(st.sampled_from((D(0), D("19.5"), D(21))))),
                absent_days_ytd=str(draw(st.sampled_from((D(0), D("4.5"))))),
                discretionary_count=str(draw(st.sampled_from((0, 1)))),
                excess_carry=str(draw(st.sampled_from((D(0), D("1234.56"), D("5000"))))),
            ),
        ))
    return out


@st.composite
def months(draw):  # noqa: ANN001, ANN201
    rules = draw(st.sampled_from(RULESETS))
    roster = draw(people())
    ids = [p["mid"] for p in roster]
    b = MonthBuilder("2024-05", rules=rules)
    for p in roster:
        b.manager(p["mid"], grade=p["grade"], position=p["position"], hire=p["hire"], leave=p["leave"],
                  leave_approved=p["leave_approved"], qualified=p["qualified"], supervisor=p["supervisor"],
                  contract=p["contract"], si_base=p["si_base"])
        b.open(p["mid"], **p["opening"])
    # sometimes someone who left before the ledger began (D1): refund of the opening balance in May, unless
    # not approved (forfeited) or a dispute is open (D36, D6)
    if draw(st.booleans()):
        b.manager("X", grade=draw(st.sampled_from(GRADES)), leave="2023-11-20",
                  leave_approved=draw(st.booleans()))
        b.open("X", risk_fund_balance=str(draw(st.sampled_from((D(0), D("850.25"), D(10000))))))
        if draw(st.booleans()):
            kind = draw(st.sampled_from(("dispute", "business_error")))
            b.penalty("X", kind, amount="500" if kind == "business_error" else None, on="2024-05-08")
    # clients, assets, trades, fund sales
    clients: list[dict] = []
    for mid in ids:
        for k in range(draw(st.integers(min_value=0, max_value=3))):
            clients.append(dict(
                cid=f"{mid}-C{k}", mid=mid,
                opened=draw(st.sampled_from(("2020-01-01", "2024-05-06", "2024-05-20"))),
                kind=draw(st.sampled_from(("individual", "individual", "institution"))),
                status=draw(st.sampled_from(STATUSES)),
                avg=str(draw(st.sampled_from((D(0), D(4000), D("650000.5"), D(3100000), D(7000000))))),
                end=str(draw(st.sampled_from((D(0), D(5000), D("5000.01"), D(800000), D(2500000))))),
                equity=str(draw(st.sampled_from((D(0), D(100000), D(6100000))))),
            ))
        if draw(st.integers(min_value=0, max_value=4)) == 0:  # sometimes enough clients for TX1
            for k in range(61):
                clients.append(dict(cid=f"{mid}-S{k}", mid=mid, opened="2020-01-01", kind="individual",
                                    status="normal", avg="0", end="0", equity="100000"))
    for c in clients:
        b.client(c["cid"], c["mid"], opened=c["opened"], kind=c["kind"], status=c["status"],
                 avg_assets=c["avg"], end_assets=c["end"], equity_assets=c["equity"])
    small = [c for c in clients if "-S" not in c["cid"]]
    if small:
        for _ in range(draw(st.integers(min_value=0, max_value=5))):
            c = draw(st.sampled_from(small))
            product = draw(st.sampled_from(("stock", "fund_open", "bond", "ipo_subscription", "other")))
            b.trade(c["cid"], product,
                    draw(st.sampled_from(("buy", "sell"))),
                    str(draw(st.integers(min_value=0, max_value=20_000_000))),
                    draw(st.sampled_from(("0.0003", "0.0008", "0.00025", "0.00005"))))
        for _ in range(draw(st.integers(min_value=0, max_value=2))):
            c = draw(st.sampled_from(small))
            b.fund_sale(c["cid"], "100000", _money_text(draw(money)))
    # attendance (one row per date and manager), management events, penalties, deductions
    for mid in ids:
        dates = draw(st.lists(st.sampled_from(MAY_WORKDAYS), unique=True, max_size=8))
        for on in dates:
            code = draw(st.sampled_from(ATT_CODES))
            days = "1" if code in ("late", "early_leave") else draw(st.sampled_from(("1", "0.5")))
            b.attend(mid, code, on, days, proof=draw(st.booleans()))
        for _ in range(draw(st.integers(min_value=0, max_value=2))):
            b.event(mid, draw(st.sampled_from(MGMT_KINDS)), on=draw(st.sampled_from(MAY_WORKDAYS)))
        mine = [c["cid"] for c in clients if c["mid"] == mid] or ["NONE"]
        for _ in range(draw(st.integers(min_value=0, max_value=3))):
            _penalty(draw, b, mid, mine, MAY_WORKDAYS)
        if draw(st.booleans()):
            b.deduct(mid, _money_text(D(draw(st.integers(min_value=0, max_value=500_000))) / 100))
    # June: same roster and clients, statuses may change, new penalties
    june_status = {c["cid"]: draw(st.sampled_from(STATUSES)) if c["status"] != "normal" else c["status"]
                   for c in clients}
    june_pen = []
    for mid in ids:
        mine = [c["cid"] for c in clients if c["mid"] == mid] or ["NONE"]
        for _ in range(draw(st.integers(min_value=0, max_value=2))):
            june_pen.append((mid, mine))
    return b, clients, june_status, june_pen


def _penalty(draw, b: MonthBuilder, mid: str, mine: list[str], days: tuple[str, ...]) -> None:  # noqa: ANN001
    kind = draw(st.sampled_from(("discretionary_trading", "malicious_account", "business_error",
                                 "loss_compensation", "risk_fund_forfeit", "dispute", "dispute_closed")))
    on = draw(st.sampled_from(days))
    if kind == "malicious_account":
        severity = draw(st.sampled_from(("general", "serious")))
        b.penalty(mid, kind, client=draw(st.sampled_from(mine)), severity=severity, on=on)
    elif kind == "business_error":  # X3: within 100..1000
        b.penalty(mid, kind, amount=str(D(draw(st.integers(min_value=10000, max_value=100000))) / 100), on=on)
    elif kind == "loss_compensation":  # X4: > 0
        b.penalty(mid, kind, amount=str(D(draw(st.integers(min_value=1, max_value=500000))) / 100), on=on)
    elif kind == "risk_fund_forfeit":
        amount = draw(st.sampled_from((None, "50", "2000.5")))
        b.penalty(mid, kind, amount=amount, on=on)
    else:
        b.penalty(mid, kind, on=on)


def check_month(res) -> None:  # noqa: ANN001
    settled = {m.manager_id for m in res.managers}
    assert len(settled) == len(res.managers)
    assert {ln.manager_id for ln in res.lines} <= settled
    for mid in settled:
        lines = res.lines_of(mid)
        names = [ln.component for ln in lines]
        assert len(names) == len(set(names)), (mid, names)  # D42: one row per component
        c = {ln.component: ln.amount for ln in lines}
        assert "gross_pay" in c and "net_pay" in c
        for ln in lines:
            assert two_decimals(ln.amount), (mid, ln.component, ln.amount)  # N4
        gross, net = c["gross_pay"], c["net_pay"]
        # N1
        assert gross == sum((c.get(k, ZERO) for k in EARNINGS), ZERO) + c.get("attendance_deduction", ZERO)
        assert net == gross + sum((c.get(k, ZERO) for k in AFTER_TAX), ZERO), (mid, c)  # D42
        assert net >= 0, (mid, c)  # N3
        assert c.get("deduction_carried_out", ZERO) >= 0 and c.get("deduction_carried_in", ZERO) <= 0


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(data=st.data())
def test_generated_months_keep_the_net_pay_identities(data):
    b, clients, june_status, june_pen = data.draw(months())
    may = b.settle()
    check_month(may)
    nb = b.next(may)
    for c in clients:
        nb.client(c["cid"], c["mid"], opened=c["opened"], kind=c["kind"], status=june_status[c["cid"]],
                  avg_assets=c["avg"], end_assets=c["end"], equity_assets=c["equity"])
    for mid, mine in june_pen:
        _penalty(data.draw, nb, mid, mine, JUNE_DAYS)
    june = nb.settle()
    check_month(june)
