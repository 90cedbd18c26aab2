"""A small headless-Chromium driver over the DevTools protocol (tests only): open a page, collect what went wrong.

Chromium is the Debian package (``make browser`` installs it); the protocol is spoken with
``websocket-client`` (a dependency of Jupyter's server, declared in the dev group). Each page is
opened in a fresh tab with the network watched: any request that is not for the page itself (or
a ``data:`` URI in it) is recorded, as are console errors and uncaught exceptions. The page is then
measured (tables wider than the page, text that looks like a traceback or a missing value) and a
full-page screenshot is saved.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import socket
import subprocess
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["chromium_path", "Browser", "PageReport", "run_pages", "check_run", "CHECKS_DIR"]

CHECKS_DIR = "checks"
"""Where the screenshots of a run's pages are kept, in the run folder, for a person to look at."""

_MEASURE = r"""
(() => {
  const width = document.documentElement.clientWidth;
  const body = document.body;
  const bodyRight = body.getBoundingClientRect().right;
  const wide = [];
  for (const table of document.querySelectorAll('table')) {
    const box = table.getBoundingClientRect();
    const parent = table.parentElement.getBoundingClientRect();
    if (box.right > Math.min(width, bodyRight) + 1 || table.scrollWidth > table.clientWidth + 1 || box.width > parent.width + 1) {
      wide.push((table.caption ? table.caption.innerText : table.innerText).slice(0, 80));
    }
  }
  const cells = [];
  for (const cell of document.querySelectorAll('td, th')) {
    const text = cell.innerText.trim();
    if (/^(nan|NaN|None|<NA>|NaT|null|undefined)$/.test(text)) cells.push(text);
  }
  // A header cell's words: none may be split over two lines ("Ontbreken" / "d"), none may stick out of its cell.
  // A break after a hyphen or slash is a break between words.
  const split = [];
  for (const cell of document.querySelectorAll('th')) {
    let broken = cell.scrollWidth > cell.clientWidth + 1;
    const walker = document.createTreeWalker(cell, NodeFilter.SHOW_TEXT);
    for (let node = walker.nextNode(); node && !broken; node = walker.nextNode()) {
      const pattern = /[^\s\-\/–]+/g;
      for (let match = pattern.exec(node.data); match && !broken; match = pattern.exec(node.data)) {
        const range = document.createRange();
        range.setStart(node, match.index);
        range.setEnd(node, match.index + match[0].length);
        const tops = new Set([...range.getClientRects()].filter(r => r.width > 0).map(r => Math.round(r.top)));
        if (tops.size > 1) broken = true;
      }
    }
    if (broken) split.push(cell.innerText.trim().slice(0, 60));
  }
  const text = body.innerText;
  const clone = body.cloneNode(true);
  for (const code of clone.querySelectorAll('code, pre, style, script')) code.remove();
  document.documentElement.appendChild(clone);  // innerText needs a rendered node
  clone.style.position = 'absolute'; clone.style.left = '-99999px';
  const prose = clone.innerText;
  clone.remove();
  return {
    title: document.title,
    lang: document.documentElement.lang,
    wide: wide,
    missing_cells: cells,
    split_headers: split,
    text: text,
    prose: prose,
    page_width: width,
    scroll_width: document.documentElement.scrollWidth,
    height: Math.max(document.documentElement.scrollHeight, body.scrollHeight),
  };
})()
"""


def chromium_path() -> str | None:
    """The Chromium executable (Debian: ``chromium``), or None."""
    for name in ("chromium", "chromium-browser", "google-chrome", "chrome"):
        found = shutil.which(name)
        if found:
            return found
    return None


