"""The month life-cycle commands (CLI.md): `sign`, `keys create`, `reopen`, `status`.

Thin adapters over cmsettle.lifecycle, mounted on the `settle` app by ``register(app)`` (cli.py calls it).
This module does not import cmsettle.cli at import time, so either may be imported first; the helpers of
cli.py (``run``, ``settings``, the consoles) are looked up when a command runs.
"""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import datetime
from enum import Enum
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich import box

from cmsettle.months import Month


class Role(str, Enum):
    chief_accountant = "chief_accountant"
    deputy_manager = "deputy_manager"
    branch_manager = "branch_manager"


MonthArg = Annotated[str, typer.Argument(help="the month, YYYY-MM", show_default=False)]
OutOpt = Annotated[Optional[str], typer.Option("--out", help="output folder [CMSETTLE_OUT, ./out]")]
RulesOpt = Annotated[Optional[str], typer.Option("--rules", help="rule-set folder [CMSETTLE_RULES, packaged rules/]")]
DbOpt = Annotated[Optional[str], typer.Option("--db", help="ledger URL [CMSETTLE_DB, sqlite:///./cmsettle.db]")]
KeysOpt = Annotated[Optional[str], typer.Option("--keys", help="key store folder [CMSETTLE_KEYS, ./keys]")]
JsonOpt = Annotated[bool, typer.Option("--json", help="machine-readable result on stdout")]

keys_app = typer.Typer(help="Signer keys (Ed25519) in the key store.", no_args_is_help=True)


def _settings(out: Optional[str] = None, rules: Optional[str] = None, db: Optional[str] = None,
              keys: Optional[str] = None):  # noqa: ANN202
    from cmsettle.cli import _setting, settings

    return replace(settings(None, out, rules, db), keys_dir=Path(_setting(keys, "CMSETTLE_KEYS", "keys", "./keys")))


def _month(text: str) -> Month:
    try:
        return Month.parse(text)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None


def _signer(name: str) -> str:
    from cmsettle.lifecycle import check_signer_name

    try:
        return check_signer_name(name)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None


def _when(dt: datetime | None) -> str:
    return dt.strftime("%Y-%m-%d %H:%M:%S") if dt else ""


def _print_json(obj: object) -> None:
    print(json.dumps(obj, ensure_ascii=False, indent=2))


@keys_app.command("create")
def keys_create(
    name: Annotated[str, typer.Argument(help="the signer's name, as given to `settle sign --signer`")],
    keys: KeysOpt = None, db: DbOpt = None, as_json: JsonOpt = False,
) -> None:
    """Create the signer's Ed25519 key pair in the key store and register the public key in the ledger."""
    from cmsettle.cli import console, run
    from cmsettle.lifecycle import create_key, short

    s, signer = _settings(db=db, keys=keys), _signer(name)
    k = run(lambda: create_key(signer, s))
    if as_json:
        _print_json({"name": k.name, "fingerprint": k.fingerprint, "private_key": str(k.private_key),
                     "public_key": str(k.public_key), "created": k.created})
        return
    what = "created" if k.created else "registered the existing key pair"
    console.print(f"{k.name}: {what}, {short(k.fingerprint)}", highlight=False)
    console.print(f"  private key {k.private_key} (mode 600: keep it to yourself)", highlight=False)
    console.print(f"  public key  {k.public_key} (registered in the ledger)", highlight=False)


def sign(
    month: MonthArg,
    role: Annotated[Role, typer.Option("--role", help="chief_accountant, then deputy_manager, then branch_manager",
                                       show_default=False)],
    signer: Annotated[str, typer.Option("--signer", help="the signer's name (a key made by `settle keys create`)",
                                        show_default=False)],
    out: OutOpt = None, db: DbOpt = None, keys: KeysOpt = None, as_json: JsonOpt = False,
) -> None:
    """Sign the month's outputs as ROLE; the third signature closes the month and makes the bank file final."""
    from cmsettle.cli import console, run
    from cmsettle.lifecycle import ROLES, short, sign_month

    m, name = _month(month), _signer(signer)
    o = run(lambda: sign_month(m, role.value, name, _settings(out=out, db=db, keys=keys)))
    if as_json:
        _print_json({"month": str(o.month), "revision": o.revision, "role": o.role, "signer": o.signer,
                     "fingerprint": o.fingerprint, "signed_at": o.signed_at.isoformat(),
                     "manifest_sha256": o.manifest_sha256, "signatures": o.count, "closed": o.closed,
                     "next_role": o.next_role, "out_dir": str(o.out_dir), "bank_sha256": o.bank_sha256,
                     "pay_day": o.pay_day})
        return
    console.print(f"{o.month} revision {o.revision}: signed as {o.role} by {o.signer} ({short(o.fingerprint)}), "
                  f"signature {o.count} of {len(ROLES)} over manifest {o.manifest_sha256[:16]}…", highlight=False)
    if o.closed:
        console.print(f"[bold]{o.month} is closed.[/] {o.out_dir / 'bank_transfer.csv'} is final "
                      f"(sha256 {o.bank_sha256}), pay day {o.pay_day}", highlight=False)
    else:
        console.print(f"next: {o.next_role}", highlight=False)


