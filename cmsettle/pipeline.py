"""The month-end run, top to bottom (STYLE.md example 2).

resolve rules → open ledger and plan the run (O1-O3) → load and validate inputs → compute (pure)
→ render outputs into a temporary folder → save the ledger and its audit entries in one transaction
→ move the outputs into place and append the audit file → report. A dry run stops after computing and
writes nothing anywhere. The commit is the point of no return: a process killed after it leaves the
outputs staged and the audit file behind, and the next command under the run lock completes both
(cmsettle.audit.recover); killed before it, the ledger, the outputs and the audit log are as they were.

The input files are read beside that line, in a thread of its own, from the first step on: pyarrow's
reading holds no lock Python needs. The large ones are hashed (for the manifest and the run id) by that
thread while the month is computed, which keeps one core busy and leaves the other idle.

With many people the report and the payslips are made and written by a forked process (OutputJobs) while
this one writes the CSV files and prepares the ledger's transaction, then makes the payslips the child has
not got to yet; the commit waits for every file and the manifest (StagedOutputs). Not a thread: a writing
thread needs Python's lock for each of its system calls and waits for it while this one works (5,000
payslips took 1.2-1.8 s that way, 0.2 s alone).
"""

from __future__ import annotations

import gc
import getpass
import hashlib
import json
import os
import shutil
import signal
import tempfile
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from decimal import Decimal
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Iterable, Iterator, Sequence

from filelock import FileLock, Timeout

from cmsettle import __version__, forked
from cmsettle.compute.settle import ManagerResult, MonthResult, settle
from cmsettle.compute.state import LedgerState
from cmsettle.errors import NotReadyError, RefusedError
from cmsettle.inputs import MonthReader, load_month
from cmsettle.model import InputFile
from cmsettle.months import Month
from cmsettle.outputs import tables as out
from cmsettle.ruleset.loader import LoadedRuleSet, resolve
from cmsettle.workdays import WorkCalendar

if TYPE_CHECKING:
    from cmsettle.ledger.db import Ledger, RunInfo

# SQLAlchemy (the ledger and the audit log), openpyxl (the report) and Jinja2 (the payslips) are imported
# when first needed: by then the month's files are being read in the background (MonthReader), so their
# import time is spent beside the reading rather than before it.

AUDIT_SUFFIX = ".audit.jsonl"


def pay_report(*args, **kwargs) -> bytes:  # noqa: ANN002, ANN003
    """cmsettle.outputs.report.pay_report, imported on first use."""
    from cmsettle.outputs.report import pay_report as render_report

    return render_report(*args, **kwargs)


Render = Callable[[Sequence[ManagerResult]], dict[str, bytes]]  # some people's payslips: name -> bytes


def payslip_renderer(*args, **kwargs) -> Render:  # noqa: ANN002, ANN003
    """cmsettle.outputs.payslip.payslip_renderer, imported on first use."""
    from cmsettle.outputs.payslip import payslip_renderer as renderer

    return renderer(*args, **kwargs)


@dataclass(frozen=True)
class Settings:
    data_dir: Path
    out_dir: Path
    rules_dir: Path
    db_url: str
    keys_dir: Path = Path("keys")
    actor: str = field(default_factory=lambda: os.environ.get("USER") or _login())
    audit_file: Path | None = None  # the audit log's JSON-lines copy (None: the ledger's table only)


@dataclass(frozen=True)
class RunOutcome:
    month: Month
    result: MonthResult
    rule_set: LoadedRuleSet
    files: tuple[InputFile, ...]
    dry_run: bool
    revision: int
    run_id: str
    out_dir: Path | None = None
    outputs: dict[str, str] = field(default_factory=dict)  # name → sha256
    pay_day: str = ""
    status: str = "draft"  # draft, or closed for a simulated month


def _login() -> str:
    """The OS user running the command (the actor of its audit entries)."""
    try:
        return getpass.getuser()
    except Exception:  # noqa: BLE001  no user name at all (e.g. a container without /etc/passwd entry)
        return "cmsettle"


