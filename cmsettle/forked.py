"""Work done by a forked copy of this process, its answer sent back through a pipe.

Making a large month's output files is Python work that one core does at a time while the other idles;
cmsettle.pipeline.OutputJobs has a child make the report and most payslips. Not a thread: Python's lock lets
one thread run Python at a time. A forked child starts with a copy of this process, the month's results
included: nothing is sent to it; it sends back bytes (the hashes of the files it wrote) and ends with
``os._exit`` (no exit handlers, no buffers flushed twice, the ledger's connection left to this process).
Its failure is raised here when its answer is asked for: the same exception when it can be pickled, else a
CmsettleError with its text; its death (the out-of-memory killer, ``kill -9``) is a CmsettleError.

The child only runs Python (and writes files): the threads this process has (the input reader's, pyarrow's)
hold no lock the child needs. (Paying the last 40% of the people in such a child was tried and dropped:
after the fork both processes copy every page they write to, and pickling the results back ate the rest;
5,000 people's pay, about 0.5 s, took as long either way.)
"""

from __future__ import annotations

import os
import pickle
import signal
import warnings
from typing import Callable

from cmsettle.errors import CmsettleError


class Child:
    """``work()`` run by a forked child from now on; :meth:`answer` waits for what it returned."""

    def __init__(self, work: Callable[[], bytes], doing: str):
        self.doing = doing  # for the messages: "writing the outputs"
        read, send = os.pipe()
        with warnings.catch_warnings():  # Python 3.12+ warns of fork() in a process with threads: see above
            warnings.simplefilter("ignore", DeprecationWarning)
            pid = os.fork()
        if pid == 0:  # the child: never returns
            os.close(read)
            code, message = 1, b""
            try:
                message = b"ok" + work()
                code = 0
            except BaseException as exc:  # noqa: BLE001  every failure goes to the parent
                message = b"ex" + _pickled(exc, doing)
            finally:
                try:
                    write_all(send, message)
                finally:
                    os._exit(code)
        os.close(send)
        self.pid: int | None = pid
        self._fd = read

    def answer(self) -> bytes:
        """What ``work()`` returned, once the child has ended; its exception raised here."""
        chunks = []
        while chunk := os.read(self._fd, 1 << 20):
            chunks.append(chunk)
        message = b"".join(chunks)
        status = self._reap()
        if message.startswith(b"ok") and status == 0:
            return message[2:]
        if message.startswith(b"ex"):
            raise pickle.loads(message[2:])
        raise CmsettleError(f"the process {self.doing} ended without finishing ({_ended(status)}); "
                            "nothing was saved: run the month again")

    def stop(self) -> None:
        """Kill and reap the child if it is still there (its work is not wanted any more)."""
        if self.pid is not None:
            try:
                os.kill(self.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self._reap()

    def _reap(self) -> int:
        pid, self.pid = self.pid, None
        os.close(self._fd)
        return os.waitpid(pid, 0)[1]


def write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def _pickled(exc: BaseException, doing: str) -> bytes:
    """The exception for the parent; a CmsettleError with its text when it cannot be pickled as it is."""
    try:
        data = pickle.dumps(exc)
        pickle.loads(data)
        return data
    except Exception:  # noqa: BLE001
        return pickle.dumps(CmsettleError(f"{doing} failed: {type(exc).__name__}: {exc}"))


def _ended(status: int) -> str:
    if os.WIFSIGNALED(status):
        return f"killed by signal {os.WTERMSIG(status)}"
    return f"exit status {os.waitstatus_to_exitcode(status)}"
