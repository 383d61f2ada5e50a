"""The tamper-evident audit log (issue 9; STYLE.md: no reference codebase has one).

Every change of the records is one or more entries, appended in the same database transaction as the
change itself: a month run (dry runs excepted), a rule-set change, each grade override applied, a
signature, a close, a reopen, a signer key, a purge. An entry is

    {"seq", "at", "actor", "action", "month", "data", "prev_hash"}   and   hash = sha256(prev_hash + body)

where ``body`` is the canonical JSON of the entry (sorted keys, no spaces, UTF-8) and ``prev_hash`` the
previous entry's hash ("0" * 64 for the first). Editing, deleting, inserting or reordering any entry
breaks the chain from there on. The chain lives twice: in the ledger (table ``audit_entry``) and, one
entry per line, in a JSON-lines file (by default ``<ledger>.audit.jsonl`` beside a SQLite ledger). The
file is written after the commit and fsync'ed; a process killed in between leaves it behind the
ledger, and the next command that takes the run lock appends the missing lines (``recover``).

``verify`` re-walks both chains, checks that they agree, that every run, signature, close and reopen in
the ledger has its entry, every signature (``lifecycle.verify_signature`` and the sign entries' own
public keys), and the current output files of every run against its manifest and closing.json.

Entries never carry personal data: ``append`` refuses an ``id_number`` or ``bank_account`` key.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import shutil
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable, Mapping

from filelock import FileLock, Timeout
from sqlalchemy import Connection, Engine, insert, select, text

from cmsettle.errors import RefusedError
from cmsettle.ledger import tables as T

if TYPE_CHECKING:  # pragma: no cover
    from cmsettle.ledger.db import Ledger, RunInfo
    from cmsettle.pipeline import Settings

GENESIS = "0" * 64
FORBIDDEN_KEYS = frozenset({"id_number", "bank_account"})  # issue 9 item 6: never in the audit log
ACTIONS = ("run", "rule_set_change", "grade_override", "sign", "close", "reopen", "keys_create", "purge")
_BODY_KEYS = ("seq", "at", "actor", "action", "month", "data", "prev_hash")


def canonical(obj: object) -> str:
    """The canonical JSON text of an entry: sorted keys, no insignificant spaces, non-ASCII as is."""
    return json.dumps(obj, ensure_ascii=False, sort_keys=True, separators=(",", ":"), allow_nan=False)


def chain_hash(prev_hash: str, body: str) -> str:
    return hashlib.sha256((prev_hash + body).encode("utf-8")).hexdigest()


def iso(dt: datetime) -> str:
    return dt.astimezone(timezone.utc).isoformat(timespec="seconds")


@dataclass(frozen=True)
class Entry:
    seq: int
    at: str
    actor: str
    action: str
    month: str | None
    data: dict
    prev_hash: str
    hash: str

    def body(self) -> str:
        return canonical({"seq": self.seq, "at": self.at, "actor": self.actor, "action": self.action,
                          "month": self.month, "data": self.data, "prev_hash": self.prev_hash})

    def line(self) -> str:
        """The JSON-lines form: the body's fields and the hash."""
        return canonical({**json.loads(self.body()), "hash": self.hash})


def _refuse_personal(data: object, where: str = "data") -> None:
    if isinstance(data, Mapping):
        for k, v in data.items():
            if k in FORBIDDEN_KEYS:
                raise ValueError(f"audit entry {where}.{k}: personal data never goes in the audit log")
            _refuse_personal(v, f"{where}.{k}")
    elif isinstance(data, (list, tuple)):
        for i, v in enumerate(data):
            _refuse_personal(v, f"{where}[{i}]")


# ---- writing ----------------------------------------------------------------------------------------

