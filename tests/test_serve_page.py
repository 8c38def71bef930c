"""`digits serve` as a user meets it: the real command on a free port, the page in headless Chromium.

The browser is Debian's `chromium` driven by Playwright. Without it these tests
skip with the reason, except where DIGITS_REQUIRE_BROWSER=1 (CI) says they must run.
"""

from __future__ import annotations

import json
import math
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from conftest import invoke

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
PHONE = {"width": 390, "height": 844}


class Served:
    """A running `digits serve` process and the URL it printed."""

    def __init__(self, model: Path, *args: str):
        digits = Path(sys.executable).with_name("digits")
        self.process = subprocess.Popen([str(digits), "serve", "--model", str(model), *args],
                                        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.first_line = self.process.stdout.readline()  # printed once the port is open
        found = re.search(r"http://\S+/", self.first_line)
        assert found, self.first_line + self.process.stderr.read()
        self.url = found.group(0)

    def get(self, path: str) -> dict:
        with urllib.request.urlopen(self.url + path.lstrip("/"), timeout=10) as response:
            return json.load(response)

    def stop(self, signum: int) -> tuple[int, str, float]:
        """Send `signum`; (exit code, stderr, seconds it took to stop)."""
        started = time.monotonic()
        self.process.send_signal(signum)
        _, stderr = self.process.communicate(timeout=20)
        return self.process.returncode, stderr, time.monotonic() - started


@pytest.mark.parametrize("signum, code, message", [(signal.SIGINT, 130, "Stopped by Ctrl-C."), (signal.SIGTERM, 143, "Stopped by SIGTERM.")])
def test_serve_prints_its_url_answers_and_stops_on_a_signal(tiny_model, signum, code, message):
    served = Served(tiny_model, "--port", "0")
    assert re.fullmatch(r"Serving on http://127\.0\.0\.1:\d+/ \(Ctrl-C to stop\)\n", served.first_line)
    assert served.get("/api/health")["status"] == "ok"
    exit_code, stderr, seconds = served.stop(signum)
    assert exit_code == code
    assert stderr.splitlines() == [f"Model: {tiny_model} (LiteRT)", message]
    assert seconds < 5


def test_all_interfaces_print_the_lan_address_and_a_warning(tiny_model):
    served = Served(tiny_model, "--host", "0.0.0.0", "--port", "0")
    assert re.match(r"Serving on all interfaces: http://127\.0\.0\.1:\d+/ on this machine", served.first_line)
    assert served.get("/api/health")["status"] == "ok"
    _, stderr, _ = served.stop(signal.SIGTERM)
    assert "Warning: the page and the API are reachable from your network, without a password." in stderr


def test_a_port_in_use_is_a_one_line_error(tiny_model):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        result = invoke("serve", "--model", str(tiny_model), "--port", str(port))
    assert result.exit_code == 1
    assert result.stderr == f"Error: cannot listen on 127.0.0.1:{port}: Address already in use; choose another --port\n"


def test_a_missing_model_is_a_one_line_error():
    result = invoke("serve", "--model", "missing.keras", "--port", "0")
    assert result.exit_code == 1
    assert result.stderr == "Error: model file missing.keras does not exist\n"


# --- the page in a real browser ------------------------------------------------------------------


@pytest.fixture(scope="module")
def browser():
    reason = None
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        reason = "Playwright for Python is not installed (pip install playwright)"
    if reason is None and not shutil.which(CHROMIUM):
        reason = f"no Chromium at {CHROMIUM} (apt-get install chromium)"
    if reason:
        if os.environ.get("DIGITS_REQUIRE_BROWSER") == "1":
            pytest.fail(f"DIGITS_REQUIRE_BROWSER=1 but {reason}")
        pytest.skip(reason)
    from playwright.sync_api import expect

    expect.set_options(timeout=15_000)  # a busy CI machine may take seconds to answer
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture(scope="module")
def server(digit_model):
    served = Served(digit_model, "--port", "0")
    yield served
    served.stop(signal.SIGTERM)


# Counts the page's requests: how many, and how many at once.
COUNT_FETCHES = """
window.flights = {now: 0, most: 0, total: 0};
const realFetch = window.fetch;
window.fetch = async (...args) => {
  const f = window.flights; f.now++; f.total++; f.most = Math.max(f.most, f.now);
  try { const r = await realFetch(...args); await r.clone().text(); return r; } finally { f.now--; }
};
"""


@pytest.fixture
def page(browser, server):
    context = browser.new_context(viewport=PHONE, has_touch=True)
    tab = context.new_page()
    tab.add_init_script(COUNT_FETCHES)
    tab.goto(server.url)
    yield tab
    context.close()


def one(box, steps=24):
    """A slightly slanted vertical stroke down the middle."""
    x, y, w, h = box["x"], box["y"], box["width"], box["height"]
    return [(x + w * (0.53 - 0.06 * t / steps), y + h * (0.18 + 0.64 * t / steps)) for t in range(steps + 1)]


def zero(box, steps=40):
    """An upright ellipse, closed."""
    x, y, w, h = box["x"], box["y"], box["width"], box["height"]
    return [(x + w * (0.5 + 0.24 * math.sin(2 * math.pi * t / steps)), y + h * (0.5 - 0.33 * math.cos(2 * math.pi * t / steps)))
            for t in range(steps + 3)]


def draw_with_mouse(page, points):
    page.mouse.move(*points[0])
    page.mouse.down()
    for point in points[1:]:
        page.mouse.move(*point)
        page.wait_for_timeout(8)
    page.mouse.up()


def draw_with_touch(page, points):
    cdp = page.context.new_cdp_session(page)
    touch = lambda kind, point: cdp.send("Input.dispatchTouchEvent", {
        "type": kind, "touchPoints": [{"x": point[0], "y": point[1]}] if point else []})
    touch("touchStart", points[0])
    for point in points[1:]:
        touch("touchMove", point)
        page.wait_for_timeout(8)
    touch("touchEnd", None)


def test_the_page_fits_a_phone_and_a_finger_draws_instead_of_scrolling(page):
    from playwright.sync_api import expect

    expect(page.locator("#prediction")).to_have_text("")
    assert page.eval_on_selector("#pad", "pad => getComputedStyle(pad).touchAction") == "none"
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    assert page.evaluate("document.documentElement.scrollHeight") <= PHONE["height"]  # no scrolling to the bars
    box = page.locator("#pad").bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"] and box["width"] >= 250
    draw_with_touch(page, one(box))
    expect(page.locator("#prediction")).to_have_text("1")
    assert page.evaluate("window.scrollY") == 0


def test_a_mouse_draws_a_one_then_a_zero_with_one_request_at_a_time(page):
    from playwright.sync_api import expect

    prediction = page.locator("#prediction")
    box = page.locator("#pad").bounding_box()
    draw_with_mouse(page, one(box))
    expect(prediction).to_have_text("1")
    assert re.fullmatch(r"\d+\.\d % sure", page.locator("#confidence").text_content())
    # ten bars, the predicted one the longest, and the 28x28 input drawn (ink across its middle row)
    widths = page.eval_on_selector_all("#bars .fill", "fills => fills.map(f => parseFloat(f.style.width))")
    assert len(widths) == 10 and widths.index(max(widths)) == 1
    middle = page.evaluate("Array.from(document.getElementById('seen').getContext('2d').getImageData(0, 14, 28, 1).data)")
    assert max(middle[0::4]) > 200 and middle[0] == 0
    page.click("#clear")
    expect(prediction).to_have_text("")
    assert page.locator("#hint").text_content().startswith("Draw a digit")
    draw_with_mouse(page, zero(box))
    expect(prediction).to_have_text("0")
    flights = page.evaluate("window.flights")
    assert flights["most"] == 1  # never two requests at once
    assert 2 <= flights["total"] < len(one(box)) + len(zero(box))  # debounced, not one per move
    page.keyboard.press("Escape")
    expect(prediction).to_have_text("")
    page.wait_for_function("window.flights.now === 0")  # an answer still on its way when clearing...
    page.wait_for_timeout(100)
    expect(prediction).to_have_text("")  # ...is dropped, not shown on the blank pad


def test_two_digits_side_by_side_get_the_note_digits_predict_gives(page):
    from playwright.sync_api import expect

    x, y, w, h = (page.locator("#pad").bounding_box()[k] for k in ("x", "y", "width", "height"))
    for left in (0.2, 0.8):
        draw_with_mouse(page, [(x + w * left, y + h * (0.25 + 0.5 * t / 20)) for t in range(21)])
    expect(page.locator("#hint")).to_have_text("more than one digit? predicting the largest")
    expect(page.locator("#prediction")).to_have_text("1")
