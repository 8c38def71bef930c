"""Latency of `digits serve`: POST /api/predict with a 280x280 canvas PNG, 1 and 8 concurrent clients.

Starts the real `digits serve` on 127.0.0.1 (a free port, nothing else), sends
the PNG a drawing pad sends, and reports p50/p95 latency, predictions/s and the
server's CPU time per request (its process and its workers) per concurrency
level, beside `digits predict one.png` run as a whole process. Bounded:
--requests per level and --seconds per level, whichever ends first. It also
times each stage of a request's preparation in this process (against the full
route of a photo as the reference) and prints the load average, so that a run
on a shared machine can still be read.

    python benchmarks/serve.py --model models/digits.keras
"""

from __future__ import annotations

import argparse
import http.client
import io
import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
from PIL import Image

from digitcli import data, predict, preprocess

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
    connection.connect()
    # As browsers do: http.client sends the headers and the body in two writes, and without this the
    # body waits for the server's delayed ACK of the headers (Nagle's algorithm), about 40 ms a request.
    connection.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
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


def cpu_seconds(pid: int) -> float:
    """CPU time of a process and its children (the server's preparing workers), from /proc (Linux); 0 elsewhere."""
    total = 0.0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:  # gone meanwhile
            continue
        if int(stat.parent.name) == pid or int(fields[1]) == pid:
            total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


def level(port: int, body: bytes, clients: int, requests: int, seconds: float, server_pid: int = 0) -> dict:
    latencies: list[float] = []
    cpu_before = cpu_seconds(server_pid) if server_pid else 0.0
    deadline = time.perf_counter() + seconds
    threads = [threading.Thread(target=client, args=(port, body, requests // clients, deadline, latencies)) for _ in range(clients)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - started
    ms = np.array(latencies) * 1000
    cpu_ms = (cpu_seconds(server_pid) - cpu_before) * 1000 / len(ms) if server_pid else float("nan")
    return {"clients": clients, "n": len(ms), "p50": np.percentile(ms, 50), "p95": np.percentile(ms, 95), "rate": len(ms) / wall,
            "cpu": cpu_ms}


def stages(png: bytes, model: str, runs: int = 200) -> list[tuple[str, float]]:
    """Median ms of each stage of a request's work, in this process, interleaved so that load falls on all alike."""
    classifier = predict.open_classifier(Path(model), threads=1)
    image = preprocess.open_image(png)
    x = preprocess.to_mnist(image)[None]
    flat = preprocess._flat_paper

    def full_route():
        preprocess._flat_paper = lambda image: None  # as a photo is prepared: background fit over the whole image
        try:
            preprocess.to_mnist(image)
        finally:
            preprocess._flat_paper = flat

    steps = {
        "decode the PNG (`preprocess.open_image`)": lambda: preprocess.open_image(png),
        "prepare it (`preprocess.to_mnist`; a canvas takes the flat-paper route)": lambda: preprocess.to_mnist(image),
        "run the model on it": lambda: classifier.probabilities(x),
        "all of it (`predict.predict_sources`)": lambda: predict.predict_sources(classifier, [("pad.png", png)], 10),
        "reference: the full route of a photo (`to_mnist` without the flat-paper route)": full_route,
    }
    times = {name: [] for name in steps}
    for _ in range(runs):
        for name, step in steps.items():
            started = time.perf_counter()
            step()
            times[name].append(time.perf_counter() - started)
    return [(name, float(np.median(t)) * 1000) for name, t in times.items()]


# In the page: when each stroke ended, and when each request was sent and its answer shown (the bars are
# redrawn in the task that reads the answer, so a task queued after it runs once they are).
ROUND_TRIP = """
window.times = {up: 0, answers: []};
document.addEventListener("pointerup", () => { window.times.up = performance.now(); }, true);
const realFetch = window.fetch;
window.fetch = async (...args) => {
  const sent = performance.now();
  const response = await realFetch(...args);
  const copy = response.clone();
  copy.text().then(() => setTimeout(() => { window.times.answers.push({sent, shown: performance.now()}); }, 0));
  return response;
};
"""
# The answer about the finished drawing: the first one asked for after the stroke ended.
FINAL_ANSWER = "(() => { const a = window.times.answers.find((a) => a.sent >= window.times.up); return a ? a.shown - window.times.up : null; })()"


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
            waited = 0
            while (elapsed := page.evaluate(FINAL_ANSWER)) is None:
                if waited > 10_000:
                    raise RuntimeError("the page showed no answer about the finished stroke within 10 s")
                page.wait_for_timeout(20)
                waited += 20
            times.append(elapsed)
            page.wait_for_timeout(200)  # a pause between strokes, as a person makes
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
    load_before = os.getloadavg()
    stage_ms = stages(png, args.model)
    server = subprocess.Popen([str(digits), "serve", "--model", args.model, "--port", "0"],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = server.stdout.readline()
        port = int(re.search(r"http://127\.0\.0\.1:(\d+)/", line).group(1))
        level(port, body, 8, 40, 10)  # warm-up: the first requests allocate the interpreter's tensors
        results = [level(port, body, clients, args.requests, args.seconds, server.pid) for clients in (1, 8)]
        strokes = browser_round_trips(f"http://127.0.0.1:{port}/", args.browser_strokes) if args.browser_strokes else []
    finally:
        server.send_signal(signal.SIGINT)
        server.wait(timeout=20)
    with tempfile.TemporaryDirectory() as tmp:
        one = Path(tmp) / "one.png"
        one.write_bytes(png)
        process_ms = whole_process(digits, args.model, one, args.process_runs)

    load_after = os.getloadavg()
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    print(f"canvas PNG: 280x280, {len(png):,} bytes; model {args.model}; {cores} cores")
    print(f"load average (1, 5, 15 min): {', '.join(f'{v:.2f}' for v in load_before)} before, "
          f"{', '.join(f'{v:.2f}' for v in load_after)} after; goals are for an otherwise idle machine")
    print()
    print("| clients | requests | p50 | p95 | predictions/s | server CPU per request | p50 as a fraction of `digits predict one.png` |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for r in results:
        print(f"| {r['clients']} | {r['n']} | {r['p50']:.1f} ms | {r['p95']:.1f} ms | {r['rate']:.0f} | {r['cpu']:.1f} ms "
              f"| {r['p50'] / process_ms:.4f} |")
    print(f"| `digits predict one.png`, whole process | {args.process_runs} | {process_ms:.0f} ms (median) | | {1000 / process_ms:.2f} | | 1 |")
    print()
    reference = stage_ms[-1][1]
    print("| stage, in this process (median) | ms | fraction of the full route |")
    print("| --- | --- | --- |")
    for name, ms in stage_ms:
        print(f"| {name} | {ms:.2f} | {ms / reference:.3f} |")
    print()
    if strokes:
        print(f"End of a stroke to the page's updated answer in headless Chromium, {len(strokes)} strokes: "
              f"median {np.median(strokes):.0f} ms, p95 {np.percentile(strokes, 95):.0f} ms, "
              f"{np.median(strokes) / process_ms:.3f} of `digits predict one.png`")
    one, eight = results
    goals = [("p95 with 1 client <= 20 ms", one["p95"], 20), ("p95 with 8 clients <= 50 ms", eight["p95"], 50)]
    if strokes:
        goals.append(("end of a stroke to updated bars < 100 ms (p95)", float(np.percentile(strokes, 95)), 100))
    for goal, value, limit in goals:
        print(f"goal {goal}: {value:.1f} ms, {'met' if value <= limit else 'MISSED'}")


if __name__ == "__main__":
    main()
