"""The report opened in a real browser: headless Chromium driven over the DevTools protocol.

Chromium is Debian's ``chromium`` package (installed by ``.ci/run``). The DevTools protocol is
spoken over ``--remote-debugging-pipe`` (NUL-separated JSON on file descriptors 3 and 4), so
the test needs nothing beyond the standard library. Without Chromium the test is skipped,
except in CI (``CI=true``), where it fails.
"""

from __future__ import annotations

import base64
import json
import os
import select
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from empathy_metrics.report import build_report

DATA = Path(__file__).parent / "reference" / "data" / "decline_sim.csv"
SECTIONS = ["summary", "findings", "scores", "change", "attrition", "norms", "quality",
            "reliability", "factors", "comparability", "items", "methods"]
FIGURES = ["summary", "trend_total", "trend_subscales", "distribution_total", "cohorts", "alpha",
           "scree", "loadings", "item_change"]
TIMEOUT = 60.0


def _chromium() -> str:
    for name in ("chromium", "chromium-browser"):
        found = shutil.which(name)
        if found:
            return found
    if Path("/usr/bin/chromium").exists():
        return "/usr/bin/chromium"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail("chromium is not installed, and the browser test must run in CI")
    pytest.skip("chromium is not installed (install Debian's `chromium` package)")


class DevTools:
    """A minimal Chrome DevTools protocol client over --remote-debugging-pipe."""

    def __init__(self, binary: str, profile: Path) -> None:
        to_chrome_r, self._to_chrome = os.pipe()
        self._from_chrome, from_chrome_w = os.pipe()
        # the child must see them as fds 3 (it reads) and 4 (it writes); move both out of the
        # way first so neither dup2 clobbers the other
        high_r, high_w = os.dup(to_chrome_r) + 100, os.dup(from_chrome_w) + 100
        os.dup2(to_chrome_r, high_r)
        os.dup2(from_chrome_w, high_w)

        def child_fds() -> None:
            os.dup2(high_r, 3)
            os.dup2(high_w, 4)

        args = [binary, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                "--no-first-run", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--disable-extensions",
                "--hide-scrollbars", "--disable-dev-shm-usage", f"--user-data-dir={profile}",
                "--remote-debugging-pipe",
                "about:blank"]
        self.proc = subprocess.Popen(args, stdin=subprocess.DEVNULL,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                     pass_fds=(3, 4, high_r, high_w), preexec_fn=child_fds)
        for fd in (to_chrome_r, from_chrome_w, high_r, high_w):
            os.close(fd)
        self._buf = b""
        self._next = 0
        self.events: list[dict[str, Any]] = []
        self.session: str | None = None

    def close(self) -> None:
        for fd in (self._to_chrome, self._from_chrome):
            try:
                os.close(fd)
            except OSError:
                pass
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=10)

    def _read_message(self, deadline: float) -> dict[str, Any]:
        while b"\0" not in self._buf:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("no answer from chromium")
            ready, _, _ = select.select([self._from_chrome], [], [], left)
            if ready:
                chunk = os.read(self._from_chrome, 1 << 20)
                if not chunk:
                    raise ConnectionError("chromium closed the DevTools pipe")
                self._buf += chunk
        raw, self._buf = self._buf.split(b"\0", 1)
        return json.loads(raw)

    def call(self, method: str, session: bool = True, **params: Any) -> dict[str, Any]:
        self._next += 1
        msg: dict[str, Any] = {"id": self._next, "method": method, "params": params}
        if session and self.session:
            msg["sessionId"] = self.session
        os.write(self._to_chrome, json.dumps(msg).encode() + b"\0")
        deadline = time.monotonic() + TIMEOUT
        while True:
            reply = self._read_message(deadline)
            if reply.get("id") == self._next:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply.get("result", {})
            self.events.append(reply)

    def wait_for(self, method: str) -> dict[str, Any]:
        for event in self.events:
            if event.get("method") == method:
                return event
        deadline = time.monotonic() + TIMEOUT
        while True:
            event = self._read_message(deadline)
            self.events.append(event)
            if event.get("method") == method:
                return event

    def evaluate(self, expression: str) -> Any:
        res = self.call("Runtime.evaluate", expression=expression, returnByValue=True)
        if "exceptionDetails" in res:
            raise RuntimeError(res["exceptionDetails"])
        return res["result"].get("value")


@pytest.fixture(scope="module")
def report_file(tmp_path_factory) -> Path:
    frame = pd.read_csv(DATA)
    frame["gender"] = frame["gender"].replace({"women": 'w&<>"omen'})
    rep = build_report(frame, "jse-s", time="year", id="id", cohort="cohort", group="gender",
                       title="<script>alert(1)</script> <img src=x onerror=alert(2)>",
                       source_path=DATA, paper="letter", confidential="Faculty only")
    out = tmp_path_factory.mktemp("browser") / "report.html"
    rep.write(out)
    return out