def sqlite_path(url: str) -> Path | None:
    prefix = "sqlite:///"
    return Path(url[len(prefix):]) if url.startswith(prefix) else None


def default_audit_file(db_url: str) -> Path:
    """``<ledger>.audit.jsonl`` beside a SQLite ledger (cmsettle.db → cmsettle.audit.jsonl); for a server
    ledger ``./cmsettle.audit.jsonl``."""
    db = sqlite_path(db_url)
    if db is None:
        return Path("cmsettle" + AUDIT_SUFFIX)
    return db.with_name(db.stem + AUDIT_SUFFIX)


def lock_file(settings: Settings) -> Path:
    """The run lock's file: ``<ledger>.lock`` beside a SQLite ledger, else ``<out>/.cmsettle.lock``."""
    db_file = sqlite_path(settings.db_url)
    return Path(str(db_file) + ".lock") if db_file else settings.out_dir / ".cmsettle.lock"


@contextmanager
def run_lock(settings: Settings) -> Iterator[None]:
    """One run per ledger at a time (cron-safe): a second run is refused at once (exit 4)."""
    target = lock_file(settings)
    target.parent.mkdir(parents=True, exist_ok=True)
    lock = FileLock(str(target), timeout=0)
    try:
        with lock:
            from cmsettle import audit

            audit.recover(settings)  # complete what a process killed after its commit left undone
            yield
    except Timeout:
        raise RefusedError(f"another cmsettle run holds the lock {target}; try again when it has finished") from None


def open_ledger(settings: Settings, *, read_only: bool) -> Ledger | None:
    """The ledger; for a read-only use of a SQLite file that does not exist yet, None (nothing created)."""
    db_file = sqlite_path(settings.db_url)
    if read_only and db_file is not None and not db_file.exists():
        return None
    from cmsettle.ledger.db import Ledger

    if read_only:
        from cmsettle.ledger.db import engine_for

        ledger = Ledger(engine_for(settings.db_url))
        revision = ledger.schema_revision()
        if revision is None:  # an empty database (e.g. a new PostgreSQL one): an empty ledger
            ledger.dispose()
            return None
        if revision != ledger.head_revision():  # an older schema: migrate before reading (schema only)
            ledger.dispose()
            return Ledger.open(settings.db_url)
        return ledger
    if db_file is not None:
        db_file.parent.mkdir(parents=True, exist_ok=True)
    return Ledger.open(settings.db_url)


@dataclass(frozen=True)
class Plan:
    prior: RunInfo | None  # the run whose closing state this month starts from
    replace: RunInfo | None  # a draft of this month being re-run
    revision: int
    first_ledger_month: bool
    reopen_reason: str | None = None


def plan_run(ledger: Ledger | None, month: Month, *, simulate: bool) -> Plan:
    """O1-O3: which state to start from, and whether this month may be (re)computed now."""
    if ledger is None:
        return Plan(prior=None, replace=None, revision=1, first_ledger_month=True)
    first = ledger.first_month()
    this = ledger.latest(month)
    later = [r for r in ledger.runs() if r.month > month and r.status != "superseded"]
    if later:
        raise RefusedError(f"{month} cannot be recomputed: later months are already in the ledger "
                           f"({', '.join(sorted({str(r.month) for r in later}))})")
    replace, revision, reason = None, 1, None
    if this is not None:
        if this.status == "closed":
            raise RefusedError(f"{month} is closed (revision {this.revision}); a closed month is never recomputed "
                               f"in place: use `settle reopen {month} --reason ...` (RULEBOOK O2)")
        if this.status == "draft":
            replace, revision = this, this.revision
        elif this.status == "reopened":
            revision, reason = this.revision + 1, this.reopen_reason
    if first is None or month <= first:
        if first is not None and month < first:
            raise RefusedError(f"{month} is before the ledger's first month {first}")
        return Plan(prior=None, replace=replace, revision=revision, first_ledger_month=True, reopen_reason=reason)
    prev = ledger.latest(month.prev)
    if prev is None:
        raise NotReadyError(f"{month.prev} is not in the ledger: months settle in order (RULEBOOK O3)")
    if not simulate and prev.status != "closed":
        raise NotReadyError(f"{month.prev} is not closed (state {prev.status}): sign it off first (RULEBOOK O1, O3)")
    return Plan(prior=prev, replace=replace, revision=revision, first_ledger_month=False, reopen_reason=reason)


