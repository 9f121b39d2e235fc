#!/usr/bin/env python3
"""Loads an HTML page in headless Chromium and reports what a person would
see, for the report tests (standard library only).

  browser_page.py PAGE.html SCREENSHOT.png > result.json

Drives Chromium through its DevTools protocol over a pipe
(--remote-debugging-pipe: NUL-separated JSON on fds 3 and 4), so no
WebSocket library and no port is needed. Every wait is on a protocol
reply or event, bounded by a deadline.

result.json holds:
  console_errors  console errors, uncaught exceptions and error log entries
  requests        every URL the page asked for (the page itself included)
  dom             what the page says: data-stat cells, its JSON block, hot
                  PCs, regions, facts
  plots           per svg.plot id: its size, its marks, spans and ticks,
                  and the colours of its coloured pixels in the screenshot
                  (not white, grey or black) with their counts
"""
import base64
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import zlib

DEADLINE_S = 120  # chromium starts slowly on a loaded host


class Browser:
    def __init__(self, user_dir):
        exe = os.environ.get("CHROMIUM", "/usr/bin/chromium")
        # Chromium reads commands on fd 3 and writes replies on fd 4.
        self.cmd_r, self.cmd_w = os.pipe()
        self.out_r, self.out_w = os.pipe()
        args = [exe, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--disable-dev-shm-usage", "--hide-scrollbars", "--remote-debugging-pipe",
                "--user-data-dir=" + user_dir, "about:blank"]

        def fds():
            # Through fresh fds first: a pipe end may already be 3 or 4.
            r, w = os.dup(self.cmd_r), os.dup(self.out_w)
            os.dup2(r, 3)
            os.dup2(w, 4)
            os.set_inheritable(3, True)  # os.pipe's fds are close-on-exec
            os.set_inheritable(4, True)

        self.proc = subprocess.Popen(args, preexec_fn=fds, close_fds=False,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        os.close(self.cmd_r)
        os.close(self.out_w)
        self.buf = b""
        self.next_id = 0
        self.events = []
        self.deadline = time.monotonic() + DEADLINE_S

    def _read_message(self):
        while b"\0" not in self.buf:
            if time.monotonic() > self.deadline:
                raise SystemExit("browser_page: no reply from chromium within %d s" % DEADLINE_S)
            chunk = os.read(self.out_r, 1 << 20)
            if not chunk:
                raise SystemExit("browser_page: chromium closed the pipe (exit %s)" % self.proc.poll())
            self.buf += chunk
        msg, self.buf = self.buf.split(b"\0", 1)
        return json.loads(msg)

    def send(self, method, params=None, session=None):
        self.next_id += 1
        msg = {"id": self.next_id, "method": method, "params": params or {}}
        if session:
            msg["sessionId"] = session
        os.write(self.cmd_w, json.dumps(msg).encode() + b"\0")
        while True:
            m = self._read_message()
            if m.get("id") == self.next_id:
                if "error" in m:
                    raise SystemExit("browser_page: %s: %s" % (method, m["error"]))
                return m.get("result", {})
            self.events.append(m)

    def wait_event(self, method):
        for i, m in enumerate(self.events):
            if m.get("method") == method:
                return self.events.pop(i)
        while True:
            m = self._read_message()
            if m.get("method") == method:
                return m
            self.events.append(m)

    def close(self):
        try:
            self.send("Browser.close")
        except (SystemExit, OSError):
            pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def png_pixels(data):
    """(width, height, channels, rows) of an 8-bit RGB/RGBA PNG."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, idat, width = 8, b"", 0
    while pos < len(data):
        n = int.from_bytes(data[pos:pos + 4], "big")
        kind = data[pos + 4:pos + 8]
        body = data[pos + 8:pos + 8 + n]
        if kind == b"IHDR":
            width, height = int.from_bytes(body[0:4], "big"), int.from_bytes(body[4:8], "big")
            depth, ctype, interlace = body[8], body[9], body[12]
            assert depth == 8 and ctype in (2, 6) and interlace == 0, "unexpected PNG layout"
            ch = 4 if ctype == 6 else 3
        elif kind == b"IDAT":
            idat += body
        pos += 12 + n
    raw = zlib.decompress(idat)
    stride = width * ch
    rows, prev = [], bytearray(stride)
    for y in range(height):
        f = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        if f == 1:
            for i in range(ch, stride):
                line[i] = (line[i] + line[i - ch]) & 255
        elif f == 2:
            line = bytearray((a + b) & 255 for a, b in zip(line, prev))
        elif f == 3:
            for i in range(stride):
                left = line[i - ch] if i >= ch else 0
                line[i] = (line[i] + ((left + prev[i]) >> 1)) & 255
        elif f == 4:
            for i in range(stride):
                a = line[i - ch] if i >= ch else 0
                b, c = prev[i], prev[i - ch] if i >= ch else 0
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        rows.append(line)
        prev = line
    return width, height, ch, rows


def coloured_pixels(png):
    """{"#rrggbb": count} of the pixels whose channels differ by more than
    60: drawn data, not the white background, the grey frame or black text."""
    w, h, ch, rows = png_pixels(png)
    counts = {}
    for line in rows:
        for x in range(0, w * ch, ch):
            r, g, b = line[x], line[x + 1], line[x + 2]
            if max(r, g, b) - min(r, g, b) > 60:
                key = "#%02x%02x%02x" % (r, g, b)
                counts[key] = counts.get(key, 0) + 1
    return counts


EXTRACT = r"""
(() => {
  const cells = {};
  for (const td of document.querySelectorAll('[data-stat]')) {
    const core = td.dataset.core;
    cells[core] = cells[core] || {};
    cells[core][td.dataset.stat] = td.textContent.trim();
  }
  const block = document.getElementById('report-data');
  const hot = [...document.querySelectorAll('#hot-pcs tr[data-pc]')].map(tr => ({
    pc: tr.dataset.pc, count: tr.dataset.count, text: tr.innerText,
    symbol: tr.querySelector('.symbol').textContent}));
  const regions = [...document.querySelectorAll('#regions tr.region')].map(tr =>
    [...tr.cells].map(td => td.textContent.trim()));
  const facts = {};
  for (const tr of document.querySelectorAll('#facts tr')) facts[tr.cells[0].textContent] = tr.cells[1].textContent;
  const plots = [...document.querySelectorAll('svg.plot')].map(s => {
    const r = s.getBoundingClientRect();
    return {id: s.id, x: r.left + window.scrollX, y: r.top + window.scrollY, width: r.width, height: r.height,
            marks: s.querySelectorAll('.mark').length, spans: s.querySelectorAll('.span').length,
            ticks: s.querySelectorAll('.tick').length};
  });
  const mix = {};
  for (const td of document.querySelectorAll('#mix td[data-mix]')) {
    const core = td.dataset.core;
    mix[core] = mix[core] || {};
    mix[core][td.dataset.mix] = td.textContent;
  }
  return JSON.stringify({cells, data: block ? JSON.parse(block.textContent) : null, hot, regions, facts, plots, mix,
                         title: document.title, height: document.documentElement.scrollHeight});
})()
"""


def main():
    if len(sys.argv) != 3:
        raise SystemExit("usage: browser_page.py PAGE.html SCREENSHOT.png")
    page = os.path.abspath(sys.argv[1])
    if not os.path.isfile(page):
        raise SystemExit("browser_page: %s: no such file" % page)
    user_dir = tempfile.mkdtemp(prefix="qt-chromium-")
    b = Browser(user_dir)
    try:
        target = b.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        s = b.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        for domain in ("Page", "Runtime", "Log", "Network"):
            b.send(domain + ".enable", session=s)
        b.send("Emulation.setDeviceMetricsOverride",
               {"width": 1100, "height": 900, "deviceScaleFactor": 1, "mobile": False}, session=s)
        url = "file://" + page
        nav = b.send("Page.navigate", {"url": url}, session=s)
        if nav.get("errorText"):
            raise SystemExit("browser_page: navigation failed: " + nav["errorText"])
        b.wait_event("Page.loadEventFired")
        dom = json.loads(b.send("Runtime.evaluate", {"expression": EXTRACT, "returnByValue": True},
                                session=s)["result"]["value"])
        # Lay the whole page out in one viewport so one screenshot holds it.
        b.send("Emulation.setDeviceMetricsOverride",
               {"width": 1100, "height": int(dom["height"]), "deviceScaleFactor": 1, "mobile": False}, session=s)
        shot = base64.b64decode(b.send("Page.captureScreenshot", {"format": "png"}, session=s)["data"])
        with open(sys.argv[2], "wb") as f:
            f.write(shot)
        plots = {}
        for p in dom["plots"]:
            clip = {"x": p["x"], "y": p["y"], "width": p["width"], "height": p["height"], "scale": 1}
            png = base64.b64decode(b.send("Page.captureScreenshot", {"format": "png", "clip": clip}, session=s)["data"])
            plots[p["id"]] = dict(p, coloured=coloured_pixels(png))
        # Events that arrived while we worked: console, exceptions, log, network.
        errors, requests = [], []
        for m in b.events:
            meth, par = m.get("method"), m.get("params", {})
            if meth == "Runtime.consoleAPICalled" and par.get("type") in ("error", "assert"):
                errors.append("console: " + " ".join(str(a.get("value", a.get("description", ""))) for a in par["args"]))
            elif meth == "Runtime.exceptionThrown":
                errors.append("exception: " + par["exceptionDetails"].get("text", ""))
            elif meth == "Log.entryAdded" and par["entry"].get("level") == "error":
                errors.append("log: " + par["entry"].get("text", ""))
            elif meth == "Network.requestWillBeSent":
                requests.append(par["request"]["url"])
        json.dump({"console_errors": errors, "requests": requests, "dom": dom, "plots": plots}, sys.stdout, indent=1)
        print()
    finally:
        b.close()
        shutil.rmtree(user_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
