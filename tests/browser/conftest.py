"""A real app: `streamlit run` in headless mode, driven by Playwright on Debian's Chromium."""
from __future__ import annotations

import itertools
import os
import socket
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path
from urllib.request import urlopen

import pytest
from playwright.sync_api import Page, expect

from csdl import access, auth, snapshots
from csdl.config import REPO_ROOT
from csdl.i18n import t

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
    context.add_init_script(RUN_TRACKER)  # for settled()
    pg = context.new_page()
    pg.set_default_timeout(20_000)
    yield pg
    context.close()


# Counts the app's script runs from its WebSocket traffic, so that settled() can wait for the
# very runs a page asked for instead of sleeping. Only protobuf's top-level fields are read:
# BackMsg.rerun_script (11) sent; ForwardMsg.new_session (4) starts a run, script_finished (6)
# ends it, unless its status is FINISHED_EARLY_FOR_RERUN (2): another run of the chain follows.
RUN_TRACKER = """
(() => {
  if (window.__csdlRuns || window.top !== window) return;
  const s = window.__csdlRuns = {sent: 0, runFor: -1, finishedFor: -1, running: false,
                                 okSince: null, seen: null, call: null};
  const varint = (b, i) => {
    let v = 0, m = 1, x;
    do { x = b[i++]; v += (x & 127) * m; m *= 128; } while (x & 128);
    return [v, i];
  };
  const fields = (bytes) => {
    const b = new Uint8Array(bytes), out = [];
    let i = 0, tag, v;
    while (i < b.length) {
      [tag, i] = varint(b, i);
      const wire = tag % 8;
      v = null;
      if (wire === 0) [v, i] = varint(b, i);
      else if (wire === 2) { [v, i] = varint(b, i); i += v; v = null; }
      else if (wire === 1) i += 8;
      else if (wire === 5) i += 4;
      else break;
      out.push([Math.floor(tag / 8), v]);
    }
    return out;
  };
  const received = (e) => {
    if (!(e.data instanceof ArrayBuffer)) return;
    for (const [field, v] of fields(e.data)) {
      if (field === 4) { s.runFor = s.sent; s.running = true; }
      else if (field === 6 && v !== 2) { s.finishedFor = s.runFor; s.running = false; }
    }
  };
  const Native = window.WebSocket;
  window.WebSocket = class extends Native {
    constructor(...args) { super(...args); this.addEventListener("message", received); }
    send(data) {
      const bytes = data instanceof ArrayBuffer ? data : ArrayBuffer.isView(data)
        ? data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength) : null;
      if (bytes && fields(bytes).some(([field]) => field === 11)) s.sent += 1;
      return super.send(data);
    }
  };
})();
"""
# True once every rerun the page has sent has been run to its end, the app says it is not
# running, and that has held, with no new rerun, for `quiet` ms (a component's answer or a
# React render can follow a run's end by a moment).
SETTLED = """
({quiet, call}) => {
  const s = window.__csdlRuns;
  if (!s) throw new Error("no run tracker: the page was not made by the `page` fixture");
  const app = document.querySelector('[data-testid="stApp"]');
  const now = performance.now();
  const ok = !!app && app.getAttribute("data-test-script-state") === "notRunning"
    && !s.running && s.finishedFor === s.sent;
  if (!ok || s.call !== call || s.seen !== s.sent) {
    s.okSince = ok ? now : null; s.call = call; s.seen = s.sent;
    return false;
  }
  return now - s.okSince >= quiet;
}
"""
_calls = itertools.count()


def settled(page: Page, quiet_ms: int = 150) -> None:
    """Wait until the app's script runs have finished (and stale elements are gone): every
    rerun this page requested, by a click, a page load or a component, has run to its end."""
    page.wait_for_function(SETTLED, arg={"quiet": quiet_ms, "call": next(_calls)},
                           polling=50, timeout=30_000)


def sign_in(page: Page, base: str, username: str, password: str, path: str = "") -> None:
    page.goto(f"{base}/{path}")
    settled(page)
    page.get_by_label("Tên đăng nhập").fill(username)
    page.get_by_label("Mật khẩu").fill(password)
    page.get_by_role("button", name="Đăng nhập").click()


def signed_in(page: Page, base: str, username: str, password: str, path: str = "") -> None:
    """Sign in and wait until the browser holds the sign-in cookie (set by a component)."""
    sign_in(page, base, username, password, path)
    expect(page.get_by_role("button", name=t("auth.sign_out"))).to_be_visible()
    deadline = time.monotonic() + 40  # a loaded 2-core CI machine can take this long
    while not any(c["name"] == auth.COOKIE_NAME for c in page.context.cookies()):
        assert time.monotonic() < deadline, "the sign-in cookie was never set"
        page.wait_for_timeout(100)
    settled(page)


def url_of(base: str, key: str) -> str:
    """The first page of the menu is the default one, served at the root."""
    return f"{base}/" if key == access.PAGES[0].key else f"{base}/{key}"