def retro_adjustments(ledger: Ledger | None, month: Month) -> dict[str, Decimal]:
    """O2: per person, net pay of the latest closed revision of M-1 minus the revision that was paid."""
    if ledger is None:
        return {}
    revs = [r for r in ledger.runs(month.prev) if r.status in ("closed", "reopened")]
    if len(revs) < 2:
        return {}
    paid, latest = ledger.net_pay(revs[0].id), ledger.net_pay(revs[-1].id)
    diff = {mid: latest.get(mid, Decimal(0)) - paid.get(mid, Decimal(0)) for mid in set(paid) | set(latest)}
    return {mid: d for mid, d in sorted(diff.items()) if d}


def pay_day(month: Month, rules: LoadedRuleSet, cal: WorkCalendar) -> str:
    """O4: the payday of M+1, moved to the next working day."""
    nxt = month.next
    return cal.next_workday_on_or_after(nxt.first_day.replace(day=rules.rules.payday.day)).isoformat()


#: The stages of a run, in order; ``progress(stage)`` is called as each one starts (the CLI shows them).
STAGES = ("rules", "ledger", "inputs", "compute", "outputs", "save")


def crash_point(stage: str) -> None:
    """Test-only (tests/test_crash.py): CMSETTLE_TEST_CRASH_AT=<stage> kills this process here, as a
    power cut or `kill -9` would."""
    if os.environ.get("CMSETTLE_TEST_CRASH_AT") == stage:
        os.kill(os.getpid(), signal.SIGKILL)


@contextmanager
def gc_paused() -> Iterator[None]:
    """Python's cycle collector off for the length of a run. A month builds hundreds of thousands of objects
    that live to its end (pay lines, rows, formulas); each collection would walk them all again, for
    nothing: a run makes almost no reference cycles (a few thousand small objects). Reference counting still
    frees everything else. (The command line keeps the collector off altogether: see cmsettle.cli.main.)"""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def settle_month(month: Month, settings: Settings, *, dry_run: bool = False, simulate: bool = False,
                 progress: Callable[[str], None] | None = None) -> RunOutcome:
    with gc_paused():
        return _settle_month(month, settings, dry_run=dry_run, simulate=simulate, progress=progress)


def _settle_month(month: Month, settings: Settings, *, dry_run: bool, simulate: bool,
                  progress: Callable[[str], None] | None) -> RunOutcome:
    step = progress or (lambda stage: None)
    if simulate:  # a scratch ledger: its entries stay in it, the real audit file is never touched
        settings = replace(settings, audit_file=None)
    step("rules")
    # The input files are read in the background from here on (MonthReader, read-only); their problems are
    # raised when load_month gets to them, after the rule set's and the plan's, as before.
    with MonthReader(settings.data_dir, month, hash_later=True) as reader:
        rule_set = resolve(settings.rules_dir, month)
        with nullcontext() if dry_run else run_lock(settings):
            return _settle_locked(month, settings, reader, rule_set, dry_run=dry_run, simulate=simulate,
                                  step=step)


