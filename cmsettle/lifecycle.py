"""The month's life after a run (RULEBOOK O1-O4): signer keys, sign-off in order, close, reopen, status.

    draft ─ chief_accountant ─▶ signed 1 of 3 ─ deputy_manager ─▶ signed 2 of 3 ─ branch_manager ─▶ closed
    closed ─ reopen --reason ─▶ reopened ─ settle month ─▶ draft of revision n+1 ─ … ─▶ closed

A signature is Ed25519 over a short statement naming the month, revision, run, role, signer and the sha256
of manifest.json (``signed_statement``). The manifest lists every output's sha256, so one signature covers
every output; a signature is refused when manifest.json or any output listed in it changed since the run.
The third signature closes the month: bank_transfer.csv is rewritten without its DRAFT line and
closing.json, next to the manifest, records the final bank file's sha256 (the draft's stays in the
manifest, which the signatures cover; the final file is the draft without its first line). pay_report.xlsx
is rewritten in the same way, its sign-off sheet filled in and its DRAFT marks replaced
(cmsettle.outputs.report.close_report), and its final sha256 recorded beside the bank file's.

Keys live in the key store folder (``--keys``, mode 0700): ``NAME.key`` (PKCS#8 PEM, mode 0600, never
printed) and ``NAME.pub``; the public key is registered in the ledger (table signer_key) when created.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import shutil
import stat
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from sqlalchemy.exc import IntegrityError

from cmsettle import audit
from cmsettle.errors import NotReadyError, RefusedError
from cmsettle.ledger.db import Ledger, RunInfo, SignatureInfo, SignerKey
from cmsettle.months import Month
from cmsettle.outputs import tables as out
from cmsettle.outputs.report import REPORT_FILE, SignOff, close_report
from cmsettle.pipeline import Settings, crash_point, open_ledger, run_lock, sqlite_path

ROLES = ("chief_accountant", "deputy_manager", "branch_manager")  # RULEBOOK O1, in signing order
ORDER = " → ".join(ROLES)
BANK_FILE = "bank_transfer.csv"
MANIFEST_FILE = "manifest.json"
CLOSING_FILE = "closing.json"
_NAME = re.compile(r"^\w[\w.\-]{0,99}$")  # a signer name is also a file name in the key store


# ---- keys -------------------------------------------------------------------------------------------

def check_signer_name(name: str) -> str:
    """A signer name: letters (any script), digits, `_`, `.`, `-`; it names the key files. ValueError else."""
    if not _NAME.match(name):
        raise ValueError(f"{name!r} is not a usable signer name: letters, digits, '_', '.', '-' "
                         "(up to 100, not starting with '.' or '-')")
    return name


def fingerprint(public: Ed25519PublicKey) -> str:
    """sha256 of the raw 32-byte public key, hex."""
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()


def short(fp: str) -> str:
    return f"SHA256:{fp[:16]}"


def public_pem(public: Ed25519PublicKey) -> str:
    return public.public_bytes(serialization.Encoding.PEM,
                               serialization.PublicFormat.SubjectPublicKeyInfo).decode("ascii")


def load_public(pem: str) -> Ed25519PublicKey:
    key = serialization.load_pem_public_key(pem.encode("ascii"))
    if not isinstance(key, Ed25519PublicKey):
        raise ValueError("not an Ed25519 public key")
    return key


def key_paths(keys_dir: Path, name: str) -> tuple[Path, Path]:
    return keys_dir / f"{name}.key", keys_dir / f"{name}.pub"


@dataclass(frozen=True)
class KeyOutcome:
    name: str
    fingerprint: str
    private_key: Path
    public_key: Path
    created: bool  # False: an existing key pair in the key store was registered


def create_key(name: str, settings: Settings) -> KeyOutcome:
    """Make NAME's Ed25519 key pair in the key store and register the public key in the ledger.

    A name already registered is refused (keys are not replaced). A key pair already in the key store but
    not in this ledger (e.g. a second ledger) is registered as it is.
    """
    check_signer_name(name)
    keys_dir = settings.keys_dir
    priv_path, pub_path = key_paths(keys_dir, name)
    ledger = _open(settings, create=True)
    try:
        known = ledger.signer_key(name)
        if known is not None:
            raise RefusedError(f"signer {name} already has a key in the ledger ({short(known.fingerprint)}, "
                               f"created {_iso(known.created_at)}); keys are not replaced")
        _private_dir(keys_dir)
        if priv_path.exists():
            private = _load_private(priv_path, name)
            created = False
        elif pub_path.exists():
            raise RefusedError(f"{pub_path} exists without its private key {priv_path.name}; "
                               "move it away to create a new key pair")
        else:
            private = Ed25519PrivateKey.generate()
            _write_new(priv_path, private.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()), 0o600)
            created = True
        public = private.public_key()
        pem = public_pem(public)
        if pub_path.exists():
            if pub_path.read_text(encoding="ascii").strip() != pem.strip():
                raise RefusedError(f"{pub_path} does not belong to the private key {priv_path.name}")
        else:
            _write_new(pub_path, pem.encode("ascii"), 0o644)
        fp = fingerprint(public)
        now = _now()
        try:
            with ledger.engine.begin() as conn:
                ledger.add_signer_key(SignerKey(name, pem, fp, now), conn=conn)
                audit.append(conn, "keys_create", month=None, actor=settings.actor, at=now,
                             data={"name": name, "fingerprint": fp, "public_key": pem, "created": created})
        except IntegrityError:
            raise RefusedError(f"signer {name} was registered at the same moment by another session") from None
        audit.after_commit(settings, ledger.engine)
        return KeyOutcome(name, fp, priv_path, pub_path, created)
    finally:
        ledger.dispose()


def _private_dir(path: Path) -> None:
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    if stat.S_IMODE(path.stat().st_mode) != 0o700:
        os.chmod(path, 0o700)


def _write_new(path: Path, data: bytes, mode: int) -> None:
    """Write a file that must not exist yet, with ``mode`` from the first byte (never readable by others
    even for an instant), completely or not at all."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, mode)
        os.link(tmp, path)  # fails if the file appeared meanwhile: never overwrite a key
    finally:
        tmp.unlink(missing_ok=True)


