"""Issue 10: with many people the report and the payslips are made and written by a forked process
(cmsettle.pipeline.OutputJobs) beside the CSV files and the ledger's transaction, this process taking the
payslips the child has not got to. The outputs must be the same bytes as when one process writes them all,
and a failure of the forked process must fail the run as any failure does: nothing saved, nothing staged
left.

The office has four people; CMSETTLE_TEST_FORK_FROM=0 makes even four worth a fork.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from branch_office import Office

from cmsettle import pipeline
from cmsettle.errors import Exit, RefusedError
from fixtures_months import write_month

FORK = {"CMSETTLE_TEST_FORK_FROM": "0"}


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Office:
    office = Office.create(tmp_path_factory.mktemp("fork") / "office")  # April closed, May a draft
    write_month(office.root / "data", "2024-05", extra_trades=[["20", "C1", "stock", "buy", "3000000", "0.0003"]])
    return office  # May's inputs changed since its draft: a re-run makes different outputs


@pytest.fixture
def office(template: Office, tmp_path: Path) -> Office:
    return template.copy(tmp_path / "office")


def staged(office: Office) -> list[str]:
    return [p.name for p in (office.root / "out").iterdir() if p.name.startswith(".2024-05.")]


def test_forked_payslips_are_the_same_bytes_as_one_process_writes(template: Office, tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    one, two = template.copy(tmp_path / "one"), template.copy(tmp_path / "two")
    one.ok("month", "2024-05", "--quiet")
    forked: list[bool] = []
    real = pipeline.OutputJobs._start

    def start(self: pipeline.OutputJobs) -> None:
        forked.append(True)
        real(self)

    monkeypatch.setattr(pipeline.OutputJobs, "_start", start)
    two.ok("month", "2024-05", "--quiet", env=FORK)
    assert forked == [True]
    assert one.tree("out") == two.tree("out")
    assert len([n for n in two.tree("out") if n.startswith("2024-05/payslips/")]) == 4
    assert one.runs() == two.runs()  # the same manifest, so the same run recorded
    assert one.audit_lines()[-1]["data"] == two.audit_lines()[-1]["data"]  # the same outputs' hashes
    assert two.verify()["ok"]


def in_the_child(monkeypatch: pytest.MonkeyPatch, action: Callable[[], None]) -> None:
    """The report (the forked process's first job, always its own) does ``action`` first in a forked
    process, and is made as usual in this one."""
    parent, real = os.getpid(), pipeline.pay_report

    def report(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        if os.getpid() != parent:
            action()
        return real(*args, **kwargs)

    monkeypatch.setattr(pipeline, "pay_report", report)


def test_this_process_takes_the_payslips_the_child_has_not_got_to(template: Office, tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    one, two = template.copy(tmp_path / "one"), template.copy(tmp_path / "two")
    one.ok("month", "2024-05", "--quiet")
    parent, real, made_here = os.getpid(), pipeline.payslip_renderer, []

    def renderer(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        render = real(*args, **kwargs)

        def some(managers):  # noqa: ANN001, ANN202
            if os.getpid() == parent:
                made_here.extend(m.manager_id for m in managers)
            return render(managers)

        return some

    monkeypatch.setattr(pipeline, "payslip_renderer", renderer)
    in_the_child(monkeypatch, lambda: time.sleep(3))  # the child is busy with the report meanwhile
    two.ok("month", "2024-05", "--quiet", env=FORK)
    assert len(made_here) == 4  # every payslip made here, none waited for
    assert one.tree("out") == two.tree("out")
    assert two.verify()["ok"]


def test_a_failure_in_the_forked_process_is_the_runs_failure(office: Office,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    runs, tree = office.runs(), office.tree("out")

    def refuse() -> None:
        raise RefusedError("the payslip template was refused")

    in_the_child(monkeypatch, refuse)
    res = office.settle("month", "2024-05", "--quiet", env=FORK)
    assert res.exit_code == Exit.REFUSED, res.output  # the child's exception, raised here
    assert "the payslip template was refused" in res.text
    assert office.runs() == runs and office.tree("out") == tree and staged(office) == []


def test_a_forked_process_killed_fails_the_run_and_leaves_nothing(office: Office,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    runs, tree = office.runs(), office.tree("out")
    in_the_child(monkeypatch, lambda: os.kill(os.getpid(), signal.SIGKILL))  # as the out-of-memory killer would
    res = office.settle("month", "2024-05", "--quiet", env=FORK)
    assert res.exit_code == Exit.INTERNAL, res.output
    assert f"killed by signal {signal.SIGKILL.value}" in res.text and "nothing was saved" in res.text
    assert office.runs() == runs and office.tree("out") == tree and staged(office) == []
    monkeypatch.undo()
    office.ok("month", "2024-05", "--quiet", env=FORK)  # the next run succeeds
    assert office.runs() != runs


def test_an_error_here_kills_the_forked_process_and_leaves_nothing(office: Office,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    runs, tree, children = office.runs(), office.tree("out"), []
    real = pipeline.OutputJobs._start

    def start(self: pipeline.OutputJobs) -> None:
        real(self)
        children.append(self._child.pid)

    def pay_lines(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        raise RefusedError("pay_lines.csv was refused")

    monkeypatch.setattr(pipeline.OutputJobs, "_start", start)
    monkeypatch.setattr(pipeline.out, "pay_lines_csv", pay_lines)  # made here, beside the child's work
    res = office.settle("month", "2024-05", "--quiet", env=FORK)
    assert res.exit_code == Exit.REFUSED and "pay_lines.csv was refused" in res.text
    assert len(children) == 1
    with pytest.raises(ChildProcessError):  # reaped: no zombie left behind
        os.waitpid(children[0], os.WNOHANG)
    assert office.runs() == runs and office.tree("out") == tree and staged(office) == []