def append(conn: Connection, action: str, *, month: object | None, data: dict, actor: str,
           at: datetime) -> Entry:
    """Append one entry inside the caller's transaction (call it after the change's own writes)."""
    if action not in ACTIONS:
        raise ValueError(f"unknown audit action {action!r}")
    _refuse_personal(data)
    if conn.dialect.name == "postgresql":  # one appender at a time: seq and prev_hash follow the last entry
        conn.execute(text("LOCK TABLE audit_entry IN SHARE ROW EXCLUSIVE MODE"))
    a = T.audit_entry.c
    last = conn.execute(select(a.seq, a.hash).order_by(a.seq.desc()).limit(1)).first()
    seq, prev = (last.seq + 1, last.hash) if last is not None else (1, GENESIS)
    draft = Entry(seq, iso(at), actor, action, None if month is None else str(month),
                  json.loads(canonical(data)), prev, "")
    body = draft.body()
    entry = replace(draft, hash=chain_hash(prev, body))
    conn.execute(insert(T.audit_entry).values(seq=seq, at=entry.at, actor=actor, action=action,
                                              month=entry.month, body=body, prev_hash=prev, hash=entry.hash))
    return entry


def last_entry(conn: Connection, action: str | None = None) -> Entry | None:
    a = T.audit_entry.c
    q = select(T.audit_entry).order_by(a.seq.desc()).limit(1)
    if action is not None:
        q = q.where(a.action == action)
    r = conn.execute(q).mappings().first()
    return _entry(r) if r is not None else None


def _entry(r: Mapping[str, Any]) -> Entry:
    try:
        data = json.loads(r["body"]).get("data", {})
    except (ValueError, AttributeError):
        data = {}
    return Entry(r["seq"], r["at"], r["actor"], r["action"], r["month"],
                 data if isinstance(data, dict) else {}, r["prev_hash"], r["hash"])


def record_run(conn: Connection, *, month: object, run_id: str, revision: int, status: str, mode: str,
               rule_set: Any, inputs: Iterable[Any], outputs: Mapping[str, str], manifest_sha256: str,
               output_dir: str, replaced: "RunInfo | None", reopen_reason: str | None,
               overrides: Iterable[Any], actor: str, at: datetime) -> list[Entry]:
    """The entries of one month run: the run, a rule-set change against the previous run, each override."""
    previous = last_entry(conn, "run")
    rs = {"id": rule_set.id, "sha256": rule_set.sha256, "file": rule_set.path.name}
    entries = [append(conn, "run", month=month, actor=actor, at=at, data={
        "run_id": run_id, "revision": revision, "status": status, "mode": mode, "rule_set": rs,
        "inputs": [{"table": f.table, "file": f.path, "rows": f.rows, "sha256": f.sha256} for f in inputs],
        "outputs": dict(sorted(outputs.items())), "manifest_sha256": manifest_sha256,
        "output_dir": output_dir,
        "replaces": {"run_id": replaced.run_id, "revision": replaced.revision} if replaced else None,
        "reopen_reason": reopen_reason,
    })]
    old = previous.data.get("rule_set") if previous is not None else None
    if isinstance(old, dict) and old.get("sha256") != rule_set.sha256:
        entries.append(append(conn, "rule_set_change", month=month, actor=actor, at=at, data={
            "run_id": run_id, "old": {"id": old.get("id"), "sha256": old.get("sha256")},
            "new": {"id": rule_set.id, "sha256": rule_set.sha256},
            "previous_run": {"month": previous.month, "run_id": previous.data.get("run_id")},
        }))
    for o in overrides:
        entries.append(append(conn, "grade_override", month=month, actor=actor, at=at, data={
            "run_id": run_id, "manager_id": o.manager_id, "grade": o.grade, "approved_by": o.approved_by,
            "reason": o.reason,
        }))
    return entries


# ---- the JSON-lines file ----------------------------------------------------------------------------

def _tail(path: Path) -> tuple[bytes, int]:
    """The last complete line of the file (b"" if none) and the length up to the end of that line
    (a trailing partial line, left by a killed writer, lies beyond it)."""
    with open(path, "rb") as fh:
        end = fh.seek(0, os.SEEK_END)
        pos, buf = end, b""
        while pos > 0:
            step = min(1 << 16, pos)
            pos -= step
            fh.seek(pos)
            buf = fh.read(step) + buf
            cut = buf.rfind(b"\n")
            if cut < 0:
                continue
            complete = pos + cut + 1  # bytes up to and including the last newline
            prev = buf.rfind(b"\n", 0, cut)
            while prev < 0 and pos > 0:
                step = min(1 << 16, pos)
                pos -= step
                fh.seek(pos)
                buf = fh.read(step) + buf
                cut += step
                prev = buf.rfind(b"\n", 0, cut)
            return buf[prev + 1: cut], complete
        return b"", 0