def _load_private(path: Path, name: str) -> Ed25519PrivateKey:
    if not path.exists():
        raise RefusedError(f"no private key for signer {name} in the key store: {path} not found "
                           "(use --keys DIR or CMSETTLE_KEYS)")
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        raise RefusedError(f"private key {path} is readable by others (mode {mode:04o}); "
                           f"make it private with: chmod 600 {path}")
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except (ValueError, TypeError) as exc:
        raise RefusedError(f"{path} is not a usable private key: {exc}") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise RefusedError(f"{path} is not an Ed25519 private key")
    return key


# ---- sign-off ---------------------------------------------------------------------------------------

def signed_statement(month: Month | str, revision: int, run_id: str, role: str, signer: str,
                     manifest_sha256: str) -> bytes:
    """The exact bytes a signer signs: the outputs' manifest hash bound to month, revision, role and person."""
    return (f"cmsettle sign-off v1\nmonth={month}\nrevision={revision}\nrun_id={run_id}\nrole={role}\n"
            f"signer={signer}\nmanifest_sha256={manifest_sha256}\n").encode("utf-8")


def verify_signature(run: RunInfo, sig: SignatureInfo) -> str | None:
    """None when ``sig`` is a valid signature of ``run``'s outputs, else what is wrong (for audit verify)."""
    if sig.manifest_sha256 != run.manifest_sha256:
        return f"{run.month} r{run.revision} {sig.role}: signed manifest {sig.manifest_sha256[:12]} is not the run's"
    try:
        public = load_public(sig.public_key)
    except ValueError as exc:
        return f"{run.month} r{run.revision} {sig.role}: bad public key: {exc}"
    if fingerprint(public) != sig.fingerprint:
        return f"{run.month} r{run.revision} {sig.role}: fingerprint does not match the public key"
    try:
        public.verify(base64.b64decode(sig.signature), signed_statement(
            run.month, run.revision, run.run_id, sig.role, sig.signer, sig.manifest_sha256))
    except (InvalidSignature, ValueError):
        return f"{run.month} r{run.revision} {sig.role}: signature by {sig.signer} does not verify"
    return None


