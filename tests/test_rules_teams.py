"""Hand-worked examples for RULEBOOK §4 team roles (T1-T5) and D10, D18, D24-D26.

NR factor at rate r: r × 0.9435 − 0.0000687; r = 0.0003 → 0.00021435; r = 0.00005 → −0.000021525.
2024-05 has 21 PRC working days. First ledger month 2024-05; `hist` rows give 2024-03 and 2024-04.
"""

from dataclasses import replace
from datetime import date
from decimal import Decimal

from tests.builders import MonthBuilder, line, row

D = Decimal


def nr_client(b: MonthBuilder, mid: str, turnover: str, rate: str = "0.0003", cid: str | None = None) -> None:
    cid = cid or f"NR-{mid}"
    b.client(cid, mid)
    b.trade(cid, "stock", "buy", turnover, rate)


def ea_clients(b: MonthBuilder, mid: str, institutions: int, individuals: int = 0, tag: str = "") -> None:
    """New effective clients in the builder's month: EA = 3 × institutions + individuals."""
    for i in range(institutions):
        b.client(f"{mid}{tag}-I{i}", mid, opened=f"{b.month}-06", kind="institution", end_assets="10000")
    for i in range(individuals):
        b.client(f"{mid}{tag}-P{i}", mid, opened=f"{b.month}-06", end_assets="10000")


def flags(res, mid: str) -> tuple[str, ...]:  # noqa: ANN001
    return row(res, mid).flags


# ---- T1, T2, D10, D24 ----------------------------------------------------------------------------


def test_t1_t2_station_and_regional_overrides_allowances_and_floors_d10_d24():
    """T1: 5% × sum of NR of the marketer direct reports, to a station manager and to a regional manager
    who runs a station; station_allowance 300 to position station_manager only (D24).
    T2: 5% × sum of the personal NR of the station-manager direct reports; regional_allowance 900.
    D10: the T1 and T2 lines are floored at 0 (after summing, negative NR included).
    D24: direct reports are the managers settled in M with this supervisor_id."""
    b = MonthBuilder("2024-05")
    b.manager("RG", grade="senior", position="regional_manager")
    b.manager("S1", position="station_manager", supervisor="RG")
    b.manager("S2", position="station_manager", supervisor="RG")
    b.manager("S3", position="station_manager", supervisor="RG", hire="2024-05-16")
    b.manager("MK1", supervisor="S1")
    b.manager("MK2", supervisor="S1")
    b.manager("MKN", supervisor="S1")
    b.manager("MKL", supervisor="S1", leave="2024-04-30")   # left before May: not settled, not a report
    b.manager("MKF", supervisor="S1", hire="2024-06-03")    # hired after May: not settled
    b.manager("MK3", supervisor="RG")                        # the regional manager runs a station
    b.manager("MK4", supervisor="S2")
    b.manager("MK5")                                         # a marketer with a report: no T1 (D24)
    b.manager("MK6", supervisor="MK5")
    b.manager("RG2", position="regional_manager", hire="2024-05-15")
    b.manager("S4", position="station_manager", supervisor="RG2")
    nr_client(b, "MK1", "10000000")            # 2,143.50
    nr_client(b, "MK2", "1000000")             # 214.35
    nr_client(b, "MKN", "2000000", "0.00005")  # −43.05
    nr_client(b, "MKL", "1000000")             # 214.35, but MKL is not settled
    nr_client(b, "MK3", "5000000")             # 1,071.75
    nr_client(b, "MK4", "2000000", "0.00005")  # −43.05
    nr_client(b, "MK6", "1000000")             # 214.35
    nr_client(b, "S1", "2000000")              # 428.70 (personal)
    nr_client(b, "S3", "4000000", "0.00005")   # −86.10 (personal)
    nr_client(b, "S4", "4000000", "0.00005")   # −86.10
    nr_client(b, "RG", "1000000")              # 214.35 (personal: P3 only)
    res = b.settle()
    settled = {m.manager_id for m in res.managers}
    assert "MKL" not in settled and "MKF" not in settled
    assert row(res, "MKN").net_revenue == D("-43.05")  # D10: reported as computed
    assert row(res, "S3").net_revenue == D("-86.10")

    # S1: 5% × (2,143.50 + 214.35 − 43.05) = 5% × 2,314.80 = 115.74; allowance 300 × 21/21
    assert line(res, "S1", "station_override") == D("115.74")
    assert line(res, "S1", "station_allowance") == D("300.00")
    # S2: 5% × −43.05 = −2.1525 → floored at 0; allowance 300
    assert line(res, "S2", "station_override") == 0
    assert line(res, "S2", "station_allowance") == D("300.00")
    # S3: no marketers; hired 16 May: 300 × 12/21 = 171.428… → 171.43
    assert line(res, "S3", "station_override") == 0
    assert line(res, "S3", "station_allowance") == D("171.43")
    # RG: T1 on its marketer MK3: 5% × 1,071.75 = 53.5875 → 53.59; no station_allowance (D24)
    assert line(res, "RG", "station_override") == D("53.59")
    assert line(res, "RG", "station_allowance") == 0
    # RG: T2 on the personal NR of S1, S2, S3: 5% × (428.70 + 0 − 86.10) = 5% × 342.60 = 17.13
    assert line(res, "RG", "regional_override") == D("17.13")
    assert line(res, "RG", "regional_allowance") == D("900.00")
    # RG2: T2 5% × −86.10 → floored at 0; allowance prorated 900 × 13/21 = 557.142… → 557.14
    assert line(res, "RG2", "regional_override") == 0
    assert line(res, "RG2", "regional_allowance") == D("557.14")
    # station managers get no regional lines; marketers none of the team lines
    assert line(res, "S1", "regional_override") == 0 and line(res, "S1", "regional_allowance") == 0
    for mid in ("MK5", "MK1"):
        for comp in ("station_override", "station_allowance", "regional_override", "regional_allowance"):
            assert line(res, mid, comp) == 0, (mid, comp)


