"""A real app: `streamlit run` in headless mode, driven by Playwright on Debian's Chromium."""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path
from urllib.request import urlopen

import pytest

from csdl import auth, snapshots
from csdl.config import REPO_ROOT

CHROMIUM = os.environ.get("CSDL_CHROMIUM", "/usr/bin/chromium")
# Chromium flags for this closed network (no background connections) and running as root.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
PASSWORDS = {"principal": "hieu-truong-pw", "vice_principal": "pho-hieu-truong-pw",
             "admin": "quan-tri-pw-123", "viewer": "trinh-chieu-pw",
             "district": "phong-giao-duc-pw"}

pytestmark = pytest.mark.browser


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    def __init__(self, data_dir: Path):
        self.data_dir = data_dir
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = dict(os.environ, CSDL_DATA_DIR=str(data_dir))
        self.log = open(data_dir / "server.log", "wb")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", str(REPO_ROOT / "app.py"),
             "--server.headless", "true", "--server.port", str(self.port),
             "--server.address", "127.0.0.1", "--browser.gatherUsageStats", "false",
             "--server.fileWatcherType", "none"],
            cwd=REPO_ROOT, env=env, stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                with urlopen(self.url + "/_stcore/health", timeout=2) as r:
                    if r.status == 200:
                        return
            except OSError:
                time.sleep(0.3)
        self.stop()
        raise RuntimeError("streamlit did not start:\n" + (data_dir / "server.log").read_text())

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self.log.close()


def make_data(target: Path) -> Path:
    """The small fixture school plus one account per role (school roles belong to S1)."""
    from tests.conftest import small_school_tables

    target.mkdir(parents=True, exist_ok=True)
    snapshots.write_snapshot(target, small_school_tables(), school_year="2026-2027",
                             taken_at=datetime(2027, 1, 8, 17, 0), source="import")
    for role, password in PASSWORDS.items():
        auth.add_user(target, f"u_{role}", role, f"Người dùng {role}", password, "test",
                      school_id=None if role == "district" else "S1")
    return target


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import expect

    expect.set_options(timeout=20_000)  # CI machines are shared and slow at times
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: `make test` installs Debian's chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    srv = Server(make_data(tmp_path_factory.mktemp("browser-data")))
    yield srv
    srv.stop()


@pytest.fixture
def page(browser):
    context = browser.new_context(locale="vi-VN", viewport={"width": 1280, "height": 900})
    pg = context.new_page()
    pg.set_default_timeout(20_000)
    yield pg
    context.close()