@dataclass(frozen=True)
class SignOutcome:
    month: Month
    revision: int
    role: str
    signer: str
    fingerprint: str
    signed_at: datetime
    manifest_sha256: str
    count: int  # signatures of this revision now, 1..3
    closed: bool
    next_role: str | None
    out_dir: Path
    bank_sha256: str | None = None  # the final bank file, when this signature closed the month
    pay_day: str = ""


def sign_month(month: Month, role: str, signer: str, settings: Settings) -> SignOutcome:
    """Sign the month's draft as ``role`` (O1): in order, one person one role, over unchanged outputs.

    The third signature closes the month in the same transaction: status closed, bank file final.
    """
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}: expected one of {', '.join(ROLES)}")
    check_signer_name(signer)
    with run_lock(settings):
        ledger = _open(settings, create=False, month=month)
        try:
            key = ledger.signer_key(signer)
            if key is None:
                raise RefusedError(f"signer {signer} has no key registered in the ledger: "
                                   f"create one first with `settle keys create {signer}`")
            private = _load_private(key_paths(settings.keys_dir, signer)[0], signer)
            fp = fingerprint(private.public_key())
            if fp != key.fingerprint:
                raise RefusedError(f"the key file of {signer} ({short(fp)}) does not match the public key "
                                   f"registered in the ledger ({short(key.fingerprint)}); nothing was signed")
            return _sign(ledger, month, role, signer, private, key, settings)
        finally:
            ledger.dispose()


def _sign(ledger: Ledger, month: Month, role: str, signer: str, private: Ed25519PrivateKey, key: SignerKey,
          settings: Settings) -> SignOutcome:
    now = _now()
    undo = None
    try:
        with ledger.engine.begin() as conn:
            run = _current(ledger.runs_for_update(conn, month), month)
            where = f"{month} revision {run.revision}"
            if run.status == "closed":
                raise RefusedError(f"{where} is already closed (at {_iso(run.closed_at)}); nothing to sign")
            if run.status != "draft":
                raise RefusedError(f"{where} is {run.status}: settle it again (`settle month {month}`) "
                                   f"to make revision {run.revision + 1}, then sign that")
            sigs = ledger.signatures(run.id, conn)
            done = {s.role: s for s in sigs}
            if role in done:
                s = done[role]
                raise RefusedError(f"{where} is already signed as {role} by {s.signer} at {_iso(s.signed_at)}")
            wanted = ROLES[len(sigs)]
            if role != wanted:
                raise RefusedError(f"wrong sign-off order: {where} needs the {wanted} signature next, not "
                                   f"{role} (order {ORDER}, RULEBOOK O1)")
            for s in sigs:
                if s.signer == signer:
                    raise RefusedError(f"{signer} already signed {where} as {s.role}; one person signs one "
                                       "role (RULEBOOK O1)")
            folder, manifest = verify_outputs(run, settings)
            statement = signed_statement(month, run.revision, run.run_id, role, signer, run.manifest_sha256 or "")
            sig = SignatureInfo(
                run_id=run.id, role=role, signer=signer, signed_at=now, manifest_sha256=run.manifest_sha256 or "",
                signature=base64.b64encode(private.sign(statement)).decode("ascii"), public_key=key.public_key,
                fingerprint=key.fingerprint,
            )
            ledger.add_signature(conn, sig)
            audit.append(conn, "sign", month=month, actor=settings.actor, at=now, data={
                "run_id": run.run_id, "revision": run.revision, "role": role, "signer": signer,
                "fingerprint": key.fingerprint, "public_key": key.public_key,
                "manifest_sha256": sig.manifest_sha256, "signature": sig.signature})
            closing = len(sigs) + 1 == len(ROLES)
            bank_sha = None
            if closing:
                ledger.set_status(run.id, "closed", closed_at=now, conn=conn)
                bank_sha, undo = _finalise(folder, run, [*sigs, sig], now)  # the last step before commit
                audit.append(conn, "close", month=month, actor=settings.actor, at=now, data={
                    "run_id": run.run_id, "revision": run.revision, "closed_at": _iso(now),
                    "closing_sha256": out.sha256((folder / CLOSING_FILE).read_bytes()),
                    "outputs": json.loads((folder / CLOSING_FILE).read_bytes()).get("outputs", {})})
                crash_point("close")
    except BaseException as exc:
        if undo is not None:  # the transaction did not commit: the bank file goes back to its draft
            undo()
        if isinstance(exc, IntegrityError):
            raise RefusedError(f"{month}: another {role} signature was stored at the same moment; "
                               "see `settle status`") from None
        raise
    if closing:
        drop_drafts(folder)  # committed: the draft copies kept for a crash are not needed any more
    audit.after_commit(settings, ledger.engine)
    return SignOutcome(
        month=month, revision=run.revision, role=role, signer=signer, fingerprint=key.fingerprint, signed_at=now,
        manifest_sha256=sig.manifest_sha256, count=len(sigs) + 1, closed=closing,
        next_role=None if closing else ROLES[len(sigs) + 1], out_dir=folder, bank_sha256=bank_sha,
        pay_day=str(manifest.get("pay_day", "")),
    )