# ---- T3, D18 -------------------------------------------------------------------------------------


def test_t3_station_manager_candidate_d18():
    """T3, D18: a marketer whose grade in effect was manager or higher in each of M-2..M (history grades
    before the ledger, all three months needed) and whose avg_assets(M) ≥ 3,000,000."""
    may = MonthBuilder("2024-05")
    may.manager("C1").manager("C2").manager("C3").manager("C4").manager("C7", grade="senior")
    may.manager("C5", position="station_manager")
    for mid, grades in {"C1": ("manager", "manager"), "C2": ("manager", "manager"),
                        "C3": ("assistant", "manager"), "C5": ("manager", "manager"),
                        "C7": ("chief", "senior")}.items():
        may.hist("2024-03", mid, grade=grades[0], avg_assets="3000000", ea="5", nmv="500000")
        may.hist("2024-04", mid, grade=grades[1], avg_assets="3000000", ea="5", nmv="500000")
    may.hist("2024-04", "C4", grade="manager", avg_assets="3000000", ea="5", nmv="500000")  # only one month
    for mid in ("C1", "C3", "C4", "C5", "C7"):
        may.client(f"{mid}-A", mid, avg_assets="3000000")
    may.client("C2-A", "C2", avg_assets="2999999.99")
    may_res = may.settle()
    assert "station_manager_candidate" in flags(may_res, "C1")       # avg exactly 3,000,000
    assert "station_manager_candidate" not in flags(may_res, "C2")   # 2,999,999.99 < 3,000,000
    assert "station_manager_candidate" not in flags(may_res, "C3")   # assistant in March
    assert "station_manager_candidate" not in flags(may_res, "C4")   # March missing (D18)
    assert "station_manager_candidate" not in flags(may_res, "C5")   # not a marketer
    assert "station_manager_candidate" in flags(may_res, "C7")       # chief, senior, senior ≥ manager

    # June: C4 now has April (history), May and June (ledger), all manager → candidate
    jun = may.next(may_res)
    for mid in ("C1", "C4"):
        jun.client(f"{mid}-A", mid, avg_assets="3000000")
    jun_res = jun.settle()
    assert "station_manager_candidate" in flags(jun_res, "C4")
    assert "station_manager_candidate" in flags(jun_res, "C1")


# ---- T4, T5, D25, D26 ----------------------------------------------------------------------------


