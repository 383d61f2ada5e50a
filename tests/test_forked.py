"""Issue 10: cmsettle.forked.in_two, the work of a list shared with a forked child (settle pays the last
people that way: tests/test_properties.py (3) checks whole months). The same list in the same order; the
first failure in the list's order raised, whichever process met it; a child that dies fails the call; no
child left behind."""

from __future__ import annotations

import os
import signal

import pytest

from cmsettle import forked
from cmsettle.errors import CmsettleError, InputError, Problem

PARENT = os.getpid()


def square(x: int) -> int:
    return x * x


@pytest.mark.parametrize("n", [0, 1, 2, 3, 10, 101])
def test_the_same_list_split_or_not(n: int) -> None:
    items = list(range(n))
    assert forked.in_two(items, square, True) == forked.in_two(items, square, False) == [x * x for x in items]


def test_the_child_takes_the_last_part() -> None:
    where = forked.in_two(list(range(10)), lambda x: os.getpid() == PARENT, True)
    assert where == [True] * 6 + [False] * 4  # MINE = 0.6 here


def test_a_failure_in_the_childs_part_is_raised_here() -> None:
    def work(x: int) -> int:
        if x == 8:
            raise InputError([Problem("roster.csv", "no fixed standard", row=9, column="tier", value="T9")])
        return x

    with pytest.raises(InputError) as err:
        forked.in_two(list(range(10)), work, True)
    assert err.value.problems[0].value == "T9" and err.value.problems[0].row == 9


def test_the_first_failure_is_raised_and_the_child_reaped(monkeypatch: pytest.MonkeyPatch) -> None:
    children = []
    real = forked.Child.__init__

    def init(self: forked.Child, *args, **kwargs) -> None:  # noqa: ANN002, ANN003
        real(self, *args, **kwargs)
        children.append(self.pid)

    monkeypatch.setattr(forked.Child, "__init__", init)

    def work(x: int) -> int:
        if x in (1, 9):
            raise ValueError(f"bad {x}")
        return x

    with pytest.raises(ValueError, match="bad 1"):  # this process's, the earlier item
        forked.in_two(list(range(10)), work, True)
    with pytest.raises(ChildProcessError):  # reaped: no zombie left behind
        os.waitpid(children[0], os.WNOHANG)


def test_a_child_killed_fails_the_call() -> None:
    def work(x: int) -> int:
        if os.getpid() != PARENT:
            os.kill(os.getpid(), signal.SIGKILL)  # as the out-of-memory killer would
        return x

    with pytest.raises(CmsettleError, match=f"killed by signal {signal.SIGKILL.value}.*nothing was saved"):
        forked.in_two(list(range(10)), work, True)


def test_an_exception_that_cannot_be_pickled_comes_back_as_its_text() -> None:
    class Local(Exception):  # not importable by pickle
        pass

    def work(x: int) -> int:
        if x == 9:
            raise Local("the rule set's table has a gap")
        return x

    with pytest.raises(CmsettleError, match="failed: Local: the rule set's table has a gap"):
        forked.in_two(list(range(10)), work, True)