def _current(runs: list[RunInfo], month: Month) -> RunInfo:
    live = [r for r in runs if r.status != "superseded"]
    if not live:
        raise NotReadyError(f"{month} is not in the ledger: settle it first (`settle month {month}`)")
    return live[-1]


def output_folder(run: RunInfo, settings: Settings) -> Path | None:
    """Where the run's outputs are: ``<out>/<month>`` or the folder recorded in the ledger, the one whose
    manifest names this run first; else the first with a manifest (verify_outputs says what is wrong)."""
    candidates = [settings.out_dir / str(run.month)]
    if run.output_dir:
        candidates.append(Path(run.output_dir))
    found = [c for c in candidates if (c / MANIFEST_FILE).is_file()]
    for c in found:
        if manifest_run_id(c) == run.run_id:
            return c
    return found[0] if found else None


def manifest_run_id(folder: Path) -> str | None:
    try:
        return json.loads((folder / MANIFEST_FILE).read_bytes()).get("run_id")
    except (OSError, ValueError, AttributeError):
        return None


def verify_outputs(run: RunInfo, settings: Settings) -> tuple[Path, dict]:
    """The run's output folder and manifest, after checking manifest.json against the ledger and every
    output against the manifest; RefusedError naming each change otherwise."""
    where = f"{run.month} revision {run.revision}"
    folder = output_folder(run, settings)
    if folder is None:
        looked = [str(settings.out_dir / str(run.month))] + ([run.output_dir] if run.output_dir else [])
        raise RefusedError(f"the outputs of {where} are not there: no {MANIFEST_FILE} in "
                           f"{' or '.join(dict.fromkeys(looked))} (give the output folder with --out)")
    raw = (folder / MANIFEST_FILE).read_bytes()
    got = out.sha256(raw)
    if run.manifest_sha256 and got != run.manifest_sha256:
        raise RefusedError(f"the outputs of {where} changed since the run: {folder / MANIFEST_FILE} has sha256 "
                           f"{got[:16]}…, the ledger recorded {run.manifest_sha256[:16]}…; nothing was signed. "
                           f"Settle the month again (`settle month {run.month}`) and sign the new draft")
    manifest = json.loads(raw)
    if manifest.get("run_id") != run.run_id:
        raise RefusedError(f"{folder / MANIFEST_FILE} belongs to run {manifest.get('run_id')}, not to {where} "
                           f"(run {run.run_id}); nothing was signed")
    changed = []
    for name, want in sorted(manifest.get("outputs", {}).items()):
        path = folder / name
        if not path.is_file():
            changed.append(f"{name} is missing")
        elif (have := out.sha256(path.read_bytes())) != want:
            changed.append(f"{name} has sha256 {have[:16]}…, the manifest lists {want[:16]}…")
    if changed:
        raise RefusedError(f"the outputs of {where} in {folder} changed since the run: {'; '.join(changed)}; "
                           f"nothing was signed. Settle the month again (`settle month {run.month}`) "
                           "and sign the new draft")
    return folder, manifest