def _station(b: MonthBuilder, sid: str, since: str | None, *, report_grades_apr=("assistant",) * 3,
             may_ea=(3, 4, 4, 4), supervisor: str | None = None) -> None:
    """A station manager with three marketer reports; history March/April: own EA 3, each report 4
    (station total 15 a month); May EA as given (own, R1, R2, R3)."""
    b.manager(sid, position="station_manager", position_since=since, supervisor=supervisor)
    b.hist("2024-03", sid, avg_assets="4000000", ea="3", nmv="30000")
    b.hist("2024-04", sid, avg_assets="4000000", ea="3", nmv="30000")
    for i in range(3):
        rid = f"{sid}-R{i + 1}"
        b.manager(rid, grade="assistant", supervisor=sid)
        b.hist("2024-03", rid, grade="manager", avg_assets="1000000", ea="4", nmv="40000")
        b.hist("2024-04", rid, grade=report_grades_apr[i], avg_assets="1000000", ea="4", nmv="40000")
    for mid, ea in zip([sid, f"{sid}-R1", f"{sid}-R2", f"{sid}-R3"], may_ea):
        ea_clients(b, mid, ea // 3, ea % 3)


def test_t4_d25_station_manager_conditions_grace_period_and_t5_d26():
    """T4, D25: checked at the close of every M ≥ month(position_since) + 3 (always when blank): in each of
    M-2, M-1, M at least 3 direct reports with grade ≥ assistant, and mean monthly station EA
    (own + reports) ≥ 15; otherwise revoke_station_manager.
    T5, D26: a regional manager needs avg_assets ≥ 6,000,000 and ≥ 3 qualified station managers among its
    direct reports (one inside its T4 grace period counts as qualified); no grace for the regional manager."""
    b = MonthBuilder("2024-05")
    # SQ: since 1 Feb → checked in May (Feb + 3); totals 15, 15, 3+4+4+4 = 15 → mean 15 → qualified
    _station(b, "SQ", "2024-02-01", supervisor="RT")
    # SR: May total 3 + 4 + 4 + 3 = 14 → mean (15 + 15 + 14)/3 = 14.67 < 15 → revoke
    _station(b, "SR", "2024-02-29", may_ea=(3, 4, 4, 3), supervisor="RT")
    # SC: in April one report was a trainee → only 2 reports ≥ assistant that month → revoke
    _station(b, "SC", "2024-02-01", report_grades_apr=("assistant", "assistant", "trainee"), supervisor="RX")
    # SG: since 1 March → grace until the close of June; no reports at all, still no flag
    b.manager("SG", position="station_manager", position_since="2024-03-01", supervisor="RT")
    # SB: position_since blank → always checked; no reports → revoke
    b.manager("SB", position="station_manager", supervisor="RX")
    # RT: avg 6,000,000 exactly; qualified stations: SQ and SG (grace) = 2 < 3 → revoke_regional_manager
    b.manager("RT", grade="senior", position="regional_manager")
    b.client("RT-A", "RT", avg_assets="6000000")
    # RQ: avg 6,000,000 and three station managers in their grace period → qualified (D26)
    b.manager("RQ", grade="senior", position="regional_manager", position_since="2024-05-06")
    b.client("RQ-A", "RQ", avg_assets="6000000")
    # RA: avg 5,999,999.99 < 6,000,000 with three qualified (grace) stations → revoke
    b.manager("RA", grade="senior", position="regional_manager")
    b.client("RA-A", "RA", avg_assets="5999999.99")
    for reg in ("RQ", "RA"):
        for i in range(3):
            b.manager(f"{reg}-S{i}", position="station_manager", position_since="2024-04-01", supervisor=reg)
    # RX: avg 7,000,000, new in the position (no grace for T5), stations SC and SB revoked → revoke
    b.manager("RX", grade="senior", position="regional_manager", position_since="2024-05-01")
    b.client("RX-A", "RX", avg_assets="7000000")
    res = b.settle()
    assert row(res, "SQ").ea == 3 and row(res, "SQ-R1").ea == 4
    assert "revoke_station_manager" not in flags(res, "SQ")
    assert "revoke_station_manager" in flags(res, "SR")
    assert "revoke_station_manager" in flags(res, "SC")
    assert "revoke_station_manager" not in flags(res, "SG")
    assert "revoke_station_manager" in flags(res, "SB")
    assert "revoke_station_manager" not in flags(res, "RQ-S0")
    assert "revoke_regional_manager" in flags(res, "RT")
    assert "revoke_regional_manager" not in flags(res, "RQ")
    assert "revoke_regional_manager" in flags(res, "RA")
    assert "revoke_regional_manager" in flags(res, "RX")
    # flags never change positions (Decision after T5): the revoked station manager still gets T1 lines
    assert line(res, "SR", "station_allowance") == D("300.00")


def test_t4_d24_later_month_uses_the_reports_settled_in_each_month():
    """T4, D24, D25: in June, SQ's third report has left (leave 31 May: not settled in June) → only 2
    reports ≥ assistant in June → revoke_station_manager, although the EA condition holds:
    April 15, May 15, June own 6 + 4 + 5 = 15 → mean 15."""
    may = MonthBuilder("2024-05")
    _station(may, "SQ", "2024-02-01")
    may_res = may.settle()
    assert "revoke_station_manager" not in flags(may_res, "SQ")

    jun = may.next(may_res)
    jun.roster = [replace(r, leave_date=date(2024, 5, 31)) if r.manager_id == "SQ-R3" else r
                  for r in jun.roster]
    ea_clients(jun, "SQ", 2)          # 6
    ea_clients(jun, "SQ-R1", 1, 1)    # 4
    ea_clients(jun, "SQ-R2", 1, 2)    # 5
    jun_res = jun.settle()
    assert "SQ-R3" not in {m.manager_id for m in jun_res.managers}
    assert row(jun_res, "SQ").ea + row(jun_res, "SQ-R1").ea + row(jun_res, "SQ-R2").ea == 15
    assert "revoke_station_manager" in flags(jun_res, "SQ")