def sync_file(engine: Engine, path: Path) -> list[str]:
    """Append to the audit file the ledger's entries it does not have yet (after a commit, or after a
    process was killed between its commit and its write); fsync. Returns warnings (nothing is written
    when the file does not continue the ledger's chain: `settle audit verify` says why)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(path) + ".lock"):
        last_seq, last_hash, keep = 0, GENESIS, 0
        if path.exists():
            line, keep = _tail(path)
            if line:
                try:
                    obj = json.loads(line)
                    last_seq, last_hash = int(obj["seq"]), str(obj["hash"])
                except (ValueError, KeyError, TypeError):
                    return [f"audit file {path}: its last line is not an entry; nothing appended "
                            "(run `settle audit verify`)"]
        a = T.audit_entry.c
        with engine.connect() as conn:
            if last_seq:
                have = conn.execute(select(a.hash).where(a.seq == last_seq)).scalar()
                if have != last_hash:
                    return [f"audit file {path} does not continue this ledger's chain at entry {last_seq}; "
                            "nothing appended (run `settle audit verify`)"]
            q = select(T.audit_entry).where(a.seq > last_seq).order_by(a.seq)
            rows = conn.execute(q).mappings().all()
        if not rows and (not path.exists() or path.stat().st_size == keep):
            return []
        new = not path.exists()
        fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o644)
        with os.fdopen(fd, "r+b") as fh:
            fh.truncate(keep)  # drop a partial line a killed writer left
            fh.seek(keep)
            for r in rows:
                fh.write((canonical({**json.loads(r["body"]), "hash": r["hash"]}) + "\n").encode("utf-8"))
            fh.flush()
            os.fsync(fh.fileno())
        if new:
            _fsync_dir(path.parent)
    return []


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:  # pragma: no cover
        return
    try:
        os.fsync(fd)
    except OSError:  # pragma: no cover
        pass
    finally:
        os.close(fd)


def after_commit(settings: "Settings", engine: Engine) -> list[str]:
    """What every audited command does once its transaction has committed: bring the file up to date."""
    if settings.audit_file is None:
        return []
    return sync_file(engine, Path(settings.audit_file))


# ---- verify -----------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Break:
    """One thing wrong, attached to the audit entry it concerns (``seq``) when there is one."""

    seq: int | None
    where: str  # ledger, file <name>, signature, outputs
    what: str

    def __str__(self) -> str:
        head = f"entry {self.seq} ({self.where})" if self.seq is not None else self.where
        return f"{head}: {self.what}"


@dataclass
class Report:
    entries: int = 0
    file: Path | None = None
    file_entries: int = 0
    signatures: int = 0
    runs_checked: int = 0
    outputs_checked: int = 0
    breaks: list[Break] = field(default_factory=list)

    def add(self, seq: int | None, where: str, what: str) -> None:
        self.breaks.append(Break(seq, where, what))

    @property
    def ok(self) -> bool:
        return not self.breaks

    @property
    def first(self) -> Break | None:
        """The first broken entry (lowest seq), else the first problem not tied to an entry."""
        with_seq = [b for b in self.breaks if b.seq is not None]
        if with_seq:
            return min(with_seq, key=lambda b: b.seq or 0)
        return self.breaks[0] if self.breaks else None

    def as_dict(self) -> dict:
        first = self.first
        as_dict = (lambda b: {"seq": b.seq, "where": b.where, "what": b.what})  # noqa: E731
        return {
            "ok": self.ok, "entries": self.entries, "audit_file": str(self.file) if self.file else None,
            "file_entries": self.file_entries, "signatures": self.signatures, "runs": self.runs_checked,
            "output_files": self.outputs_checked, "first_break": None if first is None else as_dict(first),
            "breaks": [as_dict(b) for b in self.breaks],
        }


# One stored entry to check: (seq, its fields with "body" and "hash"), or (seq or None, None, what is wrong).
Row = tuple[int | None, Mapping[str, Any] | None, str]
_COLUMNS = ("seq", "at", "actor", "action", "month", "prev_hash")


def _walk(rows: list[Row], where: str, report: Report) -> list[Entry]:
    """Check one chain in its stored order: numbering, links, hashes, the columns against the body."""
    entries: list[Entry] = []
    prev_hash, prev_seq = GENESIS, 0

    def add(seq: int | None, what: str) -> None:
        report.add(seq, where, what)

    for label, fields, problem in rows:
        if fields is None:
            add(label if label is not None else prev_seq + 1, problem)
            prev_seq += 1
            continue
        seq, body, stored = fields["seq"], fields["body"], fields["hash"]
        try:
            parsed = json.loads(body)
        except ValueError:
            parsed = None
        if not isinstance(parsed, dict) or sorted(parsed) != sorted(_BODY_KEYS):
            add(seq, f"the entry is not an audit entry (expected the fields {', '.join(_BODY_KEYS)})")
            prev_seq, prev_hash = seq, stored
            continue
        if seq > prev_seq + 1:
            gap = f"{prev_seq + 1}" if seq == prev_seq + 2 else f"{prev_seq + 1}..{seq - 1}"
            add(prev_seq + 1, f"entry {gap} is missing (deleted?): entry {prev_seq} is followed by "
                              f"entry {seq}")
        elif seq != prev_seq + 1:
            add(seq, f"entry {seq} comes after entry {prev_seq} (reordered or repeated)")
        for k in _COLUMNS:
            if parsed.get(k) != fields[k]:
                add(seq, f"{k} {fields[k]!r} differs from the {k} {parsed.get(k)!r} in the entry's body "
                         "(edited?)")
        if canonical(parsed) != body:
            add(seq, "the entry is not in canonical form (edited?)")
        if fields["prev_hash"] != prev_hash:
            add(seq, f"prev_hash {str(fields['prev_hash'])[:12]}… is not the hash {prev_hash[:12]}… of the "
                     "entry before it (an entry deleted, inserted or reordered)")
        if chain_hash(str(fields["prev_hash"]), body) != stored:
            add(seq, "hash does not match the entry's contents (edited?)")
        data = parsed["data"] if isinstance(parsed["data"], dict) else {}
        entries.append(Entry(parsed["seq"], parsed["at"], parsed["actor"], parsed["action"], parsed["month"],
                             data, fields["prev_hash"], stored))
        prev_seq, prev_hash = seq, stored
    return entries


def _db_rows(engine: Engine) -> list[Row]:
    with engine.connect() as conn:
        rows = conn.execute(select(T.audit_entry).order_by(T.audit_entry.c.seq)).mappings().all()
    return [(r["seq"], dict(r), "") for r in rows]


def _file_rows(path: Path, report: Report, where: str) -> list[Row]:
    rows: list[Row] = []
    with open(path, "rb") as fh:
        for n, raw in enumerate(fh, start=1):
            if not raw.endswith(b"\n"):
                report.add(None, where, f"line {n} is cut short (a write was interrupted); the next settle "
                                        "command that takes the run lock repairs it")
                break
            try:
                obj = json.loads(raw.decode("utf-8"))
                if not isinstance(obj, dict):
                    raise ValueError("not an object")
                stored = obj.pop("hash")
                fields = {k: obj.get(k) for k in _COLUMNS}
                rows.append((obj["seq"], {**fields, "hash": stored, "body": canonical(obj)}, ""))
            except (ValueError, KeyError, UnicodeDecodeError) as exc:
                rows.append((None, None, f"line {n} is not an audit entry ({exc})"))
    return rows


def verify(settings: "Settings") -> Report:
    """Re-walk the audit chain in the ledger and in the file, every signature and every run's outputs.

    Never waits for nor takes the run lock; a mismatch found while another command holds it is refused
    (RefusedError: verify again) rather than reported as a break, since that command may be mid-way."""
    from cmsettle.pipeline import open_ledger

    report = Report(file=Path(settings.audit_file) if settings.audit_file else None)
    ledger = open_ledger(settings, read_only=True)
    file_exists = report.file is not None and report.file.exists()
    if ledger is None:
        if file_exists:
            report.add(None, "ledger", f"there is no ledger at {settings.db_url} but the audit file "
                                       f"{report.file} has entries")
        return report
    try:
        db_rows = _db_rows(ledger.engine)
        db_entries = _walk(db_rows, "ledger", report)
        report.entries = len(db_entries)
        if report.file is not None:
            where = f"file {report.file.name}"
            if file_exists:
                file_rows = _file_rows(report.file, report, where)
                report.file_entries = len(_walk(file_rows, where, report))
                _compare(db_rows, file_rows, report, where)
            elif db_entries:
                report.add(1, where, f"the audit file {report.file} is missing (the ledger has entries)")
        _check_ledger(ledger, db_entries, settings, report)
    finally:
        ledger.dispose()
    report.breaks.sort(key=lambda b: (b.seq is None, b.seq or 0))
    if report.breaks and _running(settings):
        raise RefusedError("a cmsettle command is running on this ledger (it holds the run lock): its "
                           "outputs or audit lines may be half written; verify again when it has finished")
    return report


def _running(settings: "Settings") -> bool:
    """Whether another command holds the run lock now (verify itself never waits for it nor holds it)."""
    from cmsettle.pipeline import lock_file

    target = lock_file(settings)
    if not target.exists():
        return False
    try:
        with FileLock(str(target), timeout=0):
            return False
    except Timeout:
        return True


def _compare(db_rows: list[Row], file_rows: list[Row], report: Report, where: str) -> None:
    """The file must hold the ledger's entries, byte for byte, and no others."""
    db = {r[0]: r[1] for r in db_rows if r[1] is not None}
    fl = {r[0]: r[1] for r in file_rows if r[1] is not None}
    for seq in sorted(set(db) & set(fl)):
        if db[seq]["hash"] != fl[seq]["hash"] or db[seq]["body"] != fl[seq]["body"]:
            report.add(seq, where, "the ledger's entry and the file's entry differ")
    only_db, only_file = sorted(set(db) - set(fl)), sorted(set(fl) - set(db))
    if only_db:
        tail = not fl or only_db[0] > max(fl)  # type: ignore[type-var]
        report.add(only_db[0], where, f"the audit file lacks entries {_span(only_db)} of the ledger" + (
            " (written after the commit: a command was interrupted? the next settle command that takes the "
            "run lock appends them)" if tail else ""))
    if only_file:
        report.add(only_file[0], "ledger", f"the ledger lacks entries {_span(only_file)} that the audit "
                                           "file has (deleted from the ledger?)")