def final_bank(draft: bytes) -> bytes:
    """The final bank file: the draft without its DRAFT line (outputs.tables.bank_csv)."""
    mark = (out.DRAFT_MARK + "\n").encode("utf-8")
    if not draft.startswith(mark):
        raise RefusedError(f"{BANK_FILE} has no DRAFT line to remove: it is not a draft bank file")
    return draft[len(mark):]


def _finalise(folder: Path, run: RunInfo, sigs: list[SignatureInfo], closed_at: datetime):  # noqa: ANN202
    """Write closing.json, the final bank file and the signed report (each atomically); return the bank
    file's sha256 and an undo."""
    bank = folder / BANK_FILE
    draft = bank.read_bytes()
    final = final_bank(draft)
    report = folder / REPORT_FILE
    report_draft = report.read_bytes() if report.is_file() else None  # none: a run from before the report
    finals, drafts = {BANK_FILE: out.sha256(final)}, {BANK_FILE: out.sha256(draft)}
    if report_draft is not None:
        report_final = close_report(report_draft, json.loads((folder / MANIFEST_FILE).read_bytes()),
                                    [SignOff(s.role, s.signer, s.signed_at, s.fingerprint) for s in sigs],
                                    closed_at, run.manifest_sha256 or "")
        finals[REPORT_FILE], drafts[REPORT_FILE] = out.sha256(report_final), out.sha256(report_draft)
    closing = out.canonical_json({
        "month": str(run.month), "revision": run.revision, "run_id": run.run_id, "status": "closed",
        "closed_at": _iso(closed_at), "manifest_sha256": run.manifest_sha256,
        "outputs": finals, "draft_outputs": drafts,
        "signatures": [{"role": s.role, "signer": s.signer, "signed_at": _iso(s.signed_at),
                        "fingerprint": s.fingerprint, "signature": s.signature} for s in sigs],
    })
    closing_path = folder / CLOSING_FILE

    def undo() -> None:
        atomic_write(bank, draft, mode=0o600)
        if report_draft is not None:
            atomic_write(report, report_draft)
        closing_path.unlink(missing_ok=True)
        drop_drafts(folder)

    try:
        # the drafts stay beside until the commit: a close killed before it is undone from them (audit.recover)
        atomic_write(draft_copy(folder, BANK_FILE), draft, mode=0o600)
        if report_draft is not None:
            atomic_write(draft_copy(folder, REPORT_FILE), report_draft)
        atomic_write(closing_path, closing)
        atomic_write(bank, final, mode=0o600)
        if report_draft is not None:
            atomic_write(report, report_final)
    except BaseException:
        undo()
        raise
    return out.sha256(final), undo


def draft_copy(folder: Path, name: str) -> Path:
    """Where a close keeps an output's draft until its commit."""
    return folder / f".{name}.draft"


def drop_drafts(folder: Path) -> None:
    for name in (BANK_FILE, REPORT_FILE):
        draft_copy(folder, name).unlink(missing_ok=True)