@pytest.fixture(scope="module")
def browser(report_file, tmp_path_factory):
    binary = _chromium()
    tools = DevTools(binary, tmp_path_factory.mktemp("profile"))
    try:
        target = tools.call("Target.createTarget", url="about:blank")
        attached = tools.call("Target.attachToTarget", targetId=target["targetId"],
                              flatten=True)
        tools.session = attached["sessionId"]
        for domain in ("Page", "Runtime", "Log", "Network"):
            tools.call(f"{domain}.enable")
        tools.events.clear()
        tools.call("Page.navigate", url=report_file.resolve().as_uri())
        tools.wait_for("Page.loadEventFired")
        yield tools
    finally:
        tools.close()


def _problems(events: list[dict[str, Any]], page_url: str) -> list[str]:
    out = []
    for e in events:
        m, p = e.get("method"), e.get("params", {})
        if m == "Runtime.consoleAPICalled" and p.get("type") in ("error", "assert"):
            out.append(f"console.{p['type']}: {p.get('args')}")
        elif m == "Runtime.exceptionThrown":
            out.append(f"exception: {p.get('exceptionDetails')}")
        elif m == "Log.entryAdded" and p.get("entry", {}).get("level") == "error":
            out.append(f"log error: {p['entry'].get('text')} {p['entry'].get('url', '')}")
        elif m == "Network.loadingFailed":
            out.append(f"failed to load: {p.get('errorText')}")
        elif m == "Network.requestWillBeSent":
            url = p.get("request", {}).get("url", "")
            if not (url.startswith("data:") or url == page_url):
                out.append(f"request to {url}")
        elif m == "Page.javascriptDialogOpening":
            out.append(f"dialog: {p.get('message')}")
    return out


def test_no_console_error_no_request_no_script(browser, report_file):
    problems = _problems(browser.events, report_file.resolve().as_uri())
    assert problems == []
    assert browser.evaluate("document.scripts.length") == 0
    assert browser.evaluate("document.title") == (
        '<script>alert(1)</script> <img src=x onerror=alert(2)>')


def test_no_broken_image_and_every_figure_drawn(browser):
    broken = browser.evaluate(
        "[...document.images].filter(i => !i.complete || i.naturalWidth === 0).length")
    assert broken == 0
    figures = browser.evaluate(
        "[...document.querySelectorAll('figure[data-figure]')].map(f => [f.dataset.figure, "
        "f.querySelector('img').naturalWidth, f.querySelector('img').getBoundingClientRect()"
        ".width])")
    names = [f[0] for f in figures]
    assert set(FIGURES) <= set(names)
    for name, natural, shown in figures:
        assert natural > 200, name  # a real drawing, not a placeholder
        assert 0 < shown <= browser.evaluate("document.body.clientWidth"), name
    assert browser.evaluate("document.images.length") == len(figures)


def test_key_sections_and_tables_render(browser):
    ids = browser.evaluate("[...document.querySelectorAll('main > section')].map(s => s.id)")
    assert ids == SECTIONS
    headings = browser.evaluate("[...document.querySelectorAll('section > h2')]"
                                ".map(h => h.innerText)")
    assert any("Summary" in h for h in headings) and any("Methods" in h for h in headings)
    findings = browser.evaluate("document.querySelector('#findings ul.findings').innerText")
    assert "Total empathy of the students answering in year 3 was" in findings
    assert "points lower" in findings
    page_one = browser.evaluate("document.querySelector('#summary').innerText")
    assert "What you can conclude" in page_one and "What you cannot conclude" in page_one
    assert browser.evaluate("document.querySelectorAll('#summary .card').length") == 3
    tables = browser.evaluate("[...document.querySelectorAll('table[data-table]')]"
                              ".map(t => [t.dataset.table, t.rows.length])")
    by_name = dict(tables)
    for name in ("scores_by_time", "change_vs_reference", "reliability_by_time",
                 "item_change", "provenance"):
        assert by_name.get(name, 0) > 1, name
    text = browser.evaluate("document.body.innerText")
    assert 'w&<>"omen' in text  # shown as text, not markup
    assert "suppressed: fewer than 10 respondents" in text


def test_prints_to_pdf(browser):
    pdf = browser.call("Page.printToPDF", printBackground=True, preferCSSPageSize=True)
    data = base64.b64decode(pdf["data"])
    assert data[:5] == b"%PDF-"
    pages = data.count(b"/Type /Page") - data.count(b"/Type /Pages")
    # page one (the summary) stands alone, the appendix starts on a new page
    assert pages >= 6
    assert b"/MediaBox [0 0 612 792]" in data  # --paper letter (CSS @page size)