def _span(seqs: list) -> str:
    if len(seqs) == 1:
        return str(seqs[0])
    if seqs[-1] - seqs[0] == len(seqs) - 1:
        return f"{seqs[0]}..{seqs[-1]}"
    return ", ".join(map(str, seqs))


def _check_ledger(ledger: "Ledger", entries: list[Entry], settings: "Settings", report: Report) -> None:
    """Every run, signature, close and reopen of the ledger against the chain; signatures; output files."""
    from cmsettle.lifecycle import verify_signature

    runs = ledger.runs()
    by_id = {r.id: r for r in runs}
    run_entries: dict[tuple[str, Any, Any], Entry] = {}
    signs: dict[tuple[Any, Any, Any], Entry] = {}
    closes: dict[tuple[str, Any], Entry] = {}
    reopens: dict[tuple[str, Any], Entry] = {}
    for e in entries:
        d = e.data
        if e.action == "run":
            run_entries[(str(e.month), d.get("revision"), d.get("run_id"))] = e  # a re-run's latest wins
        elif e.action == "sign":
            signs[(d.get("run_id"), d.get("role"), d.get("signature"))] = e
            report.signatures += 1
            _check_sign_entry(e, ledger, report)
        elif e.action == "close":
            closes[(str(e.month), d.get("revision"))] = e
        elif e.action == "reopen":
            reopens[(str(e.month), d.get("revision"))] = e
    for sig in ledger.signatures():
        run = by_id.get(sig.run_id)
        entry = signs.get((run.run_id if run else "", sig.role, sig.signature))
        seq = entry.seq if entry else None
        if run is None:
            report.add(seq, "signature", f"a {sig.role} signature by {sig.signer} of no run in the ledger")
            continue
        why = verify_signature(run, sig)
        if why:
            report.add(seq, "signature", why)
        if entry is None:
            report.add(None, "ledger", f"{run.month} revision {run.revision}: the {sig.role} signature by "
                                       f"{sig.signer} is not in the audit log")
    for r in runs:
        if r.status == "superseded" or r.mode != "month":
            continue
        report.runs_checked += 1
        entry = run_entries.get((str(r.month), r.revision, r.run_id))
        label = f"{r.month} revision {r.revision}"
        if entry is None:
            report.add(None, "ledger", f"{label} (run {r.run_id}) is not in the audit log")
        elif entry.data.get("manifest_sha256") != r.manifest_sha256:
            recorded = _h(entry.data.get("manifest_sha256"))
            report.add(entry.seq, "ledger", f"{label}: the ledger's manifest sha256 {_h(r.manifest_sha256)} "
                                            f"is not the one recorded at the run {recorded}")
        close = closes.get((str(r.month), r.revision))
        if r.status in ("closed", "reopened") and close is None:
            report.add(None, "ledger", f"{label} is {r.status} but its close is not in the audit log")
        if r.status == "reopened" and (str(r.month), r.revision) not in reopens:
            report.add(None, "ledger", f"{label} is reopened but its reopen is not in the audit log")
        _check_outputs(r, entry, close, settings, report)


