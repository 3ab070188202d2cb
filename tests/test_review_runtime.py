"""Server-side speed settings of the Review page: model threads and prefetching the next record."""
from __future__ import annotations

import numpy as np
import pytest

from ecgviz import settings
from ecgviz.inference import Predictor
from pages import common


@pytest.mark.parametrize("value, threads", [(None, 1), ("2", 2), ("0", 1), ("many", 1)])
def test_torch_threads_setting(monkeypatch, value, threads):
    if value is None:
        monkeypatch.delenv("ECGVIZ_TORCH_THREADS", raising=False)
    else:
        monkeypatch.setenv("ECGVIZ_TORCH_THREADS", value)
    assert settings.torch_threads() == threads


def test_prefetch_skips_bad_ids_and_scores_like_the_model(monkeypatch, shipped_checkpoint,
                                                     bundled_index):
    monkeypatch.delenv("PTBXL_DIR", raising=False)
    monkeypatch.setenv("ECGVIZ_CHECKPOINT", str(shipped_checkpoint))
    common.prefetch(10**9)                      # not in the dataset: skipped, no error
    ecg_id = int(bundled_index.index[3])
    common.prefetch(ecg_id)
    rec = common.record(ecg_id)
    expected = Predictor.from_checkpoint(shipped_checkpoint).predict(rec)
    np.testing.assert_allclose(common.predict(rec), expected, rtol=1e-5, atol=1e-6)
