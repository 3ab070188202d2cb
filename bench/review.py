"""Benchmark of the Review page: whole page (AppTest) cold and warm, predict, integrated gradients,
figure build and figure JSON size. Prints one line per number.

    .venv/bin/python -m bench.review [--ecg-id 63] [--checkpoint PATH] [--repeats 5]

Goals (issue 5): cold page < 1.5 s, warm page < 0.3 s, IG (50 steps, warm) < 1 s, figure JSON
< 400 KB at 100 Hz. The machine is shared: the load average is printed next to the numbers.
"""
from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import torch

from bench.timing import median_s


def _cpu_s(fn) -> float:
    """Process CPU seconds of one call: on a shared machine, CPU / threads bounds the idle wall time."""
    t = time.process_time()
    fn()
    return time.process_time() - t


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ecg-id", type=int, default=63)
    parser.add_argument("--cls", default="MI")
    parser.add_argument("--checkpoint", type=Path, default=None)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()

    from ecgviz import settings
    if args.checkpoint:
        os.environ["ECGVIZ_CHECKPOINT"] = str(args.checkpoint)
    ckpt = settings.checkpoint_path()

    import streamlit as st
    from streamlit.testing.v1 import AppTest

    from ecgviz import figures
    from ecgviz.inference import Predictor
    from ecgviz.ptbxl import load_index
    from ecgviz.saliency import integrated_gradients
    from ecgviz.signals import read_ptbxl

    print(f"checkpoint        {ckpt}")
    print(f"torch threads     {torch.get_num_threads()} · load average {os.getloadavg()[0]:.1f} "
          f"on {os.cpu_count()} CPUs")

    def page() -> AppTest:
        at = AppTest.from_file(str(settings.REPO_ROOT / "app.py"), default_timeout=600)
        at.query_params["ecg_id"] = str(args.ecg_id)
        at.query_params["cls"] = args.cls
        at.run()
        if at.exception:
            raise SystemExit(f"page failed: {[e.value for e in at.exception]}")
        return at

    page()                                 # imports, Streamlit runtime, page modules
    st.cache_data.clear()
    st.cache_resource.clear()
    t = time.perf_counter()
    at = page()
    cold = time.perf_counter() - t
    print(f"page cold         {cold:.3f} s  (empty caches: model load, read, predict, IG, figures)")
    warm = median_s(at.run, args.repeats)
    print(f"page warm rerun   {warm:.3f} s  (median of {args.repeats})")
    warm_new = median_s(page, args.repeats)
    print(f"page warm open    {warm_new:.3f} s  (new session, warm caches)")

    data = settings.BUNDLED_DATA_DIR
    row = load_index(data).loc[args.ecg_id]
    model = Predictor.from_checkpoint(ckpt)
    for fs in (100, 500) if row["has_500hz"] else (100,):
        rec = read_ptbxl(data, row, fs=fs)
        model.predict(rec)
        cpu = _cpu_s(lambda: model.predict(rec))
        print(f"predict {fs} Hz    {median_s(lambda: model.predict(rec), args.repeats) * 1e3:.1f} ms"
              f" wall · {cpu * 1e3:.1f} ms CPU")
        integrated_gradients(model, rec, args.cls, n_steps=50)           # warm-up
        ig = median_s(lambda: integrated_gradients(model, rec, args.cls, n_steps=50),
                       3 if fs == 100 else 1)
        cpu = _cpu_s(lambda: integrated_gradients(model, rec, args.cls, n_steps=50))
        print(f"IG 50 steps {fs} Hz {ig:.3f} s wall · {cpu:.3f} s CPU "
              f"({cpu / torch.get_num_threads():.3f} s per thread)")
        sal = integrated_gradients(model, rec, args.cls, n_steps=50)
        for layout in figures.LAYOUTS:
            build = median_s(lambda: figures.ecg_paper(rec, layout, sal.attributions,
                                                        target=args.cls), args.repeats)
            fig = figures.ecg_paper(rec, layout, sal.attributions, target=args.cls)
            size = len(fig.to_json().encode())
            print(f"figure {layout:7s} {fs} Hz build {build * 1e3:.1f} ms · JSON {size / 1024:.0f} KB")
    print(f"load average now  {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
