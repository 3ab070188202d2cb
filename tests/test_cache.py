"""Signal cache and training datasets: exact int16 copies of real records, reuse, invalidation."""
from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np
import pytest

from ecgviz import ptbxl, signals
from ecgviz.signals import read_ptbxl, resample, standardize
from training import cache
from training.data import CropDataset, RecordDataset, fit_standardizer, load_split


@pytest.fixture
def cache_root(tmp_path: Path) -> Path:
    return tmp_path / "cache"


def test_cache_holds_the_exact_samples(bundled_dir, bundled_index, cache_root):
    cached = cache.signals_100hz(bundled_dir, bundled_index, cache_root)
    labelled = bundled_index.index[bundled_index["split"].notna()]
    assert isinstance(cached.data, np.memmap) and cached.data.dtype == np.int16
    assert cached.data.shape == (len(labelled), 1000, 12)
    assert np.array_equal(cached.ids, np.sort(labelled))
    for ecg_id in labelled[[0, 100, -1]]:
        row = cached.rows([ecg_id])[0]
        expected = cache.to_adu(read_ptbxl(bundled_dir, bundled_index.loc[ecg_id]).signal)
        assert np.array_equal(cached.data[row], expected)
    # ecg_id 1 starts with the initial values of its header (adu).
    first = cached.data[cached.rows([1])[0], 0]
    assert first.tolist() == [-119, -55, 64, 86, -91, 4, -69, -31, 0, -26, -39, -79]
    with pytest.raises(KeyError, match="999999"):
        cached.rows([1, 999999])
    assert cached.rows([1, 999999], missing_ok=True)[1] == -1


def test_fast_reader_matches_wfdb_and_refuses_other_records(bundled_dir, record_copy, foreign_dir):
    stem = bundled_dir / "records100/00000/00002_lr"
    fast = cache.read_adu(stem)
    assert np.array_equal(fast, cache.to_adu(signals.read_wfdb(stem).signal))
    assert cache.read_adu(foreign_dir / "s0010_re") is None          # 15 leads, 1000 Hz
    broken = record_copy("records100/00000/00002_lr")
    data = np.fromfile(broken.with_suffix(".dat"), "<i2")
    data[100] += 7                                                   # checksum no longer matches
    data.tofile(broken.with_suffix(".dat"))
    assert cache.read_adu(broken) is None
    with pytest.raises(signals.MissingDataError, match="checksum"):
        signals.read_wfdb(broken)


def test_cache_is_reused_and_rebuilt_when_the_source_changes(ptbxl_copy, cache_root):
    index = ptbxl.load_index(ptbxl_copy)
    first = cache.signals_100hz(ptbxl_copy, index, cache_root)
    (folder,) = cache_root.iterdir()
    array = folder / "signals100.npy"
    built = array.stat().st_mtime_ns
    again = cache.signals_100hz(ptbxl_copy, index, cache_root)
    assert array.stat().st_mtime_ns == built and np.array_equal(again.ids, first.ids)

    csv = ptbxl_copy / "ptbxl_database.csv"                          # the csv is edited
    os.utime(csv, ns=(csv.stat().st_atime_ns, csv.stat().st_mtime_ns + 10**9))
    cache.signals_100hz(ptbxl_copy, index, cache_root)
    rebuilt = array.stat().st_mtime_ns
    assert rebuilt != built

    gone = ptbxl_copy / index["filename_lr"].iloc[0]                 # a record disappears
    for ext in (".hea", ".dat"):
        gone.with_suffix(ext).unlink()
    smaller = ptbxl.load_index(ptbxl_copy)
    now = cache.signals_100hz(ptbxl_copy, smaller, cache_root)
    assert array.stat().st_mtime_ns != rebuilt
    assert index.index[0] not in now.ids and len(now.ids) == len(first.ids) - 1


