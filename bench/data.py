"""Data-layer timings: index load (bundled and full-size), browse filters, record reads.

Usage: python bench/data.py [--repeat N]

The full-size index (21,799 rows, as PTB-XL v1.0.3) is built on the fly in a temp folder by
repeating the bundled sample's real rows under new ecg_ids, with hard links to real .dat files
in the records100/records500 layout, and deleted afterwards. Nothing is written in the repo.
"""
from __future__ import annotations

import argparse
import os
import pickle
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from ecgviz import ptbxl, settings  # noqa: E402
from ecgviz.signals import read_ptbxl  # noqa: E402

FULL_SIZE = 21_799


def timed(fn, repeat: int) -> tuple[float, object]:
    """Median wall time in ms over ``repeat`` calls, and the last result."""
    times, out = [], None
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        times.append((time.perf_counter() - t) * 1000)
    return statistics.median(times), out


def build_full_size(src: Path, dst: Path, n: int = FULL_SIZE) -> None:
    """A PTB-XL-layout folder of ``n`` rows made of the real rows of ``src``, repeated."""
    db = pd.read_csv(src / "ptbxl_database.csv")
    rows = db.iloc[[i % len(db) for i in range(n)]].reset_index(drop=True)
    removed = set(ptbxl.REMOVED_IN_V103)
    rows["ecg_id"] = [i for i in range(1, n + len(removed) + 1) if i not in removed]
    for col, sub, tag in (("filename_lr", "records100", "lr"), ("filename_hr", "records500", "hr")):
        src_dat = [src / (f + ".dat") for f in rows[col]]
        names = [f"{sub}/{i // 1000 * 1000:05d}/{i:05d}_{tag}" for i in rows["ecg_id"]]
        linkable = [p if p.is_file() else src / (rows.loc[0, "filename_lr"] + ".dat") for p in src_dat]
        for name, target in zip(names, linkable):
            path = dst / (name + ".dat")
            path.parent.mkdir(parents=True, exist_ok=True)
            os.link(target, path)
        rows[col] = names
    rows.to_csv(dst / "ptbxl_database.csv", index=False)
    shutil.copyfile(src / "scp_statements.csv", dst / "scp_statements.csv")


def browse_page_reruns(data_dir: Path, repeat: int) -> dict[str, float]:
    """Whole Browse page script runs (widgets, filters, table) on ``data_dir``, in ms."""
    from streamlit.testing.v1 import AppTest

    os.environ["PTBXL_DIR"] = str(data_dir)
    at = AppTest.from_file(str(settings.REPO_ROOT / "app.py"), default_timeout=300)
    at.switch_page("pages/browse.py")
    at.run()  # imports and indexes once
    out = {"rerun, no filter": timed(at.run, repeat)[0]}
    at.multiselect(key="browse_classes").set_value(["MI"])
    out["rerun, superclass MI"] = timed(at.run, repeat)[0]
    os.environ.pop("PTBXL_DIR")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    bundled = settings.BUNDLED_DATA_DIR

    ms, index = timed(lambda: ptbxl.load_index(bundled), args.repeat)
    print(f"index load, bundled ({len(index)} rows): {ms:.1f} ms")

    with tempfile.TemporaryDirectory(prefix="ecgviz-bench-") as tmp:
        full_dir = Path(tmp)
        t = time.perf_counter()
        build_full_size(bundled, full_dir)
        print(f"(built the full-size folder in {time.perf_counter() - t:.1f} s)")
        ms, full = timed(lambda: ptbxl.load_index(full_dir), args.repeat)
        print(f"index load, full size ({len(full):,} rows): {ms:.1f} ms")
        ms, _ = timed(lambda: pickle.loads(pickle.dumps(full)), args.repeat)
        print(f"full index pickle round trip (what a st.cache_data hit costs): {ms:.1f} ms")

        cases = {
            "no filter": ptbxl.Filters(),
            "superclass MI + fold 10": ptbxl.Filters(classes=("MI",), folds=(10,)),
            "age 40-60 + female": ptbxl.Filters(age=(40, 60), sexes=("female",)),
            "SCP code IMI": ptbxl.Filters(scp_codes=("IMI",)),
            "report text 'infarkt'": ptbxl.Filters(report="infarkt"),
            "quality: validated, clean, pacemaker": ptbxl.Filters(
                human_validated_only=True, no_artifacts=True, pacemaker=True),
        }
        for label, f in cases.items():
            ms, out = timed(lambda f=f: ptbxl.apply_filters(full, f), args.repeat)
            print(f"browse filter on full size, {label}: {ms:.1f} ms ({len(out):,} rows)")
        for label, ms in browse_page_reruns(full_dir, args.repeat).items():
            print(f"Browse page on full size (AppTest, warm cache), {label}: {ms:.0f} ms")

    for fs in (100, 500):
        ids = index.index[index["has_500hz"]]
        per_record = []
        for ecg_id in ids:
            ms, _ = timed(lambda: read_ptbxl(bundled, index.loc[ecg_id], fs=fs), args.repeat)
            per_record.append(ms)
        print(f"record read at {fs} Hz: {statistics.median(per_record):.1f} ms median "
              f"over {len(ids)} records (max {max(per_record):.1f} ms)")


if __name__ == "__main__":
    main()
