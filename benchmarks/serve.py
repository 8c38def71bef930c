"""Latency of `digits serve`: POST /api/predict with a 280x280 canvas PNG, 1 and 8 concurrent clients.

Starts the real `digits serve` on 127.0.0.1 (a free port, nothing else), sends
the PNG a drawing pad sends, and reports p50/p95 latency and predictions/s per
concurrency level, beside `digits predict one.png` run as a whole process.
Bounded: --requests per level and --seconds per level, whichever ends first.

    python benchmarks/serve.py --model models/digits.keras
"""

from __future__ import annotations

import argparse
import http.client
import io
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
from PIL import Image

from digitcli import data

BOUNDARY = "digitsbenchmark"


def canvas_png() -> bytes:
    """A test digit as the page's pad sends it: dark ink on a white 280x280 PNG."""
    digit = data.load("bundled").x_test[0]  # a 7
    image = Image.fromarray(255 - digit).resize((280, 280), Image.Resampling.BILINEAR)
    buffer = io.BytesIO()
    image.convert("RGBA").save(buffer, "PNG")
    return buffer.getvalue()


def multipart(png: bytes) -> bytes:
    head = (f"--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"pad.png\"\r\n"
            "Content-Type: image/png\r\n\r\n").encode()
    return head + png + f"\r\n--{BOUNDARY}--\r\n".encode()


def client(port: int, body: bytes, count: int, deadline: float, latencies: list[float]) -> None:
    """One client on one keep-alive connection, as a browser tab is."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    headers = {"Content-Type": f"multipart/form-data; boundary={BOUNDARY}"}
    for _ in range(count):
        if time.perf_counter() > deadline:
            break
        started = time.perf_counter()
        connection.request("POST", "/api/predict?top_k=10&show_input=true", body, headers)
        response = connection.getresponse()
        payload = response.read()
        latencies.append(time.perf_counter() - started)
        assert response.status == 200, payload
    connection.close()


def level(port: int, body: bytes, clients: int, requests: int, seconds: float) -> dict:
    latencies: list[float] = []
    deadline = time.perf_counter() + seconds
    threads = [threading.Thread(target=client, args=(port, body, requests // clients, deadline, latencies)) for _ in range(clients)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - started
    ms = np.array(latencies) * 1000
    return {"clients": clients, "n": len(ms), "p50": np.percentile(ms, 50), "p95": np.percentile(ms, 95), "rate": len(ms) / wall}


# In the page: when each stroke ended, and when the page's last answer arrived (the bars are redrawn in that task).
ROUND_TRIP = """
window.times = {up: 0, done: 0};
document.addEventListener("pointerup", () => { window.times.up = performance.now(); }, true);
const realFetch = window.fetch;
window.fetch = async (...args) => {
  const response = await realFetch(...args);
  const copy = response.clone();
  copy.text().then(() => setTimeout(() => { window.times.done = performance.now(); }, 0));
  return response;
};
"""


def browser_round_trips(url: str, strokes: int) -> list[float]:
    """ms from the end of a stroke to the page's updated answer, in headless Chromium."""
    from playwright.sync_api import sync_playwright

    args = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", "--no-first-run"]
    times = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=args)
        page = browser.new_page(viewport={"width": 390, "height": 844})
        page.add_init_script(ROUND_TRIP)
        page.goto(url)
        box = page.locator("#pad").bounding_box()
        for i in range(strokes):
            page.keyboard.press("Escape")
            x = box["x"] + box["width"] * (0.45 + 0.1 * (i % 3) / 2)
            page.mouse.move(x, box["y"] + box["height"] * 0.2)
            page.mouse.down()
            for step in range(1, 25):
                page.mouse.move(x, box["y"] + box["height"] * (0.2 + 0.6 * step / 24))
                page.wait_for_timeout(10)
            page.mouse.up()
            page.wait_for_timeout(400)  # long enough for the answer after the stroke's end
            t = page.evaluate("window.times")
            times.append(t["done"] - t["up"])
        browser.close()
    return times


def whole_process(digits: Path, model: str, png: Path, runs: int) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run([str(digits), "predict", str(png), "--model", model], check=True, capture_output=True)
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="models/digits.keras")
    parser.add_argument("--requests", type=int, default=400, help="requests per concurrency level")
    parser.add_argument("--seconds", type=float, default=30, help="at most this long per level")
    parser.add_argument("--process-runs", type=int, default=5, help="runs of `digits predict one.png`")
    parser.add_argument("--browser-strokes", type=int, default=0,
                        help="also time end of stroke -> updated page in headless Chromium (/usr/bin/chromium), this many strokes")
    args = parser.parse_args()

    digits = Path(sys.executable).with_name("digits")
    png = canvas_png()
    body = multipart(png)
    server = subprocess.Popen([str(digits), "serve", "--model", args.model, "--port", "0"],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = server.stdout.readline()
        port = int(re.search(r"http://127\.0\.0\.1:(\d+)/", line).group(1))
        level(port, body, 1, 20, 10)  # warm-up: the first requests allocate the interpreter's tensors
        results = [level(port, body, clients, args.requests, args.seconds) for clients in (1, 8)]
        strokes = browser_round_trips(f"http://127.0.0.1:{port}/", args.browser_strokes) if args.browser_strokes else []
    finally:
        server.send_signal(signal.SIGINT)
        server.wait(timeout=20)
    with tempfile.TemporaryDirectory() as tmp:
        one = Path(tmp) / "one.png"
        one.write_bytes(png)
        process_ms = whole_process(digits, args.model, one, args.process_runs)

    print(f"canvas PNG: 280x280, {len(png):,} bytes; model {args.model}")
    print("| clients | requests | p50 | p95 | predictions/s | p50 as a fraction of `digits predict one.png` |")
    print("| --- | --- | --- | --- | --- | --- |")
    for r in results:
        print(f"| {r['clients']} | {r['n']} | {r['p50']:.1f} ms | {r['p95']:.1f} ms | {r['rate']:.0f} | {r['p50'] / process_ms:.4f} |")
    print(f"| `digits predict one.png`, whole process | {args.process_runs} | {process_ms:.0f} ms (median) | | {1000 / process_ms:.2f} | 1 |")
    if strokes:
        print(f"End of a stroke to the page's updated answer in headless Chromium, {len(strokes)} strokes: "
              f"median {np.median(strokes):.0f} ms, p95 {np.percentile(strokes, 95):.0f} ms, "
              f"{np.median(strokes) / process_ms:.3f} of `digits predict one.png`")


if __name__ == "__main__":
    main()
