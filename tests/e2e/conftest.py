"""Real-browser fixtures: a running ``streamlit run app.py`` and headless Debian chromium (Playwright).

Fixtures (reuse them in any ``tests/e2e/test_*.py``):

- ``launch_app``   session-scoped factory. ``with launch_app({"ECGVIZ_CHECKPOINT": "..."}) as url:``
                   starts ``streamlit run app.py`` on a free localhost port with ``os.environ`` plus
                   the given variables, waits for ``/_stcore/health``, opens ``/`` once in chromium
                   (see below) and yields the base URL (``http://127.0.0.1:PORT``); the server is
                   stopped on exit. The server log is written to ``artifacts/streamlit-PORT.log``.
- ``app_url``      session-scoped base URL of one app started with the test process's environment
                   (set ``ECGVIZ_*``/``PTBXL_DIR`` before the session, or use ``launch_app``).

Warm-up: Streamlit treats a folder named ``pages/`` as a legacy multipage app until app.py has
run once in the server process, so a fresh server's first visit of e.g. ``/review`` would bypass
the router. Both fixtures therefore open ``/`` once before yielding (``warm=False`` skips that).
- ``browser``      session-scoped Playwright chromium: ``/usr/bin/chromium``, headless, with
                   ``--no-sandbox --disable-gpu --disable-background-networking``.
- ``page``         a fresh 1440x1000 page per test (closed afterwards).
- ``wait_idle``    ``wait_idle(page)``: waits until the Streamlit script run is over and no
                   spinner is shown. Call it after ``page.goto`` and after each interaction.
- ``artifacts``    the git-ignored ``artifacts/`` folder for screenshots.

When chromium or Playwright is missing these fixtures skip the test locally, but fail it when
``CI=true`` (CI must run the browser tests, not skip them).
"""
from __future__ import annotations

import os
import subprocess
import sys
import time
from contextlib import contextmanager
from functools import partial
from pathlib import Path
from typing import Iterator

import pytest

from ecgviz import settings
from bench.server import free_port, healthy, stop

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
ARTIFACTS = settings.REPO_ROOT / "artifacts"
START_TIMEOUT_S = 180
IN_CI = os.environ.get("CI", "").strip().lower() in {"1", "true", "yes"}


def _unavailable(reason: str) -> None:
    if IN_CI:
        pytest.fail(f"browser tests cannot run in CI: {reason}")
    pytest.skip(reason)


def _warm_up(browser, url: str) -> None:
    context = browser.new_context()
    try:
        pg = context.new_page()
        pg.goto(url)
        # app.py writes its sidebar after st.navigation: from then on this server uses the router
        # for every session (a sidebar nav alone may still be Streamlit's legacy pages/ listing).
        pg.get_by_text("Data source", exact=True).wait_for(timeout=START_TIMEOUT_S * 1000)
    finally:
        context.close()


@contextmanager
def _streamlit(browser, env: dict[str, str] | None = None, warm: bool = True) -> Iterator[str]:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    ARTIFACTS.mkdir(exist_ok=True)
    log_path = ARTIFACTS / f"streamlit-{port}.log"
    cmd = [sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(port),
           "--server.headless", "true", "--server.address", "127.0.0.1",
           "--server.fileWatcherType", "none", "--browser.gatherUsageStats", "false"]
    with open(log_path, "w") as log:
        proc = subprocess.Popen(cmd, cwd=settings.REPO_ROOT, env={**os.environ, **(env or {})},
                                stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while not healthy(url):
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"streamlit did not become healthy on {url}:\n"
                            + log_path.read_text()[-3000:])
            time.sleep(0.5)
        if warm:
            _warm_up(browser, url)
        yield url
    finally:
        stop(proc)


@pytest.fixture(scope="session")
def launch_app(browser):
    return partial(_streamlit, browser)


@pytest.fixture(scope="session")
def app_url(browser) -> Iterator[str]:
    with _streamlit(browser) as url:
        yield url


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


@pytest.fixture(scope="session")
def browser():
    if not CHROMIUM.is_file():
        _unavailable(f"{CHROMIUM} is missing (apt-get install chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("playwright is not installed (pip install -r requirements-dev.txt)")
    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1440, "height": 1000})
    context.set_default_timeout(60_000)
    pg = context.new_page()
    yield pg
    context.close()


@pytest.fixture(scope="session")
def wait_idle():
    def wait(pg, timeout_ms: int = 90_000) -> None:
        pg.wait_for_selector('[data-testid="stApp"][data-test-script-state="notRunning"]',
                             timeout=timeout_ms)
        pg.wait_for_selector('[data-testid="stSpinner"]', state="detached", timeout=timeout_ms)

    return wait
