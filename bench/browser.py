"""Review page speed in a real browser (Playwright + Debian chromium) and server memory.

Starts ``streamlit run app.py`` on a free port, then measures from navigation (or the click) until
the 12-lead Plotly figure of the wanted record is drawn in the page, and until the model's
probability figure of that record is drawn (saliency follows on its own; its time is printed too):

- server first: the very first page after the server started (imports, model load);
- cold: a fresh browser profile (nothing cached) opening ``/?ecg_id=N`` of a record not opened
  before; "new tab" is the same but in a browser that has loaded the app before (cached assets);
- switch: "Next ▶" inside one session, and a new deep link typed into the same tab;
- RSS of the streamlit server process (and any children) after 10 records have been reviewed
  (saliency included), and right after the first page (imports + model).

"sent" is when the websocket frame carrying the figure reached the browser (server share);
figure minus sent is the browser's (on a fresh profile Streamlit's chunks and the slim plotly.js
bundle, 1.5 MB, are fetched and started; see ``pages/slim_plotly.py``). The 1-minute load
average is printed: on a shared 2-core machine it decides a lot.

Targets (issue 9): figure and probabilities < 1.5 s on opening a record (fresh profile and new tab),
< 0.5 s on switching records; RSS < 400 MB.

    .venv/bin/python bench/browser.py [--checkpoint PATH] [--records 10] [--json bench/out/browser.json]
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import psutil
from playwright.sync_api import Page, sync_playwright

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from ecgviz import ptbxl, settings  # noqa: E402  (after the path setup above)
from bench.server import free_port, healthy, stop  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
TARGETS = {"cold_figure_s": 1.5, "cold_probs_s": 1.5, "new_tab_figure_s": 1.5,
           "new_tab_probs_s": 1.5, "switch_figure_s": 0.5, "switch_probs_s": 0.5,
           "rss_mb": 400.0}   # issue 9: the figure with the model's probabilities
TIMEOUT_MS = 120_000

# The ECG paper carries uirevision "<record name>-<layout>", the record name being "ecg_id N".
_ECG_DRAWN = """(id) => [...document.querySelectorAll('.js-plotly-plot')].some(gd =>
    gd._fullLayout && String(gd.layout.uirevision || '').startsWith(`ecg_id ${id}-`)
    && gd.data.filter(t => t.meta && t.meta.role === 'lead').length >= 12
    && gd.querySelectorAll('.scatterlayer .trace').length >= 12)"""
_PROBS = """[...document.querySelectorAll('.js-plotly-plot')].filter(gd => gd._fullLayout
    && gd.data.some(t => t.type === 'bar' && t.meta && ['agree_pos','agree_neg','missed','extra',
       'above','below'].includes(t.meta.role)))"""
# Probabilities of the new record: the chart exists and its element is not stale (re-sent in this run).
_PROBS_DRAWN = f"""() => {_PROBS}.some(gd => !gd.closest('[data-stale="true"]'))"""
_SALIENCY_DRAWN = """(id) => [...document.querySelectorAll('.js-plotly-plot')].some(gd =>
    gd._fullLayout && String(gd.layout.uirevision || '').startsWith(`ecg_id ${id}-`)
    && gd.data.some(t => t.type === 'heatmap' && t.meta && t.meta.role === 'saliency'))"""
_IDLE = '[data-testid="stApp"][data-test-script-state="notRunning"]'


def _start_server(env: dict[str, str], log: Path) -> tuple[subprocess.Popen, str]:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    cmd = [sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(port),
           "--server.headless", "true", "--server.address", "127.0.0.1",
           "--server.fileWatcherType", "none", "--browser.gatherUsageStats", "false"]
    with open(log, "w") as out:
        proc = subprocess.Popen(cmd, cwd=REPO, env={**os.environ, **env}, stdout=out,
                                stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 180
    while not healthy(url):
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            raise SystemExit(f"streamlit did not start on {url}; see {log}")
        time.sleep(0.3)
    return proc, url


def _wait(page: Page, js: str, arg=None) -> float:
    page.wait_for_function(js, arg=arg, polling="raf", timeout=TIMEOUT_MS)
    return time.perf_counter()


class _Frames:
    """Arrival time of the first websocket frame that carries the paper of a given record."""

    def __init__(self, page: Page) -> None:
        self.seen: dict[int, float] = {}
        self.wanted: int | None = None
        page.on("websocket", lambda ws: ws.on("framereceived", self._frame))

    def _frame(self, payload) -> None:
        data = payload if isinstance(payload, bytes) else payload.encode()
        if self.wanted is not None and self.wanted not in self.seen \
                and f'uirevision\\":\\"ecg_id {self.wanted}-'.encode() in data:
            self.seen[self.wanted] = time.perf_counter()


def _open(page: Page, frames: _Frames, url: str, ecg_id: int) -> dict[str, float]:
    """Navigate to the deep link; seconds until the figure, the probabilities, the saliency."""
    frames.wanted = ecg_id
    t0 = time.perf_counter()
    page.goto(f"{url}/?ecg_id={ecg_id}", wait_until="commit")
    return _times(page, frames, ecg_id, t0)


def _times(page: Page, frames: _Frames, ecg_id: int, t0: float) -> dict[str, float]:
    fig = _wait(page, _ECG_DRAWN, ecg_id) - t0
    probs = _wait(page, _PROBS_DRAWN) - t0
    sal = _wait(page, _SALIENCY_DRAWN, ecg_id) - t0
    page.wait_for_selector(_IDLE, timeout=TIMEOUT_MS)
    sent = frames.seen.get(ecg_id, float("nan")) - t0
    return {"sent_s": sent, "figure_s": fig, "probs_s": probs, "saliency_s": sal}


def _next(page: Page, frames: _Frames, ecg_id: int) -> dict[str, float]:
    button = page.get_by_role("button", name="Next ▶")
    frames.wanted = ecg_id
    t0 = time.perf_counter()
    button.click()
    return _times(page, frames, ecg_id, t0)


def _tree_rss_mb(pid: int) -> float:
    proc = psutil.Process(pid)
    procs = [proc, *proc.children(recursive=True)]
    return sum(p.memory_info().rss for p in procs) / 2**20


def _median(rows: list[dict[str, float]], key: str) -> float:
    return statistics.median(r[key] for r in rows)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--checkpoint", type=Path, default=None,
                    help="model to use (default: ECGVIZ_CHECKPOINT or the shipped checkpoint)")
    ap.add_argument("--records", type=int, default=10, help="records viewed before RSS is read")
    ap.add_argument("--json", type=Path, default=None, help="also write the numbers here")
    args = ap.parse_args()

    env = {"ECGVIZ_ALLOW_TRAINING": "0"}
    if args.checkpoint is not None:
        env["ECGVIZ_CHECKPOINT"] = str(args.checkpoint.resolve())
    ckpt = Path(env.get("ECGVIZ_CHECKPOINT") or settings.checkpoint_path())
    if not ckpt.is_file():
        raise SystemExit(f"no checkpoint at {ckpt}: probabilities cannot be timed "
                         "(pass --checkpoint PATH)")
    ids = ptbxl.load_index(settings.BUNDLED_DATA_DIR).index.tolist()
    # one record for the server's first page, 6 cold profiles, 3 new tabs, then Next clicks
    first, cold, tabs, run = ids[0], ids[10:16], ids[16:19], ids[20:20 + args.records]
    links = ids[40:42]
    load = [os.getloadavg()[0]]
    log = REPO / "bench" / "out" / "browser-streamlit.log"
    log.parent.mkdir(exist_ok=True)
    proc, url = _start_server(env, log)
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)

            def profile():
                ctx = browser.new_context(viewport={"width": 1440, "height": 1000})
                ctx.set_default_timeout(TIMEOUT_MS)
                return ctx

            def tab(ctx) -> tuple[Page, _Frames]:
                page = ctx.new_page()
                return page, _Frames(page)

            ctx = profile()
            server_first = _open(*tab(ctx), url, first)
            ctx.close()
            rss_first = _tree_rss_mb(proc.pid)
            colds = []
            for ecg_id in cold:
                ctx = profile()
                colds.append(_open(*tab(ctx), url, ecg_id))
                ctx.close()
            ctx = profile()
            _open(*tab(ctx), url, run[0])     # this profile has loaded the app once
            new_tabs = []
            for ecg_id in tabs:
                page, frames = tab(ctx)
                new_tabs.append(_open(page, frames, url, ecg_id))
                page.close()
            page, frames = tab(ctx)
            _open(page, frames, url, run[0])  # the Next run walks the dataset order from run[0]
            switches = [_next(page, frames, ecg_id) for ecg_id in run[1:]]
            load.append(os.getloadavg()[0])
            shot = REPO / "artifacts" / "bench-browser-review.png"
            shot.parent.mkdir(exist_ok=True)
            page.screenshot(path=str(shot), full_page=True)
            deep = [_open(page, frames, url, ecg_id) for ecg_id in links]   # same tab, new link
            ctx.close()
            browser.close()
        rss = _tree_rss_mb(proc.pid)
        load.append(os.getloadavg()[0])
    finally:
        stop(proc)

    viewed = 1 + len(cold) + 1 + len(tabs) + len(run) + len(links)
    rows = {"server first page": [server_first], "cold profile": colds, "new tab": new_tabs,
            "switch Next": switches, "deep link, same tab": deep}
    result = {
        "checkpoint": str(ckpt), "cpu_cores": os.cpu_count(), "load_avg_1min": load,
        "torch_threads": settings.torch_threads(),
        "runs": rows,
        "cold_figure_s": _median(colds, "figure_s"),
        "cold_probs_s": _median(colds, "probs_s"),
        "new_tab_figure_s": _median(new_tabs, "figure_s"),
        "new_tab_probs_s": _median(new_tabs, "probs_s"),
        "switch_figure_s": _median(switches, "figure_s"),
        "switch_probs_s": _median(switches, "probs_s"),
        "rss_first_page_mb": rss_first,
        "rss_mb": rss,
        "records_viewed": viewed,
    }
    print(f"checkpoint {ckpt} · {os.cpu_count()} CPU cores · torch threads "
          f"{settings.torch_threads()} · load average (1 min) "
          + " → ".join(f"{x:.1f}" for x in load) + f" · {viewed} records viewed")
    print(f"{'seconds, median of n':30s}{'n':>3s}{'sent':>7s}{'figure':>8s}{'probs':>7s}"
          f"{'saliency':>9s}{'worst fig':>10s}")
    for name, rs in rows.items():
        print(f"{name:30s}{len(rs):3d}{_median(rs, 'sent_s'):7.2f}{_median(rs, 'figure_s'):8.2f}"
              f"{_median(rs, 'probs_s'):7.2f}{_median(rs, 'saliency_s'):9.2f}"
              f"{max(r['figure_s'] for r in rs):10.2f}")
    print(f"server RSS: {rss_first:.0f} MB after the first page, {rss:.0f} MB after {viewed} records")
    for key, target in TARGETS.items():
        value = result[key]
        print(f"  {key:18s} {value:8.2f}  target < {target:g}  {'OK' if value < target else 'MISSED'}")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