def _settle_locked(month: Month, settings: Settings, reader: MonthReader, rule_set: LoadedRuleSet, *,
                   dry_run: bool, simulate: bool, step: Callable[[str], None]) -> RunOutcome:
    from cmsettle import audit

    cal = WorkCalendar(dict(rule_set.rules.calendar))
    # Plan, read and compute against the ledger read-only: a run that fails on its inputs leaves
    # no trace, not even a new ledger file. The ledger is opened for writing only to save.
    step("ledger")
    ledger = open_ledger(settings, read_only=True)
    try:
        plan = plan_run(ledger, month, simulate=simulate)
        prior = ledger.load_state(plan.prior) if ledger is not None else None
        known = frozenset(prior.persons) if prior is not None else frozenset()
        step("inputs")
        inputs = load_month(settings.data_dir, month, rule_set.rules, reader=reader,
                            first_ledger_month=plan.first_ledger_month, known_manager_ids=known)
        crash_point("inputs")
        step("compute")
        reader.start_hashing()  # the large files' sha256, if load_month has not started it
        result = settle(inputs, rule_set.rules, cal, prior or LedgerState(), retro_adjustments(ledger, month))
        inputs = replace(inputs, files=reader.with_hashes(inputs.files))
        crash_point("compute")
        run_id = _run_id(month, plan.revision, rule_set, inputs.files, plan.prior)
        payday = pay_day(month, rule_set, cal)
        if dry_run:
            return RunOutcome(month, result, rule_set, inputs.files, True, plan.revision, run_id, pay_day=payday)
        final = simulate  # a simulated month is closed at once (no sign-off)
        step("outputs")
        target = settings.out_dir / str(month)
        staging = _staging_folder(settings.out_dir, month)
        try:
            with StagedOutputs(staging, result, rule_set, inputs.files, run_id=run_id, revision=plan.revision,
                               status="closed" if final else "draft", pay_day=payday) as staged:
                # the payslips may still be being written (StagedOutputs): the ledger's transaction asks for
                # them, and the manifest over all the files, before its commit
                step("save")
                if ledger is not None:
                    ledger.dispose()
                ledger = open_ledger(settings, read_only=False)
                now = datetime.now(timezone.utc)
                applied = {m.manager_id for m in result.managers if m.grade_rule == "G7"}

                def record(conn, rid: int) -> None:  # noqa: ANN001  inside the transaction, last
                    hashes = staged.finish()
                    audit.record_run(
                        conn, month=month, run_id=run_id, revision=plan.revision,
                        status="closed" if final else "draft", mode="simulate" if simulate else "month",
                        rule_set=rule_set, inputs=inputs.files, outputs=hashes,
                        manifest_sha256=hashes["manifest.json"], output_dir=str(target), replaced=plan.replace,
                        reopen_reason=plan.reopen_reason, actor=settings.actor, at=now,
                        overrides=[o for o in inputs.overrides if o.manager_id in applied])
                    crash_point("ledger")

                ledger.save_run(
                    month=month, state=result.state, lines=list(result.lines),
                    manager_rows=[dict(out.manager_row(str(month), m), grade_reason=m.grade_reason)
                                  for m in result.managers],
                    rule_set_id=rule_set.id, rule_set_sha256=rule_set.sha256,
                    manifest_sha256=lambda: staged.finish()["manifest.json"],
                    run_id=run_id, created_at=now, output_dir=str(target),
                    mode="simulate" if simulate else "month", status="closed" if final else "draft",
                    replace_run=plan.replace.id if plan.replace else None, revision=plan.revision,
                    reopen_reason=plan.reopen_reason,
                    on_commit=record,
                )
                hashes = staged.finish()
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        crash_point("commit")
        swap_into_place(staging, target)  # should this fail, the next command under the lock completes it
        audit.after_commit(settings, ledger.engine)
        return RunOutcome(month, result, rule_set, inputs.files, False, plan.revision, run_id, target,
                          hashes, payday,
                          "closed (simulated)" if final else "draft")
    finally:
        if ledger is not None:
            ledger.dispose()


def _run_id(month: Month, revision: int, rule_set: LoadedRuleSet, files: tuple[InputFile, ...],
            prior: RunInfo | None) -> str:
    """Deterministic: the same inputs, rules and prior state give the same run id (O2: byte-identical)."""
    h = hashlib.sha256()
    for part in (str(month), str(revision), __version__, rule_set.sha256, prior.run_id if prior else "-",
                 *(f"{f.table}:{f.sha256}" for f in files)):
        h.update(part.encode() + b"\n")
    return h.hexdigest()[:16]