def test_phase_variants_are_five_decimations_of_the_500hz_file(bundled_dir, bundled_index,
                                                               cache_root):
    variants = cache.phase_variants(bundled_dir, bundled_index, 1000, cache_root)
    expected_ids = bundled_index.index[(bundled_index["split"] == "train")
                                       & bundled_index["has_500hz"]]
    assert np.array_equal(variants.ids, np.sort(expected_ids))
    assert variants.data.shape == (len(expected_ids), cache.PHASES, 1000, 12)
    ecg_id = int(variants.ids[0])
    hr = read_ptbxl(bundled_dir, bundled_index.loc[ecg_id], fs=500).signal
    got = variants.data[0]
    for p in range(cache.PHASES):
        assert np.abs(cache.to_mv(got[p]) - resample(hr[p:], 500, 100)[:1000]).max() <= 0.0006
    assert len({got[p].tobytes() for p in range(cache.PHASES)}) == cache.PHASES
    lr = read_ptbxl(bundled_dir, bundled_index.loc[ecg_id]).signal
    assert np.corrcoef(cache.to_mv(got[2])[:, 1], lr[:, 1])[0, 1] > 0.9


def test_datasets_standardise_cached_records(bundled_dir, bundled_index, cache_root):
    ids = ptbxl.split_ids(bundled_index, "valid")[:30]
    split = load_split(bundled_dir, bundled_index, ids, cache_root)
    floats = np.stack([read_ptbxl(bundled_dir, bundled_index.loc[i]).signal for i in ids])
    mean, std = fit_standardizer(split)
    ref_mean, ref_std = signals.fit_standardizer(floats)
    np.testing.assert_allclose(mean, ref_mean, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(std, ref_std, rtol=1e-5)
    assert np.concatenate(list(split.batches(7))).shape == floats.shape

    records = RecordDataset(split, mean, std)
    x, y = records[3]
    np.testing.assert_allclose(x.numpy(), standardize(floats[3], mean, std).T, atol=1e-5)
    assert y.tolist() == ptbxl.label_matrix(bundled_index, [ids[3]])[0].tolist()

    crops = CropDataset(split, mean, std, 250, seed=0)
    assert isinstance(crops.data, np.memmap)                         # no float copy of the split
    x, _ = crops[3]
    whole = standardize(floats[3], mean, std).T
    starts = [s for s in range(751) if np.allclose(whole[:, s:s + 250], x.numpy(), atol=1e-5)]
    assert len(starts) == 1


def test_a_record_the_cache_cannot_read_names_itself(ptbxl_copy, cache_root):
    index = ptbxl.load_index(ptbxl_copy)
    victim = index[index["split"].notna()].index[0]
    shutil.copyfile(ptbxl_copy / (index.loc[victim, "filename_lr"] + ".hea"),
                    ptbxl_copy / (index.loc[victim, "filename_lr"] + ".dat"))
    with pytest.raises(ptbxl.DatasetError, match=f"ecg_id {victim} .*truncated"):
        cache.signals_100hz(ptbxl_copy, index, cache_root)
    assert not list(cache_root.rglob("*.npy"))                       # nothing half-built is kept


def test_loader_workers_draw_their_own_crops(bundled_dir, bundled_index, cache_root):
    from fastai.data.load import DataLoader

    ids = ptbxl.split_ids(bundled_index, "train")[:8]
    split = load_split(bundled_dir, bundled_index, ids, cache_root)
    mean, std = fit_standardizer(split)
    whole = [RecordDataset(split, mean, std)[i][0].numpy() for i in range(8)]

    def starts(batch):
        return [next(s for s in range(751) if np.allclose(whole[i][:, s:s + 250], x, atol=1e-5))
                for i, x in enumerate(batch)]

    loader = DataLoader(CropDataset(split, mean, std, 250, seed=0), bs=4, num_workers=2)
    epochs = [starts(np.concatenate([x for x, _ in loader])) for _ in range(2)]
    assert epochs[0][:4] != epochs[0][4:]                             # the two workers differ
    assert epochs[0] != epochs[1]                                     # and so do the epochs
