"""A local ``streamlit run app.py`` for real-browser runs (bench/browser.py, tests/e2e).

Only loopback URLs are ever opened here (the health check of a server this process started)."""
from __future__ import annotations

import socket
import subprocess
import urllib.request


def free_port() -> int:
    """A TCP port on localhost that is free right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def healthy(url: str) -> bool:
    """True when the Streamlit server at ``url`` answers ``/_stcore/health``."""
    try:
        with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as resp:
            return resp.status == 200
    except OSError:
        return False


def stop(proc: subprocess.Popen) -> None:
    """Terminate the server process (kill it if it does not exit within 15 s)."""
    proc.terminate()
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