@dataclass
class PageReport:
    """What one page did in the browser."""

    url: str
    console_errors: list[str] = field(default_factory=list)
    exceptions: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)
    """Every request other than the page itself and data: URIs (should be none: reports work offline)."""
    wide_tables: list[str] = field(default_factory=list)
    missing_cells: list[str] = field(default_factory=list)
    split_headers: list[str] = field(default_factory=list)
    """Header cells with a word split over two lines, or sticking out of the cell."""
    text: str = ""
    prose: str = ""
    """The text without file names and code (``<code>``, ``<pre>``): what is read as sentences and labels."""
    lang: str = ""
    title: str = ""
    page_width: int = 0
    scroll_width: int = 0


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Browser:
    """One headless Chromium for a test session; `open` a page, get a `PageReport` and a screenshot."""

    def __init__(self, executable: str, *, width: int = 1000, height: int = 1400) -> None:
        self.width, self.height = width, height
        self.profile = tempfile.mkdtemp(prefix="ponzoni-chromium-")
        self.port = _free_port()
        self.process = subprocess.Popen(
            [
                executable, "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--no-first-run", "--no-default-browser-check", "--disable-extensions", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--metrics-recording-only", "--hide-scrollbars",
                f"--user-data-dir={self.profile}", f"--remote-debugging-port={self.port}", "--remote-allow-origins=*",
                f"--window-size={width},{height}", "about:blank",
            ],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/json/version", timeout=2) as answer:
                    json.load(answer)
                break
            except OSError:
                if time.monotonic() > deadline or self.process.poll() is not None:
                    self.close()
                    raise RuntimeError("Chromium did not start its DevTools endpoint")
                time.sleep(0.2)

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
        shutil.rmtree(self.profile, ignore_errors=True)

    def __enter__(self) -> "Browser":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def _new_tab(self) -> dict[str, Any]:
        request = urllib.request.Request(f"http://127.0.0.1:{self.port}/json/new?about:blank", method="PUT")
        with urllib.request.urlopen(request, timeout=10) as answer:
            return json.load(answer)

    def _close_tab(self, target: str) -> None:
        with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/json/close/{target}", timeout=10):
            pass

    def open(self, path: Path, screenshot: Path | None = None, *, root: Path | None = None, timeout: float = 60.0) -> PageReport:
        """Load a local file, wait until it has loaded, measure it and save a full-page PNG screenshot.

        A request for a file under `root` (the run folder: the index shows the run's figures) is the page
        reading its own folder; any other request (http, https, a file elsewhere) is recorded.
        """
        import websocket

        url = Path(path).resolve().as_uri()
        allowed = Path(root).resolve().as_uri() + "/" if root is not None else None
        tab = self._new_tab()
        connection = websocket.create_connection(tab["webSocketDebuggerUrl"], timeout=timeout, suppress_origin=True)
        report = PageReport(url)
        counter = [0]
        pending: dict[int, Any] = {}
        loaded = [False]

        def handle(message: dict[str, Any]) -> None:
            method = message.get("method")
            params = message.get("params", {})
            if method == "Network.requestWillBeSent":
                requested = params["request"]["url"]
                if requested != url and not requested.startswith("data:") and not (allowed and requested.startswith(allowed)):
                    report.requests.append(requested)
            elif method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
                report.console_errors.append(" ".join(str(a.get("value", a.get("description", ""))) for a in params.get("args", [])))
            elif method == "Log.entryAdded" and params.get("entry", {}).get("level") == "error":
                report.console_errors.append(params["entry"].get("text", ""))
            elif method == "Runtime.exceptionThrown":
                details = params.get("exceptionDetails", {})
                report.exceptions.append(details.get("exception", {}).get("description", details.get("text", "")))
            elif method == "Page.loadEventFired":
                loaded[0] = True

        def call(method: str, **params: Any) -> dict[str, Any]:
            counter[0] += 1
            ident = counter[0]
            connection.send(json.dumps({"id": ident, "method": method, "params": params}))
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                message = json.loads(connection.recv())
                if message.get("id") == ident:
                    if "error" in message:
                        raise RuntimeError(f"{method}: {message['error']}")
                    return message.get("result", {})
                handle(message)
            raise TimeoutError(method)

        try:
            for domain in ("Page", "Runtime", "Network", "Log"):
                call(f"{domain}.enable")
            call("Emulation.setDeviceMetricsOverride", width=self.width, height=self.height, deviceScaleFactor=1, mobile=False)
            call("Page.navigate", url=url)
            deadline = time.monotonic() + timeout
            while not loaded[0] and time.monotonic() < deadline:
                handle(json.loads(connection.recv()))
            if not loaded[0]:
                raise TimeoutError(f"{path} did not load in {timeout} s")
            measured = call("Runtime.evaluate", expression=_MEASURE, returnByValue=True)["result"]["value"]
            report.wide_tables = measured["wide"]
            report.missing_cells = measured["missing_cells"]
            report.split_headers = measured["split_headers"]
            report.text = measured["text"]
            report.prose = measured["prose"]
            report.lang = measured["lang"]
            report.title = measured["title"]
            report.page_width, report.scroll_width = measured["page_width"], measured["scroll_width"]
            if screenshot is not None:
                height = int(min(max(measured["height"], self.height), 16000))
                call("Emulation.setDeviceMetricsOverride", width=self.width, height=height, deviceScaleFactor=1, mobile=False)
                shot = call("Page.captureScreenshot", format="png", captureBeyondViewport=True)
                screenshot.parent.mkdir(parents=True, exist_ok=True)
                screenshot.write_bytes(base64.b64decode(shot["data"]))
        finally:
            connection.close()
            self._close_tab(tab["id"])
        return report


def run_pages(run_dir: Path) -> dict[str, list[Path]]:
    """A run's pages by kind: ``index``, ``report`` (html/<name>.html), ``code`` (html/<name>-code.html), ``document``."""
    html_dir = Path(run_dir) / "html"
    code = sorted(html_dir.glob("*-code.html"))
    return {
        "index": [Path(run_dir) / "index.html"],
        "report": sorted(set(html_dir.glob("*.html")) - set(code)),
        "code": code,
        "document": sorted((Path(run_dir) / "documents").glob("*.html")),
    }


_TRACEBACK = ("Traceback (most recent call last)", "Error:", "Exception:", "UserWarning", "RuntimeWarning", "FutureWarning", "DeprecationWarning")


def check_run(run_dir: Path, browser: Browser) -> dict[str, list[str]]:
    """Open every page of a run, keep a screenshot of each in ``<run>/checks/``, and list what is wrong per page.

    Every page: no console error, no uncaught exception, no network request, no traceback or Python
    warning text, no absolute path of this machine. Reports and documents (for readers): no table wider
    than the page, no ``NaN`` / ``nan`` / ``None`` cell, no header cell with a word split over two lines.
    """
    run_dir = Path(run_dir)
    problems: dict[str, list[str]] = {}
    home = str(Path.cwd().resolve())
    for kind, pages in run_pages(run_dir).items():
        for page in pages:
            name = page.relative_to(run_dir).as_posix()
            found = browser.open(page, run_dir / CHECKS_DIR / (name.replace("/", "__").removesuffix(".html") + ".png"), root=run_dir)
            wrong = [f"console error: {e}" for e in found.console_errors] + [f"exception: {e}" for e in found.exceptions]
            wrong += [f"network request: {r}" for r in found.requests]
            wrong += [f"text: {t}" for t in _TRACEBACK if t in found.text]
            if home in found.text or str(run_dir.resolve()) in found.text:
                wrong.append("an absolute path of this machine")
            if kind in ("report", "document", "index"):
                wrong += [f"table wider than the page: {t}" for t in found.wide_tables]
                if found.scroll_width > found.page_width + 1:
                    wrong.append(f"page scrolls sideways ({found.scroll_width} > {found.page_width} px)")
            if kind in ("report", "document"):
                wrong += [f"missing-value cell: {c}" for c in sorted(set(found.missing_cells))]
                wrong += [f"header split mid-word: {h}" for h in found.split_headers]
            if wrong:
                problems[name] = wrong
    return problems


if __name__ == "__main__":  # pragma: no cover - a person's look: python tests/browser.py RUN_DIR (screenshots in RUN_DIR/checks)
    import sys

    executable = chromium_path()
    if executable is None:
        sys.exit("Chromium is not installed: `make browser` installs the Debian package chromium")
    with Browser(executable) as browser:
        target = Path(sys.argv[1])
        if target.is_dir():
            found_problems = check_run(target, browser)
            print(json.dumps(found_problems, indent=1, ensure_ascii=False))
            print(f"screenshots: {target / CHECKS_DIR}", file=sys.stderr)
            if found_problems:
                os._exit(1)
        else:
            found = browser.open(target, Path(sys.argv[2]) if len(sys.argv) > 2 else None)
            print(json.dumps({k: v for k, v in found.__dict__.items() if k not in ("text", "prose")}, indent=1, ensure_ascii=False))
    os._exit(0)