def atomic_write(path: Path, data: bytes, mode: int = 0o644) -> None:
    """Replace ``path`` by ``data`` with a temporary file and a rename: readers see the old or the new file.
    ``mode`` from the first byte (0o600 for the bank file: its owner only)."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.unlink(missing_ok=True)
    try:
        with os.fdopen(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode), "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


# ---- reopen -----------------------------------------------------------------------------------------

@dataclass(frozen=True)
class ReopenOutcome:
    month: Month
    revision: int  # the revision reopened; the next run of the month is revision + 1
    reason: str
    kept_at: Path | None  # where the reopened revision's outputs were moved
    discarded: tuple[str, ...] = ()  # later drafts thrown away (their basis changed)


def reopen_month(month: Month, reason: str, settings: Settings) -> ReopenOutcome:
    """O2: reopen the latest closed month with a reason. The closed revision stays in the ledger (state
    reopened) and its outputs move to ``<out>/<month>.r<n>``; the next `settle month` makes revision n+1.
    A later month's draft, computed from the revision being reopened, is discarded."""
    reason = reason.strip()
    if not reason:
        raise ValueError("a reason is required to reopen a month")
    with run_lock(settings):
        ledger = _open(settings, create=False, month=month, missing=RefusedError)
        moved: tuple[Path, Path] | None = None
        try:
            with ledger.engine.begin() as conn:
                try:
                    run = _current(ledger.runs_for_update(conn, month), month)
                except NotReadyError as exc:
                    raise RefusedError(str(exc)) from None
                if run.status != "closed":
                    raise RefusedError(f"{month} revision {run.revision} is {_state(run, None)}, not closed: "
                                       "only a closed month can be reopened (RULEBOOK O2)")
                later = {}
                for r in ledger.runs():
                    if r.month > month and r.status != "superseded":
                        later[r.month] = r
                blocking = [r for r in later.values() if r.status != "draft"]
                if blocking:
                    b = blocking[-1]
                    raise RefusedError(f"only the latest closed month can be reopened (RULEBOOK O2): {b.month} "
                                       f"is {b.status}; reopen {b.month} instead")
                discarded = []
                all_sigs = ledger.signatures(conn=conn)
                for r in sorted(later.values(), key=lambda r: r.month):
                    n = sum(1 for s in all_sigs if s.run_id == r.id)
                    ledger.discard_draft(conn, r.id)
                    discarded.append(f"{r.month} revision {r.revision} (draft"
                                     f"{f', {n} signature(s)' if n else ''})")
                folder = output_folder(run, settings)
                if folder is not None and manifest_run_id(folder) != run.run_id:
                    folder = None  # not this run's outputs: leave them where they are
                kept = None
                if folder is not None:
                    kept = folder.with_name(f"{folder.name}.r{run.revision}")
                    if kept.exists():
                        raise RefusedError(f"{kept} exists already; move it away to reopen {month}")
                ledger.mark_reopened(conn, run.id, reason, str(kept) if kept else run.output_dir)
                audit.append(conn, "reopen", month=month, actor=settings.actor, at=_now(), data={
                    "run_id": run.run_id, "revision": run.revision, "reason": reason,
                    "kept_at": str(kept) if kept else None,
                    "discarded": [{"month": str(r.month), "revision": r.revision, "run_id": r.run_id}
                                  for r in sorted(later.values(), key=lambda r: r.month)]})
                if folder is not None and kept is not None:
                    folder.rename(kept)  # the last step before commit
                    moved = (kept, folder)
            audit.after_commit(settings, ledger.engine)
        except BaseException:
            if moved is not None:
                moved[0].rename(moved[1])
            raise
        finally:
            ledger.dispose()
    for r in later.values():  # the discarded drafts' outputs: DRAFT-marked, of runs no longer in the ledger
        _remove_draft_outputs(settings.out_dir / str(r.month), r.run_id)
    return ReopenOutcome(month, run.revision, reason, kept, tuple(discarded))


def _remove_draft_outputs(folder: Path, run_id: str) -> None:
    if manifest_run_id(folder) == run_id and not (folder / CLOSING_FILE).exists():
        shutil.rmtree(folder, ignore_errors=True)