class StagedOutputs:
    """Every output file of DATA.md, written into the staging folder; the manifest (over the others' hashes)
    by :meth:`finish`, which returns the sha256 of each file, the manifest's too (each file hashed once).

    The report and the payslips (one per person: 5,000 in a large company) are jobs of an OutputJobs: with
    many people, a forked process starts on them at once, the report first, while this process writes the
    CSV files and goes on to prepare the ledger's transaction, which asks :meth:`finish` before its commit;
    this process then takes the payslips the child has not got to yet. Both halves are Python work (and
    file creation) that one core does at a time (at 5,000 people: the report 0.6-0.8 s, the payslips
    1.1-2 s; the CSV files 0.2 s, the ledger's rows 0.5 s). Leaving the ``with`` block before
    :meth:`finish` (an error) stops the forked process."""

    def __init__(self, staging: Path, result: MonthResult, rule_set: LoadedRuleSet, files: tuple[InputFile, ...],
                 *, run_id: str, revision: int, status: str, pay_day: str):
        from cmsettle.outputs.report import REPORT_FILE

        self._staging, self._result, self._rule_set, self._files = staging, result, rule_set, files
        self._meta = {"run_id": run_id, "revision": revision, "status": status, "pay_day": pay_day}

        def report() -> dict[str, bytes]:
            return {REPORT_FILE: pay_report(result, rule_set, files, run_id=run_id, revision=revision,
                                            status=status, pay_day=pay_day)}

        render = payslip_renderer(result, rule_set, run_id=run_id, pay_day=pay_day)
        people = result.managers
        size = -(-len(people) // SHARES) or 1
        slips = [partial(render, people[i:i + size]) for i in range(0, len(people), size)]
        self._jobs = OutputJobs(staging, [report, *slips], fork=_fork_worthwhile(len(people)))
        self._hashes: dict[str, str] | None = None
        try:
            outputs = {
                "pay_lines.csv": out.pay_lines_csv(result),
                "managers.csv": out.managers_csv(result),
                "bank_transfer.csv": out.bank_csv(result, final=status == "closed"),
            }
            _write(staging, outputs)
        except BaseException:
            self._jobs.stop()
            raise
        self._written = {name: out.sha256(data) for name, data in outputs.items()}

    def finish(self) -> dict[str, str]:
        """Finish the report and the payslips, write the manifest; name -> sha256 of every file (asked again:
        the same)."""
        if self._hashes is not None:
            return self._hashes
        written = dict(self._written)
        written.update(self._jobs.hashes())
        hashes = dict(sorted(written.items()))
        m, rule_set = self._meta, self._rule_set
        manifest = {
            "run_id": m["run_id"],
            "month": str(self._result.month),
            "revision": m["revision"],
            "tool": "cmsettle",
            "tool_version": __version__,
            "status": m["status"],
            "pay_day": m["pay_day"],
            "rule_set": {"id": rule_set.id, "effective_from": rule_set.rules.effective_from,
                         "file": rule_set.path.name, "sha256": rule_set.sha256},
            "inputs": [{"table": f.table, "file": f.path, "rows": f.rows, "sha256": f.sha256,
                        "encoding": f.encoding} for f in self._files],
            "outputs": dict(hashes),
            "warnings": list(self._result.warnings),
        }
        data = out.canonical_json(manifest)
        _write(self._staging, {"manifest.json": data})
        hashes["manifest.json"] = out.sha256(data)
        self._hashes = hashes
        return hashes

    def __enter__(self) -> StagedOutputs:
        return self

    def __exit__(self, *exc: object) -> None:
        self._jobs.stop()


#: The payslips are cut into this many shares at most (StagedOutputs): with the report, one byte each in
#: OutputJobs' pipe.
SHARES = 200

#: From this many payslips on, they are written by a forked process (below it the fork costs more than it
#: saves: ~200 payslips take 25 ms). Tests set it to 0 to take the forked way with a small branch.
FORK_FROM = 200


def _fork_worthwhile(payslip_count: int) -> bool:
    least = int(os.environ.get("CMSETTLE_TEST_FORK_FROM") or FORK_FROM)  # test-only, as crash_point
    return payslip_count >= least and hasattr(os, "fork") and (os.cpu_count() or 1) > 1


Job = Callable[[], dict[str, bytes]]  # some of the output files: name -> bytes


class OutputJobs:
    """Output files made and written into the staging folder by two processes, this one and a forked child
    (cmsettle.forked), or (``fork=False``) by this one alone, at once.

    The child takes the first job at once, the others one by one from a pipe that holds their numbers, a
    byte each, and that both processes read from (a read of one byte from a pipe is whole: no two readers
    get the same byte); it sends back the sha256 of the files it wrote. This process meanwhile does its own
    work; when it asks for the hashes (:meth:`hashes`) it takes the jobs left rather than wait: the two end
    about together (at 5,000 people it used to wait 0.6-1.0 s for the child, its other core idle). A job's
    files are the same bytes whoever makes them. :meth:`stop` (on an error here) kills and reaps a child
    still at work; the caller then removes the staging folder, as for any failed run."""

    def __init__(self, staging: Path, jobs: Sequence[Job], *, fork: bool):
        if len(jobs) > 256:
            raise ValueError("at most 256 jobs (a byte each)")
        self._staging, self._jobs = staging, list(jobs)
        self._child: forked.Child | None = None
        self._queue: int | None = None  # the numbers of the jobs not taken yet
        self._done: dict[str, str] | None = None
        if fork and self._jobs:
            self._start()
        else:
            self._done = self._take(range(len(self._jobs)))

    def _start(self) -> None:
        queue, fill = os.pipe()
        forked.write_all(fill, bytes(range(1, len(self._jobs))))  # < 256 bytes: well within a pipe's buffer
        os.close(fill)
        self._queue = queue

        def work() -> bytes:  # in the child: the first job, then those left in the pipe
            return json.dumps({**self._take([0]), **self._take(_numbers(queue))}).encode()

        self._child = forked.Child(work, "writing the outputs")

    def hashes(self) -> dict[str, str]:
        """name -> sha256 of each file written (the jobs left made here, then the child waited for)."""
        if self._done is None:
            mine = self._take(_numbers(self._queue))
            try:
                theirs = json.loads(self._child.answer())
            finally:
                self._close()
            self._done = {**theirs, **mine}
        return self._done

    def _take(self, numbers: Iterable[int]) -> dict[str, str]:
        """Make and write these jobs' files; name -> sha256."""
        hashes: dict[str, str] = {}
        for k in numbers:
            files = self._jobs[k]()
            _write(self._staging, files)
            hashes.update((name, out.sha256(data)) for name, data in files.items())
        return hashes

    def stop(self) -> None:
        """Kill and reap the child if it is still at work (its files are not wanted any more)."""
        if self._child is not None:
            self._child.stop()
        self._close()

    def _close(self) -> None:
        if self._queue is not None:
            os.close(self._queue)
            self._queue = None


def _numbers(queue: int) -> Iterator[int]:
    """The job numbers taken from the pipe, one at a time, until it is empty."""
    while number := os.read(queue, 1):
        yield number[0]


def private_output(name: str) -> bool:
    """The outputs with bank numbers or one person's pay: readable by their owner only (mode 600)."""
    return name == "bank_transfer.csv" or name.startswith("payslips/")


def _staging_folder(out_dir: Path, month: Month) -> Path:
    """A new ``<out>/.<month>.<pid>.<random>/`` (mode 700); audit.recover tells a dead process's staging
    folder by the pid."""
    out_dir.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix=f".{month}.{os.getpid()}.", dir=out_dir))


def _write(staging: Path, files: dict[str, bytes]) -> None:
    """Write the outputs into the staging folder, each file with its mode from the first byte."""
    folders: set[Path] = set()
    for i, (name, data) in enumerate(files.items()):
        if i == len(files) // 2:
            crash_point("outputs")
        path = staging / name
        if path.parent not in folders:
            path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            folders.add(path.parent)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600 if private_output(name) else 0o644)
        try:
            forked.write_all(fd, data)
        finally:
            os.close(fd)


def swap_into_place(staging: Path, target: Path) -> None:
    """Replace the month's output folder by the staged one with renames (never half a folder)."""
    old = None
    if target.exists():
        old = target.with_name(f".{target.name}.old")
        shutil.rmtree(old, ignore_errors=True)
        target.rename(old)
    staging.rename(target)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