def reopen(
    month: MonthArg,
    reason: Annotated[str, typer.Option("--reason", help="why the closed month must be recomputed (kept in the ledger)",
                                        show_default=False)],
    out: OutOpt = None, db: DbOpt = None, as_json: JsonOpt = False,
) -> None:
    """Reopen the latest closed month as a new revision; the closed one stays in the ledger (RULEBOOK O2)."""
    from cmsettle.cli import console, run
    from cmsettle.lifecycle import reopen_month

    m = _month(month)
    if not reason.strip():
        raise typer.BadParameter("a reason is required", param_hint="--reason")
    o = run(lambda: reopen_month(m, reason, _settings(out=out, db=db)))
    if as_json:
        _print_json({"month": str(o.month), "reopened_revision": o.revision, "next_revision": o.revision + 1,
                     "reason": o.reason, "kept_at": str(o.kept_at) if o.kept_at else None,
                     "discarded": list(o.discarded)})
        return
    console.print(f"{o.month} revision {o.revision} reopened: {o.reason}", highlight=False)
    if o.kept_at:
        console.print(f"  its outputs are kept in {o.kept_at}", highlight=False)
    for d in o.discarded:
        console.print(f"  discarded the draft {d}: its starting state changed; settle it again after {o.month}",
                      highlight=False)
    console.print(f"next: `settle month {o.month}` makes revision {o.revision + 1} as a draft, to be signed again; "
                  f"once it is closed the differences in net pay are settled in {o.month.next} (retro_adjustment)",
                  highlight=False)


def status(
    month: Annotated[Optional[str], typer.Argument(help="YYYY-MM (default: every month)")] = None,
    out: OutOpt = None, rules: RulesOpt = None, db: DbOpt = None, as_json: JsonOpt = False,
) -> None:
    """Months in the ledger: revision, state, signers, pay day, hashes; for one month each signature's time and key."""
    from rich.table import Table

    from cmsettle.cli import console, run
    from cmsettle.lifecycle import month_status, short

    m = _month(month) if month else None
    rows = run(lambda: month_status(_settings(out=out, rules=rules, db=db), m))
    if as_json:
        _print_json([r.as_dict() for r in rows])
        return
    if not rows:
        console.print(f"no run of {m} in the ledger" if m else "the ledger is empty")
        return
    t = Table(title="ledger", box=box.SIMPLE_HEAD)
    for c in ("month", "rev", "state", "signed by", "pay day", "closed at (UTC)", "manifest"):
        t.add_column(c, no_wrap=c not in ("signed by", "closed at (UTC)"))
    for r in rows:
        signed = "\n".join(s.signer for s in r.signatures) or "-"
        if r.next_role:
            signed += f"\n[dim]next: {r.next_role}[/]"
        t.add_row(str(r.run.month), str(r.run.revision), r.state, signed, r.pay_day,
                  _when(r.run.closed_at)[:16], (r.run.manifest_sha256 or "")[:12])
    console.print(t)
    if m is None:
        console.print(f"`settle status YYYY-MM` shows each signature with its time and key", style="dim")
        return
    sigs = Table(title=f"{m} signatures", box=box.SIMPLE_HEAD)
    for c in ("rev", "role", "signer", "signed at (UTC)", "key"):
        sigs.add_column(c, no_wrap=c != "signed at (UTC)")
    for r in rows:
        for s in r.signatures:
            sigs.add_row(str(r.run.revision), s.role, s.signer, _when(s.signed_at), short(s.fingerprint))
    if sigs.row_count:
        console.print(sigs)
    for r in rows:
        x = r.run
        console.print(f"revision {x.revision}: run {x.run_id}, rule set {x.rule_set_id} ({x.rule_set_sha256[:12]}), "
                      f"created {_when(x.created_at)} UTC, manifest sha256 {x.manifest_sha256}, outputs "
                      f"{x.output_dir}", highlight=False)
        if x.reopen_reason:
            label = "reopened because" if x.status == "reopened" else "made because"
            console.print(f"  {label}: {x.reopen_reason}", highlight=False)


def register(app: typer.Typer) -> None:
    """Mount the life-cycle commands on the `settle` app."""
    app.command()(sign)
    app.command()(reopen)
    app.command()(status)
    app.add_typer(keys_app, name="keys")
