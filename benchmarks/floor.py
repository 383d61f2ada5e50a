"""The floor of `make bench`: the least a settlement of the month folder has to do.

Reads trades, assets and clients with pyarrow's multithreaded CSV reader (every column, types inferred, ids
kept as text) and computes per manager the sum of turnover x commission_rate, of avg_assets and of
end_assets with hash group-bys. No validation, no exactness (floats), no outputs: a lower bound that a
settlement run is compared against, not a settlement.

    python benchmarks/floor.py DATA_DIR/YYYY-MM
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pv

try:  # the allocator cmsettle uses too (cmsettle.inputs.readers): the same footing for both
    pa.set_memory_pool(pa.jemalloc_memory_pool())
except (NotImplementedError, AttributeError, pa.ArrowException):
    pass

# The headers the generated files carry (Chinese, as the CRM exports them) and the canonical names.
NAMES = {"客户号": "client_id", "归属工号": "manager_id", "成交金额": "turnover", "手续费率": "commission_rate",
         "月日均资产": "avg_assets", "月末资产": "end_assets"}
IDS = ("client_id", "manager_id", "客户号", "归属工号")


def read(path: Path) -> pa.Table:
    head = path.read_bytes()[:1 << 16]
    head = head[: head.rfind(b"\n") + 1] or head
    try:
        head.decode("utf-8")
        encoding = "utf8"
    except UnicodeDecodeError:  # the clients export is GBK
        encoding = "gb18030"
    table = pv.read_csv(path, read_options=pv.ReadOptions(encoding=encoding),
                        convert_options=pv.ConvertOptions(column_types={c: pa.string() for c in IDS}))
    return table.rename_columns([NAMES.get(c, c) for c in table.column_names])


def floor(folder: Path) -> dict[str, tuple[float, float, float]]:
    trades, assets, clients = (read(folder / f"{t}.csv") for t in ("trades", "assets", "clients"))
    owner = clients.select(["client_id", "manager_id"])
    revenue = pa.table({"client_id": trades["client_id"],
                        "nr": pc.multiply(trades["turnover"], trades["commission_rate"])})
    per_client = revenue.group_by("client_id").aggregate([("nr", "sum")])
    nr = per_client.join(owner, "client_id").group_by("manager_id").aggregate([("nr_sum", "sum")])
    books = assets.select(["client_id", "avg_assets", "end_assets"]).join(owner, "client_id") \
        .group_by("manager_id").aggregate([("avg_assets", "sum"), ("end_assets", "sum")])
    out = {m: (0.0, a, e) for m, a, e in zip(*(books[c].to_pylist() for c in
                                                 ("manager_id", "avg_assets_sum", "end_assets_sum")))}
    for m, v in zip(nr["manager_id"].to_pylist(), nr["nr_sum_sum"].to_pylist()):
        out[m] = (v, *out.get(m, (0.0, 0.0, 0.0))[1:])
    return out


def main(argv: list[str]) -> int:
    t0 = time.perf_counter()
    out = floor(Path(argv[0]))
    print(f"floor: {len(out)} managers, net revenue base {sum(v[0] for v in out.values()):,.2f}, "
          f"{time.perf_counter() - t0:.2f}s in process")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
