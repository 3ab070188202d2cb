"""Rebuild data/ptbxl-sample from a PTB-XL folder (how the bundled subset was made).

Usage: python data/build_sample.py SOURCE_PTBXL_DIR

Keeps every record of SOURCE that is part of PTB-XL v1.0.3 at 100 Hz and the 500 Hz files of
ecg_id 1 plus the first 35 test-fold (strat_fold 10) records. Files are copied unmodified.
"""
from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pandas as pd

REMOVED_IN_V103 = [137, 139, 140, 141, 142, 143, 145, 456, 458, 459, 461, 462]
N_TEST_HR = 35


def main(source: Path, target: Path) -> None:
    db = pd.read_csv(source / "ptbxl_database.csv", index_col="ecg_id")
    db = db.drop(index=[i for i in REMOVED_IN_V103 if i in db.index])
    hr_ids = {1, *db.index[db.strat_fold == 10][:N_TEST_HR]}
    target.mkdir(parents=True, exist_ok=True)
    for ecg_id, row in db.iterrows():
        stems = [row.filename_lr] + ([row.filename_hr] if ecg_id in hr_ids else [])
        for stem in stems:
            for ext in (".hea", ".dat"):
                out = target / (stem + ext)
                out.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(source / (stem + ext), out)
    # Rows are copied as text so every field stays byte-identical to the source CSV.
    lines = (source / "ptbxl_database.csv").read_text().splitlines(keepends=True)
    keep = {str(i) for i in db.index}
    (target / "ptbxl_database.csv").write_text(
        lines[0] + "".join(line for line in lines[1:] if line.split(",", 1)[0] in keep)
    )
    for name in ("scp_statements.csv", "LICENSE.txt"):
        shutil.copyfile(source / name, target / name)


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(__file__).resolve().parent / "ptbxl-sample")