# ---- status -----------------------------------------------------------------------------------------

@dataclass(frozen=True)
class RunStatus:
    run: RunInfo
    state: str  # draft, signed k of 3, closed, reopened
    signatures: tuple[SignatureInfo, ...]
    pay_day: str
    next_role: str | None
    notes: tuple[str, ...] = field(default_factory=tuple)

    def as_dict(self) -> dict:
        r = self.run
        return {
            "month": str(r.month), "revision": r.revision, "state": self.state, "status": r.status, "mode": r.mode,
            "run_id": r.run_id, "rule_set": r.rule_set_id, "rule_set_sha256": r.rule_set_sha256,
            "manifest_sha256": r.manifest_sha256, "created_at": _iso(r.created_at), "closed_at": _iso(r.closed_at),
            "reopen_reason": r.reopen_reason, "output_dir": r.output_dir, "pay_day": self.pay_day,
            "next_role": self.next_role,
            "signatures": [{"role": s.role, "signer": s.signer, "signed_at": _iso(s.signed_at),
                            "fingerprint": s.fingerprint} for s in self.signatures],
        }


def month_status(settings: Settings, month: Month | None = None) -> list[RunStatus]:
    """Every run in the ledger (or one month's), oldest first, with state, signers and pay day (O4)."""
    ledger = open_ledger(settings, read_only=True)
    if ledger is None:
        return []
    try:
        if ledger.schema_revision() is None:  # an empty database: nothing settled yet
            return []
        runs = ledger.runs(month)
        sigs = ledger.signatures()
    finally:
        ledger.dispose()
    by_run: dict[int, list[SignatureInfo]] = {}
    for s in sigs:
        by_run.setdefault(s.run_id, []).append(s)
    days: dict[Month, str] = {}
    result = []
    for r in runs:
        mine = tuple(by_run.get(r.id, ()))
        if r.month not in days:
            days[r.month] = _pay_day(r, settings)
        nxt = ROLES[len(mine)] if r.status == "draft" and len(mine) < len(ROLES) else None
        result.append(RunStatus(r, _state(r, len(mine)), mine, days[r.month], nxt))
    return result


def _state(run: RunInfo, n_signatures: int | None) -> str:
    if run.status == "draft" and n_signatures:
        return f"signed {n_signatures} of {len(ROLES)}"
    return run.status


def _pay_day(run: RunInfo, settings: Settings) -> str:
    """O4 with the rule set in force for the month; the run's manifest when the rules cannot be read."""
    from cmsettle.pipeline import pay_day
    from cmsettle.ruleset.loader import resolve
    from cmsettle.workdays import WorkCalendar

    try:
        rules = resolve(settings.rules_dir, run.month)
        return pay_day(run.month, rules, WorkCalendar(dict(rules.rules.calendar)))
    except Exception:  # noqa: BLE001  status must show what it can
        folder = output_folder(run, settings)
        try:
            return str(json.loads((folder / MANIFEST_FILE).read_bytes()).get("pay_day", "")) if folder else ""
        except (OSError, ValueError):
            return ""


# ---- helpers ----------------------------------------------------------------------------------------

def _open(settings: Settings, *, create: bool, month: Month | None = None,
          missing: type[Exception] = NotReadyError) -> Ledger:
    """The ledger, migrated; a SQLite file is created only when ``create`` (keys), never by sign or reopen."""
    db_file = sqlite_path(settings.db_url)
    if not create and db_file is not None and not db_file.exists():
        raise missing(f"{month if month else 'the month'} is not in the ledger: there is no ledger at {db_file} "
                      "yet (settle a month first, or give --db)")
    ledger = open_ledger(settings, read_only=False)
    assert ledger is not None
    return ledger


def _now() -> datetime:
    return datetime.now(timezone.utc).replace(microsecond=0)


def _iso(dt: datetime | None) -> str | None:
    return dt.isoformat() if dt is not None else None
