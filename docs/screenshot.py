"""Take docs/serve.png: `digits serve` in headless Chromium at a phone's size, after drawing a 3.

    digits serve --port 8123 &   # then:
    python docs/screenshot.py http://127.0.0.1:8123/ docs/serve.png
"""

import math
import sys

from playwright.sync_api import expect, sync_playwright

ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]


def three(box, steps=30):
    """One stroke: an upper arc to the middle, then a lower arc, like a hand-drawn 3."""
    x, y, w, h = box["x"], box["y"], box["width"], box["height"]
    arcs = [((0.5, 0.32), (0.17, 0.14), -150, 90), ((0.5, 0.62), (0.2, 0.16), -90, 150)]
    points = []
    for (cx, cy), (rx, ry), start, stop in arcs:
        for t in range(steps + 1):
            angle = math.radians(start + (stop - start) * t / steps)
            points.append((x + w * (cx + rx * math.cos(angle)), y + h * (cy + ry * math.sin(angle))))
    return points


def main(url: str, output: str) -> None:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
        page = browser.new_page(viewport={"width": 390, "height": 720}, device_scale_factor=2)
        page.goto(url)
        box = page.locator("#pad").bounding_box()
        points = three(box)
        page.mouse.move(*points[0])
        page.mouse.down()
        for point in points[1:]:
            page.mouse.move(*point)
            page.wait_for_timeout(10)
        page.mouse.up()
        expect(page.locator("#prediction")).not_to_have_text("")
        page.wait_for_timeout(500)
        page.screenshot(path=output, full_page=True)
        print(page.locator("#prediction").text_content(), page.locator("#confidence").text_content())
        browser.close()


if __name__ == "__main__":
    main(*sys.argv[1:3])