def _h(sha: object) -> str:
    return f"{str(sha or '')[:16]}…"


def _check_sign_entry(e: Entry, ledger: "Ledger", report: Report) -> None:
    """A sign entry verifies by itself (its public key) and was made with the signer's registered key."""
    from cmsettle.lifecycle import fingerprint, load_public, signed_statement

    d = e.data
    who = f"{e.month} revision {d.get('revision')} as {d.get('role')} by {d.get('signer')}"
    try:
        public = load_public(str(d.get("public_key")))
        if fingerprint(public) != d.get("fingerprint"):
            raise ValueError("the fingerprint is not the public key's")
        public.verify(base64.b64decode(str(d.get("signature"))), signed_statement(
            str(e.month), d.get("revision"), d.get("run_id"), d.get("role"), d.get("signer"),
            d.get("manifest_sha256")))
    except Exception as exc:  # noqa: BLE001  whatever fails, the signature does not verify
        report.add(e.seq, "signature", f"the signature of {who} does not verify ({type(exc).__name__}"
                                       f"{': ' + str(exc) if str(exc) else ''})")
    registered = ledger.signer_key(str(d.get("signer")))
    if registered is not None and registered.fingerprint != d.get("fingerprint"):
        report.add(e.seq, "signature", f"{who}: signed with key {_h(d.get('fingerprint'))}, not the "
                                       f"registered key {_h(registered.fingerprint)}")


