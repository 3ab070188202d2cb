"""Build a full-size (21,799-record) PTB-XL folder from real records, for scale benchmarks.

    .venv/bin/python -m bench.make_fullsize [--source data/ptbxl-sample] [--out DIR] [--n 21799]

Record k of the new folder is real record ``k mod n_source`` of ``--source`` under a new ecg_id
(the ids PTB-XL v1.0.3 removed are skipped, so the index holds exactly ``--n`` records): its
.dat files are hard links (symlinks across file systems) to the real ones, its .hea headers are
rewritten only to carry the new record and file names. ``ptbxl_database.csv`` keeps the source
rows (labels, report, metadata) with new ecg_id, patient_id, file names and ``strat_fold``
cycling 1..10, so every fold holds a tenth of the records, as in PTB-XL. Written to a new temp
folder unless ``--out`` is given; never commit it.
"""
from __future__ import annotations

import argparse
import itertools
import os
import shutil
import tempfile
import time
from pathlib import Path

import pandas as pd

from ecgviz import ptbxl
from ecgviz.settings import BUNDLED_DATA_DIR

FULL_SIZE = 21_799


def _link(src: Path, dst: Path) -> None:
    try:
        os.link(src, dst)
    except OSError:
        os.symlink(src.resolve(), dst)


def _copy_record(src_stem: Path, dst_stem: Path) -> None:
    """Header with the new record/file names; the data file linked to the real one."""
    lines = src_stem.with_suffix(".hea").read_text().splitlines()
    head = lines[0].split()
    n_sig = int(head[1])
    head[0] = dst_stem.name
    data = src_stem.parent / lines[1].split()[0]
    out = [" ".join(head)]
    out += [f"{dst_stem.name}.dat {line.split(' ', 1)[1]}" for line in lines[1:1 + n_sig]]
    out.extend(lines[1 + n_sig:])
    dst_stem.parent.mkdir(parents=True, exist_ok=True)
    dst_stem.with_suffix(".hea").write_text("\n".join(out) + "\n")
    _link(data, dst_stem.with_suffix(".dat"))


def _stem(kind: str, ecg_id: int) -> str:
    sub, suffix = ("records100", "lr") if kind == "lr" else ("records500", "hr")
    return f"{sub}/{ecg_id // 1000 * 1000:05d}/{ecg_id:05d}_{suffix}"


def build(source: Path, out: Path, n: int = FULL_SIZE) -> Path:
    """Write the ``n``-record folder into ``out`` (created) and return it."""
    source, out = Path(source), Path(out)
    index = ptbxl.load_index(source)
    rows = pd.read_csv(source / "ptbxl_database.csv", index_col="ecg_id").loc[index.index]
    has_hr = index["has_500hz"].to_numpy()
    out.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(source / "scp_statements.csv", out / "scp_statements.csv")
    new_ids = list(itertools.islice((i for i in itertools.count(1)
                                     if i not in ptbxl.REMOVED_IN_V103), n))
    picks = [k % len(rows) for k in range(n)]
    db = rows.iloc[picks].copy()
    db.index = pd.Index(new_ids, name="ecg_id")
    db["patient_id"] = [float(i) for i in new_ids]
    db["strat_fold"] = [k % 10 + 1 for k in range(n)]
    db["filename_lr"] = [_stem("lr", i) for i in new_ids]
    db["filename_hr"] = [_stem("hr", i) for i in new_ids]
    for ecg_id, pick in zip(new_ids, picks):
        _copy_record(source / rows["filename_lr"].iloc[pick], out / _stem("lr", ecg_id))
        if has_hr[pick]:
            _copy_record(source / rows["filename_hr"].iloc[pick], out / _stem("hr", ecg_id))
    db.to_csv(out / "ptbxl_database.csv")
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--source", type=Path, default=BUNDLED_DATA_DIR, help="real PTB-XL folder")
    p.add_argument("--out", type=Path, default=None, help="new folder (default: a temp folder)")
    p.add_argument("--n", type=int, default=FULL_SIZE, help="records to write")
    a = p.parse_args()
    out = a.out or Path(tempfile.mkdtemp(prefix="ecgviz-fullsize-"))
    t0 = time.perf_counter()
    build(a.source, out, a.n)
    print(f"{a.n} records from {a.source} written to {out} in {time.perf_counter() - t0:.1f} s")


if __name__ == "__main__":
    main()
