"""Look at what people read: render the sample month's payslip and pay report to PNG (docs/images/).

    .venv/bin/python scripts/render_previews.py            # render (needs chromium, soffice, pdftoppm)
    .venv/bin/python scripts/render_previews.py --install  # first apt-get install them (Debian packages)

Steps, in a scratch folder: settle the sample month (a draft), then sign it three times (closed). A payslip
is printed by headless Chromium to PDF (its own @page A4 stylesheet) and each page made a PNG; the report
goes through LibreOffice (xlsx → PDF, sheet by sheet, as it would print) and pdftoppm (PDF → PNG). The
draft's pay sheet and sign-off sheet and the closed report's sign-off sheet are kept, so the pictures show
the DRAFT marks and the filled-in signatures.
"""

from __future__ import annotations

import argparse
import io
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from openpyxl import load_workbook  # noqa: E402

from cmsettle import DEFAULT_RULES_DIR  # noqa: E402
from cmsettle.months import Month  # noqa: E402
from cmsettle.outputs.report import REPORT_FILE, load_config  # noqa: E402

#: Debian packages: the browser, LibreOffice Calc without its GUI, CJK fonts, and pdftoppm.
PACKAGES = ("chromium", "libreoffice-calc-nogui", "fonts-noto-cjk", "poppler-utils")
BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
SIGNERS = (("chief_accountant", "wang.kuaiji"), ("deputy_manager", "li.fujingli"), ("branch_manager", "zhang.jingli"))


def install() -> None:
    """apt-get install the tools (as root, or through sudo)."""
    prefix = [] if os.geteuid() == 0 else ["sudo"]
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for cmd in (["apt-get", "update"], ["apt-get", "install", "-y", "--no-install-recommends", *PACKAGES]):
        print("$", " ".join(prefix + cmd), flush=True)
        subprocess.run(prefix + cmd, check=True, env=env)


def tool(*names: str) -> str:
    for name in names:
        found = shutil.which(name)
        if found:
            return found
    sys.exit(f"{names[0]} not found: install it (Debian: {' '.join(PACKAGES)}) or run with --install")


def run(cmd: list[str], **kw: object) -> None:
    done = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, **kw)  # type: ignore[call-overload]
    if done.returncode != 0:
        sys.exit(f"failed ({done.returncode}): {' '.join(cmd)}\n{done.stdout}")


def pdf_to_png(pdf: Path, target: Path, dpi: int, pages: tuple[int, int] | None = None) -> list[Path]:
    """One PNG per page: target-1.png, target-2.png, ... (or target.png for a single page)."""
    stem = target.with_suffix("")
    cmd = [tool("pdftoppm"), "-png", "-r", str(dpi)]
    if pages:
        cmd += ["-f", str(pages[0]), "-l", str(pages[1])]
    run([*cmd, str(pdf), str(stem)])
    made = sorted(stem.parent.glob(f"{stem.name}-*.png"))
    if len(made) == 1:
        made[0].replace(target)
        return [target]
    return made


def payslip_png(html: Path, target: Path, work: Path, dpi: int) -> list[Path]:
    """Print a payslip as Chromium would (A4, its @page rules) and make each page a PNG."""
    pdf = work / f"{html.stem}.pdf"
    run([tool(*BROWSERS), "--headless", "--no-sandbox", "--disable-gpu", "--no-pdf-header-footer",
         f"--print-to-pdf={pdf}", html.resolve().as_uri()])
    return pdf_to_png(pdf, target, dpi)


def sheet_png(report: Path, sheet: str, target: Path, work: Path, dpi: int, pages: int = 1) -> list[Path]:
    """One sheet of the workbook through LibreOffice to PDF, its first pages to PNG."""
    wb = load_workbook(report)
    for ws in list(wb.worksheets):
        if ws.title != sheet:
            wb.remove(ws)
    single = work / f"{target.stem}.xlsx"
    buf = io.BytesIO()
    wb.save(buf)
    single.write_bytes(buf.getvalue())
    run([tool("soffice", "libreoffice"), "--headless", "--convert-to", "pdf", "--outdir", str(work), str(single)],
        env={**os.environ, "HOME": str(work)})  # a private LibreOffice profile
    return pdf_to_png(single.with_suffix(".pdf"), target, dpi, (1, pages))


def settle_and_close(work: Path, month: Month) -> tuple[Path, Path]:
    """Settle the sample month (draft); keep the draft report; sign three times; the closed folder."""
    from cmsettle.lifecycle import create_key, sign_month
    from cmsettle.pipeline import Settings, settle_month

    settings = Settings(data_dir=ROOT / "sample_data", out_dir=work / "out", rules_dir=DEFAULT_RULES_DIR,
                        db_url=f"sqlite:///{work / 'ledger.db'}", keys_dir=work / "keys")
    outcome = settle_month(month, settings)
    assert outcome.out_dir is not None
    draft = work / "draft_report.xlsx"
    shutil.copyfile(outcome.out_dir / REPORT_FILE, draft)
    for role, name in SIGNERS:
        create_key(name, settings)
        sign_month(month, role, name, settings)
    return draft, outcome.out_dir


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--install", action="store_true", help=f"apt-get install {' '.join(PACKAGES)} first")
    ap.add_argument("--month", default="2024-03", help="sample month to settle (default 2024-03)")
    ap.add_argument("--manager", default="800002", help="whose payslip to show (default 800002, a station manager)")
    ap.add_argument("--out", type=Path, default=ROOT / "docs" / "images", help="where the PNGs go")
    ap.add_argument("--dpi", type=int, default=80)
    args = ap.parse_args()
    if args.install:
        install()
    cfg = load_config()
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="cmsettle-previews-") as tmp:
        work = Path(tmp)
        draft, folder = settle_and_close(work, Month.parse(args.month))
        made = payslip_png(folder / "payslips" / f"{args.manager}.html", args.out / "payslip.png", work, args.dpi)
        made += sheet_png(draft, cfg.label("sheets", "report"), args.out / "report-pay.png", work, args.dpi, 2)
        made += sheet_png(draft, cfg.label("sheets", "signoff"), args.out / "report-signoff-draft.png", work,
                          args.dpi)
        made += sheet_png(folder / REPORT_FILE, cfg.label("sheets", "signoff"), args.out / "report-signoff-closed.png",
                          work, args.dpi)
        made += sheet_png(draft, cfg.label("sheets", "flags"), args.out / "report-flags.png", work, args.dpi)
    for p in made:
        print(p.relative_to(ROOT) if p.is_relative_to(ROOT) else p)


if __name__ == "__main__":
    main()