def _check_outputs(run: "RunInfo", entry: Entry | None, close: Entry | None, settings: "Settings",
                   report: Report) -> None:
    """The run's output files against its manifest (and closing.json once closed); the manifest and
    closing.json against the ledger and the chain."""
    from cmsettle.lifecycle import CLOSING_FILE, MANIFEST_FILE, manifest_run_id, output_folder
    from cmsettle.outputs.tables import sha256

    seq = entry.seq if entry else None
    label = f"{run.month} revision {run.revision}"
    folder = output_folder(run, settings)
    if folder is None or manifest_run_id(folder) != run.run_id:
        looked = folder or settings.out_dir / str(run.month)
        report.add(seq, "outputs", f"{label}: its outputs are not in {looked} (no manifest.json of run "
                                   f"{run.run_id}; give the output folder with --out)")
        return
    raw = (folder / MANIFEST_FILE).read_bytes()
    if sha256(raw) != run.manifest_sha256:
        report.add(seq, "outputs", f"{label}: {folder / MANIFEST_FILE} has sha256 {_h(sha256(raw))}, the "
                                   f"ledger recorded {_h(run.manifest_sha256)}")
        return
    manifest = json.loads(raw)
    final: dict[str, str] = {}
    if run.status in ("closed", "reopened"):
        path, at = folder / CLOSING_FILE, close.seq if close else seq
        if not path.is_file():
            report.add(at, "outputs", f"{label}: {path} is missing")
        else:
            closing_raw = path.read_bytes()
            want = close.data.get("closing_sha256") if close else None
            if want and sha256(closing_raw) != want:
                report.add(at, "outputs", f"{label}: {path} has sha256 {_h(sha256(closing_raw))}, the audit "
                                          f"log recorded {_h(want)}")
            try:
                final = dict(json.loads(closing_raw).get("outputs", {}))
            except (ValueError, AttributeError, TypeError):
                report.add(at, "outputs", f"{label}: {path} is not closing.json")
    for name, want in sorted(manifest.get("outputs", {}).items()):
        want = final.get(name, want)
        path = folder / name
        report.outputs_checked += 1
        if not path.is_file():
            report.add(seq, "outputs", f"{label}: {path} is missing")
        elif (have := sha256(path.read_bytes())) != want:
            source = CLOSING_FILE if name in final else MANIFEST_FILE
            report.add(seq, "outputs", f"{label}: {path} has sha256 {_h(have)}, {source} lists {_h(want)} "
                                       "(changed since the run)")


