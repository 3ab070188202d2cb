"""Server-side speed and memory of the Review page: model threads, prefetching the next record,
libraries left unloaded."""
from __future__ import annotations

import os
import subprocess
import sys

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


def test_review_page_leaves_model_report_libraries_unloaded(shipped_checkpoint, bundled_index):
    """scikit-learn (Model page) and scipy.signal (resampling, VCG) stay out of the server's
    memory while 100 Hz records are reviewed; a 500 Hz record then loads scipy.signal."""
    ecg_100, ecg_500 = 9, int(bundled_index.index[bundled_index["has_500hz"]][0])
    script = f"""
import sys
from streamlit.testing.v1 import AppTest
at = AppTest.from_file({str(settings.REPO_ROOT / "app.py")!r}, default_timeout=300)
at.query_params["ecg_id"] = "{ecg_100}"
at.run()
assert not at.exception and at.get("bidi_component"), [e.value for e in at.exception]
print(sorted({{m.split(".")[0] for m in sys.modules if m.startswith("sklearn")}}),
      "scipy.signal" in sys.modules, end=" ")
at.query_params["ecg_id"] = "{ecg_500}"
at.run()
at.segmented_control(key="review_fs").set_value(500).run()
assert not at.exception
print("scipy.signal" in sys.modules)
"""
    env = {**os.environ, "ECGVIZ_CHECKPOINT": str(shipped_checkpoint)}
    env.pop("PTBXL_DIR", None)
    out = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True,
                         timeout=600, cwd=settings.REPO_ROOT)
    assert out.returncode == 0, out.stderr[-3000:]
    assert out.stdout.split() == ["[]", "False", "True"], out.stdout