# ---- completing an interrupted command (called under the run lock) ----------------------------------

_STAGING = re.compile(r"^\.(\d{4}-\d{2})\.(\d+)\.[^/]+$")  # pipeline._staging_folder: .<month>.<pid>.<random>


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # pragma: no cover
        return True
    return True


def recover(settings: "Settings") -> list[str]:
    """Complete what a killed process left half done; returns what was done.

    - a run killed after its commit but before its outputs were moved into place: the staged folder whose
      manifest is the ledger's is moved into place (roll forward); staging folders of dead runs are removed;
    - a close killed before its commit: the draft bank file and report come back from the copies the close
      kept beside them, closing.json goes (the month is still a draft with two signatures);
    - the audit file is brought up to the ledger's last entry (a partial last line is dropped).
    """
    from cmsettle.pipeline import open_ledger

    notes: list[str] = []
    ledger = open_ledger(settings, read_only=True)
    if ledger is None:
        return notes
    try:
        runs = [r for r in ledger.runs() if r.status != "superseded"]
        latest = {r.month: r for r in runs}  # oldest first: the last one of each month wins
        notes += _recover_outputs(settings, latest)
        notes += _recover_close(settings, list(latest.values()))
        notes += after_commit(settings, ledger.engine)
    finally:
        ledger.dispose()
    return notes


def _recover_outputs(settings: "Settings", latest: dict) -> list[str]:
    from cmsettle.lifecycle import MANIFEST_FILE
    from cmsettle.outputs.tables import sha256
    from cmsettle.pipeline import swap_into_place

    out_dir = settings.out_dir
    if not out_dir.is_dir():
        return []
    notes = []
    by_name = {str(m): r for m, r in latest.items()}
    for p in sorted(out_dir.iterdir()):
        m = _STAGING.match(p.name)
        if not m or not p.is_dir() or _alive(int(m.group(2))):
            continue
        run = by_name.get(m.group(1))
        target = out_dir / m.group(1)
        staged = p / MANIFEST_FILE
        if (run is not None and staged.is_file() and sha256(staged.read_bytes()) == run.manifest_sha256
                and not ((target / MANIFEST_FILE).is_file()
                         and sha256((target / MANIFEST_FILE).read_bytes()) == run.manifest_sha256)):
            swap_into_place(p, target)
            notes.append(f"{m.group(1)}: the outputs of run {run.run_id}, committed by a process that was "
                         f"stopped before moving them, are now in {target}")
        else:
            shutil.rmtree(p, ignore_errors=True)
    for p in out_dir.glob(".*.old"):  # pipeline.swap_into_place's backup of a replaced folder
        if p.is_dir() and (out_dir / p.name[1:-4]).is_dir():
            shutil.rmtree(p, ignore_errors=True)
    return notes


def _recover_close(settings: "Settings", runs: list) -> list[str]:
    from cmsettle.lifecycle import BANK_FILE, CLOSING_FILE, REPORT_FILE, atomic_write, draft_copy, drop_drafts
    from cmsettle.lifecycle import manifest_run_id, output_folder

    notes = []
    for run in runs:
        folder = output_folder(run, settings)
        if folder is None or manifest_run_id(folder) != run.run_id:
            continue
        copies = {name: draft_copy(folder, name) for name in (BANK_FILE, REPORT_FILE)}
        if run.status != "draft":  # closed: the close committed; its copies are left-overs
            drop_drafts(folder)
            continue
        if not any(p.exists() for p in copies.values()):  # no close under way (the copies come first)
            continue
        for name, copy in copies.items():
            if copy.exists():
                atomic_write(folder / name, copy.read_bytes(), mode=0o600 if name == BANK_FILE else 0o644)
        (folder / CLOSING_FILE).unlink(missing_ok=True)
        drop_drafts(folder)
        notes.append(f"{run.month}: a close was stopped before its commit; its draft outputs are back")
    return notes
