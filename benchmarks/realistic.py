"""Accuracy on user-style digit images: plain resize vs `digitcli.preprocess`.

Builds a seeded set of images that look like what users feed `digits
predict` (dark ink on paper, large and off-centre, thin pens, uneven light,
noise, JPEG, transparency, small icons, hand-made strokes, fonts), writes
them as real files in a temporary directory, reads them back through
`preprocess.load` and `preprocess.plain_resize`, and reports the model's
accuracy on both, per style. The MNIST-based styles use MNIST *test* digits,
redrawn, never as they are.

    python benchmarks/realistic.py --model models/digits.keras --n 200

Writes benchmarks/realistic.md. Only `main` imports TensorFlow (through
digitcli.store), so tests can use the generator alone.
"""

from __future__ import annotations

import argparse
import os
import importlib.util
import json
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

from digitcli import preprocess

sys.path.insert(0, str(Path(__file__).resolve().parent))
import scenes  # noqa: E402  (benchmarks/scenes.py: phone photos of paper)

FORMATS = {"png": "PNG", "jpg": "JPEG", "webp": "WEBP", "bmp": "BMP", "gif": "GIF", "tif": "TIFF"}


# --- MNIST test digits, redrawn ------------------------------------------------


def _upscale(digit: np.ndarray, size: int) -> np.ndarray:
    """A 28x28 uint8 digit as a smooth ink layer in [0, 1], size x size, with marker-like edges."""
    big = Image.fromarray(digit.astype(np.float32) / 255.0).resize((size, size), Image.Resampling.BICUBIC)
    return np.clip((np.asarray(big) - 0.25) / 0.4, 0.0, 1.0)


def _skeleton(mask: np.ndarray) -> np.ndarray:
    """Zhang-Suen thinning, vectorised: one-pixel centre lines of a binary shape."""
    m = np.pad(mask.astype(np.uint8), 1)
    while True:
        changed = False
        for step in (0, 1):
            p = [np.roll(np.roll(m, -dy, 0), -dx, 1) for dy, dx in
                 ((-1, 0), (-1, 1), (0, 1), (1, 1), (1, 0), (1, -1), (0, -1), (-1, -1))]
            neighbours = sum(p)
            transitions = sum((p[i] == 0) & (p[(i + 1) % 8] == 1) for i in range(8))
            if step == 0:
                side = (p[0] * p[2] * p[4] == 0) & (p[2] * p[4] * p[6] == 0)
            else:
                side = (p[0] * p[2] * p[6] == 0) & (p[0] * p[4] * p[6] == 0)
            drop = (m == 1) & (neighbours >= 2) & (neighbours <= 6) & (transitions == 1) & side
            if drop.any():
                m[drop] = 0
                changed = True
        if not changed:
            return m[1:-1, 1:-1].astype(bool)


def _thin_pen(digit: np.ndarray, size: int, width: int) -> np.ndarray:
    """The digit redrawn along its centre lines with a pen `width` px wide, as an ink layer."""
    work = 112
    skeleton = _skeleton(_upscale(digit, work) > 0.5)
    ys, xs = np.nonzero(skeleton)
    scale = size / work
    layer = Image.new("L", (size, size), 0)
    draw = ImageDraw.Draw(layer)
    # Join each skeleton pixel to its right/lower 8-neighbours: a connected thin line.
    on = set(zip(ys.tolist(), xs.tolist()))
    for y, x in on:
        for dy, dx in ((0, 1), (1, -1), (1, 0), (1, 1)):
            if (y + dy, x + dx) in on:
                draw.line([(x * scale, y * scale), ((x + dx) * scale, (y + dy) * scale)], fill=255, width=width)
    return np.asarray(layer, dtype=np.float32) / 255.0


def _place(ink: np.ndarray, rng: np.random.Generator, canvas: int, rotate: bool = True) -> np.ndarray:
    """The ink layer rotated slightly and placed off-centre on a canvas x canvas field."""
    layer = Image.fromarray(ink.astype(np.float32))
    if rotate:
        layer = layer.rotate(rng.uniform(-15, 15), Image.Resampling.BICUBIC, expand=True)
    ink = np.clip(np.asarray(layer), 0, 1)
    field = np.zeros((canvas, canvas), dtype=np.float32)
    h, w = (min(n, canvas) for n in ink.shape)
    top, left = rng.integers(0, canvas - h + 1), rng.integers(0, canvas - w + 1)
    field[top : top + h, left : left + w] = ink[:h, :w]
    return field


def _on_paper(ink: np.ndarray, rng: np.random.Generator, lighting: bool = False, noise: float = 0.0) -> Image.Image:
    paper, pen = rng.uniform(0.75, 1.0), rng.uniform(0.0, 0.3)
    gray = paper * (1 - ink) + pen * ink
    if lighting:  # a shadow or lamp falling across the sheet
        h, w = gray.shape
        angle = rng.uniform(0, 2 * np.pi)
        ramp = (np.cos(angle) * np.linspace(-1, 1, w)[None, :] + np.sin(angle) * np.linspace(-1, 1, h)[:, None]) / 2
        gray = gray * (1 - rng.uniform(0.15, 0.35) * (ramp + 0.5))
    if noise:
        gray = gray + rng.normal(0, noise, gray.shape)
    return Image.fromarray((np.clip(gray, 0, 1) * 255).astype(np.uint8))


def mnist_style(style: str, digit: np.ndarray, rng: np.random.Generator) -> tuple[Image.Image, str]:
    """One MNIST test digit drawn in `style`; returns the image and the file format to save it in."""
    canvas = int(rng.integers(300, 1001))
    size = int(canvas * rng.uniform(0.3, 0.75))
    if style == "icon":
        ink = _place(_upscale(digit, int(rng.integers(22, 31))), rng, 32, rotate=False)
        return _on_paper(ink, rng), str(rng.choice(["png", "bmp", "gif"]))
    if style == "thin pen":
        ink = _place(_thin_pen(digit, size, int(rng.integers(1, 4))), rng, canvas)
        return _on_paper(ink, rng), "png"
    ink = _place(_upscale(digit, size), rng, canvas)
    if style == "ink on paper":
        return _on_paper(ink, rng), str(rng.choice(["png", "webp"]))
    if style == "photo":
        image = _on_paper(ink, rng, lighting=True, noise=rng.uniform(0.01, 0.06))
        return image.filter(ImageFilter.GaussianBlur(rng.uniform(0.5, 2))), "jpg"
    if style == "transparent":
        colour = [(0, 0, 0), (20, 40, 160), (255, 255, 255)][rng.integers(0, 3)]
        rgba = np.zeros(ink.shape + (4,), dtype=np.uint8)
        rgba[..., :3] = colour
        rgba[..., 3] = (ink * 255).astype(np.uint8)
        return Image.fromarray(rgba), "png"
    raise ValueError(style)


# --- digits drawn from strokes, and from fonts ------------------------------------------


def _arc(cx, cy, rx, ry, start, end, n=16):
    t = np.radians(np.linspace(start, end, n))
    return list(zip(cx + rx * np.cos(t), cy + ry * np.sin(t)))


# Each digit as polylines in a unit box (x right, y down); angles in degrees, 0 = right, 90 = down.
STROKES = {
    0: [_arc(0.5, 0.5, 0.32, 0.48, 0, 360, 32)],
    1: [[(0.35, 0.2), (0.55, 0.0), (0.55, 1.0)]],
    2: [_arc(0.5, 0.28, 0.32, 0.27, 200, 380) + [(0.15, 1.0), (0.88, 1.0)]],
    3: [_arc(0.48, 0.25, 0.3, 0.25, 200, 450), _arc(0.48, 0.73, 0.34, 0.27, 270, 500)],
    4: [[(0.65, 1.0), (0.65, 0.0), (0.1, 0.68), (0.9, 0.68)]],
    5: [[(0.82, 0.0), (0.25, 0.0), (0.2, 0.45)] + _arc(0.5, 0.68, 0.34, 0.32, 225, 500)],
    6: [_arc(0.55, 0.3, 0.3, 0.4, 280, 180) + _arc(0.5, 0.7, 0.3, 0.3, 180, 540)],
    7: [[(0.1, 0.0), (0.9, 0.0), (0.4, 1.0)]],
    8: [_arc(0.5, 0.25, 0.27, 0.25, 90, 450), _arc(0.5, 0.74, 0.33, 0.26, 270, 630)],
    9: [_arc(0.5, 0.3, 0.3, 0.3, 0, 360) + [(0.8, 0.3), (0.72, 1.0)]],
}


def drawn_digit(label: int, rng: np.random.Generator) -> Image.Image:
    """A digit drawn with a pen: jittered polylines, random slant, size, place and pen width."""
    canvas = int(rng.integers(300, 1001))
    height = canvas * rng.uniform(0.3, 0.7)
    width = height * rng.uniform(0.45, 0.75)
    slant = rng.uniform(-0.25, 0.1)
    left, top = rng.uniform(0, canvas - width - height * 0.3), rng.uniform(0, canvas - height)
    left += height * 0.3
    pen = max(1, int(height * rng.choice([0.01, 0.05, 0.1, 0.15])))
    image = Image.new("L", (canvas, canvas), int(rng.integers(200, 256)))
    draw = ImageDraw.Draw(image)
    colour = int(rng.integers(0, 70))
    for line in STROKES[label]:
        points = np.array(line) + rng.normal(0, 0.02, (len(line), 2))
        xs = left + (points[:, 0] + slant * (points[:, 1] - 1)) * width
        ys = top + points[:, 1] * height
        draw.line(list(zip(xs, ys)), fill=colour, width=pen, joint="curve")
    return image


def font_files() -> list[Path]:
    """TrueType fonts on this machine whose digits look handwritten enough (sans, book/bold)."""
    try:
        listing = subprocess.run(["fc-list", ":", "file"], capture_output=True, text=True, timeout=10).stdout
    except (OSError, subprocess.SubprocessError):
        return []
    paths = sorted({Path(line.split(":")[0].strip()) for line in listing.splitlines() if line.strip()})
    return [p for p in paths if p.suffix.lower() == ".ttf" and "Sans" in p.name and "Mono" not in p.name]


def font_digit(label: int, font: Path, rng: np.random.Generator) -> Image.Image:
    canvas = int(rng.integers(300, 1001))
    face = ImageFont.truetype(str(font), int(canvas * rng.uniform(0.25, 0.6)))
    image = Image.new("L", (canvas, canvas), int(rng.integers(200, 256)))
    draw = ImageDraw.Draw(image)
    box = draw.textbbox((0, 0), str(label), font=face)
    x = rng.uniform(0, max(1, canvas - box[2])) - box[0] / 2
    y = rng.uniform(0, max(1, canvas - box[3])) - box[1] / 2
    draw.text((x, y), str(label), fill=int(rng.integers(0, 70)), font=face)
    return image.rotate(rng.uniform(-8, 8), Image.Resampling.BICUBIC, fillcolor=image.getpixel((0, 0)))


# --- the set ----------------------------------------------------------------------

MNIST_STYLES = ("ink on paper", "thin pen", "photo", "transparent", "icon")


def generate(directory: Path, n: int, seed: int, photos: int | None = None,
             parts: tuple[str, ...] = ("drawn", "photos")) -> list[tuple[Path, int, str]]:
    """Write n images per style (`photos` per photo style) into directory; return (file, label, style) for each.

    The two parts ("drawn": the styles above, "photos": benchmarks/scenes.py) draw from separate
    random streams, so either can be made alone.
    """
    from digitcli import data

    rng = np.random.default_rng(seed)
    mnist = data.load("bundled")
    items = []

    def save(image: Image.Image, fmt: str, label: int, style: str) -> None:
        path = directory / f"{len(items):05d}.{fmt}"
        if fmt in ("jpg", "bmp", "gif") and image.mode == "F":
            image = image.convert("L")
        options = {"quality": int(rng.integers(40, 90))} if fmt in ("jpg", "webp") else {}
        image.save(path, FORMATS[fmt], **options)
        items.append((path, int(label), style))

    if "drawn" in parts:
        for style in MNIST_STYLES:
            for index in rng.choice(len(mnist.x_test), n, replace=False):
                image, fmt = mnist_style(style, mnist.x_test[index], rng)
                save(image, fmt, mnist.y_test[index], style)
        for i in range(n):
            label = i % 10
            save(drawn_digit(label, rng), "png", label, "drawn strokes")
        fonts = font_files()
        for i in range(n if fonts else 0):
            label = i % 10
            save(font_digit(label, fonts[rng.integers(len(fonts))], rng), "png", label, "fonts")
    if "photos" not in parts:
        return items
    photo_rng = np.random.default_rng(seed + 1)
    per_style = []
    for style in scenes.PHOTO_STYLES:
        jobs = []
        for i, index in enumerate(photo_rng.choice(len(mnist.x_test), n if photos is None else photos, replace=False)):
            label = int(mnist.y_test[index]) if i % 2 == 0 else i // 2 % 10  # pen-stroke digits: every label in turn
            digit = mnist.x_test[index] if i % 2 == 0 else label
            jobs.append((digit, style, int(photo_rng.integers(2**31)), label))
        per_style.append(jobs)
    # Styles taken in turn, each photo with its own seed: made on every core.
    jobs = [(directory / f"p{k:05d}.jpg", *job) for k, job in enumerate(j for row in zip(*per_style) for j in row)]
    with ProcessPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
        list(pool.map(_write_photo, [job[:4] for job in jobs], chunksize=2))
    return items + [(path, label, f"photo: {style}") for path, _, style, _, label in jobs]


def _write_photo(job) -> None:
    path, digit, style, seed = job
    rng = np.random.default_rng(seed)
    image, exif = scenes.photo(photo_ink(style, digit, rng), style, rng)
    image.save(path, "JPEG", quality=int(rng.integers(60, 93)), **({"exif": exif} if exif else {}))


def photo_ink(style: str, digit, rng: np.random.Generator, size: int = 256) -> np.ndarray:
    """The ink layer of a photo: an MNIST test digit (an array) or a pen-stroke digit (a label)."""
    felt, faint = style == "felt pen", style == "faint ballpoint"
    if isinstance(digit, np.ndarray):
        if faint:
            return _thin_pen(digit, size, int(rng.integers(2, 5)))
        ink = _upscale(digit, size)
        if felt:
            grow = int(size * rng.uniform(0.02, 0.04))
            ink = np.asarray(Image.fromarray(ink).filter(ImageFilter.MaxFilter(2 * grow + 1)))
        return ink
    width = rng.uniform(0.1, 0.15) if felt else rng.uniform(0.01, 0.02) if faint else rng.uniform(0.03, 0.08)
    return scenes.stroke_ink(STROKES[digit], size, width * size, rng)


STYLES_NOTE = """\
Styles: MNIST *test* digits redrawn as dark ink on white or grey paper, 300-1000 px, off-centre,
rotated up to 15 degrees (*ink on paper*, PNG/WebP); the same redrawn along their centre lines
with a 1-3 px pen (*thin pen*); with uneven lighting, noise, blur and JPEG compression
(*photo*); as black, blue or white strokes on a transparent PNG (*transparent*); as 32x32
icons (PNG/BMP/GIF); digits drawn from jittered pen strokes (*drawn strokes*); and digits set
in the machine's TrueType sans fonts (*fonts*). Every image is written to a file and read back.
*photo: ...* styles are phone photos (`benchmarks/scenes.py`): half MNIST test digits, half pen-stroke
digits, inked on a sheet laid in perspective on a desk (the desk and paper edges in frame in 40 % of
them, always for *paper edge*), lit unevenly, shadowed in a quarter of them (always for *shadow*),
blurred, noised, 1,500-4,000 px JPEG, 30 % stored on their side with an EXIF orientation; each
style adds its own trait: beige, blue or grid paper, strong uneven light, a thick felt pen, a faint
skipping ballpoint, a box drawn around the digit, ruled lines.
*Plain resize* is grayscale and a resize to 28x28; *preprocessed* is `digitcli.preprocess.load`;
*preprocessed before* is the `preprocess.py` given with `--before`, on the same images."""


def _prepare_all(items, before: Path | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Every image through preprocess.load (or an earlier version's), on every core; rejected ones stay blank, flagged."""
    with ProcessPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
        results = list(pool.map(_prepare_one, [(path, before) for path, _, _ in items], chunksize=8))
    prepared, failed = np.zeros((len(items), 28, 28), dtype=np.float32), np.zeros(len(items), dtype=bool)
    for i, ((path, label, style), result) in enumerate(zip(items, results)):
        if isinstance(result, str):
            failed[i] = True
            print(f"{style} #{i} (label {label}): {result}", file=sys.stderr)
        else:
            prepared[i] = result
    return prepared, failed


_BEFORE = {}


def _prepare_one(job):
    path, before = job
    module = preprocess
    if before is not None:
        module = _BEFORE.get(before) or _BEFORE.setdefault(before, load_before(before))
    try:
        return module.load(path)
    except preprocess.ImageError as exc:
        return str(exc)


def load_before(path: Path):
    """An earlier version of digitcli/preprocess.py (e.g. from `git show REV:digitcli/preprocess.py`), as a module."""
    spec = importlib.util.spec_from_file_location("digitcli.preprocess_before", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)  # its relative imports (.errors) resolve inside digitcli
    return module


def generated(directory: Path, n: int, seed: int, photos: int | None,
              parts: tuple[str, ...] = ("drawn", "photos")) -> list[tuple[Path, int, str]]:
    """generate(), reusing the part(s) a run with the same settings left in `directory` (manifest-PART.json)."""
    items = []
    for part in parts:
        manifest = directory / f"manifest-{part}.json"
        settings = {"n": n, "seed": seed, "photos": photos if part == "photos" else None}
        if manifest.exists() and json.loads(manifest.read_text())["settings"] == settings:
            saved = json.loads(manifest.read_text())["items"]
            items += [(directory / name, label, style) for name, label, style in saved]
            continue
        directory.mkdir(parents=True, exist_ok=True)
        made = generate(directory, n, seed, photos, (part,))
        manifest.write_text(json.dumps({"settings": settings, "items": [(p.name, l, s) for p, l, s in made]}))
        items += made
    return items


def measure(model_path: Path, n: int, seed: int, photos: int | None = None, before: Path | None = None,
            images: Path | None = None) -> str:
    from digitcli import store

    model, meta = store.load(model_path)
    meta = meta or {}
    columns = {}
    with tempfile.TemporaryDirectory() as tmp:
        items = generated(Path(images or tmp), n, seed, photos)
        start = time.perf_counter()
        prepared, failed = _prepare_all(items)
        rate = len(items) / (time.perf_counter() - start)
        columns["plain"] = (np.stack([preprocess.plain_resize(preprocess.open_image(path)) for path, _, _ in items]),
                            np.zeros(len(items), dtype=bool))
        if before is not None:
            start = time.perf_counter()
            columns["before"] = _prepare_all(items, before)
            rate_before = len(items) / (time.perf_counter() - start)
        columns["prepared"] = (prepared, failed)
    labels = np.array([label for _, label, _ in items])
    styles = np.array([style for _, _, style in items])
    right = {}
    for name, (x, rejected) in columns.items():
        # An image the preparation rejected counts as wrong.
        right[name] = (model.predict(x, batch_size=1024, verbose=0).argmax(axis=1) == labels) & ~rejected
    titles = {"plain": "plain resize", "before": "preprocessed before", "prepared": "preprocessed"}
    rows = ["| style | images | " + " | ".join(titles[c] for c in columns) + " |",
            "|---|---:|" + "---:|" * len(columns)]
    for style in list(dict.fromkeys(styles)) + ["overall"]:
        pick = styles == style if style != "overall" else np.ones(len(labels), dtype=bool)
        name = f"**{style}**" if style == "overall" else style
        rows.append(f"| {name} | {pick.sum()} | " + " | ".join(f"{right[c][pick].mean():.1%}" for c in columns) + " |")
    speed = f"Preprocessing speed: {rate:.1f} images/s (open, decode and prepare, {os.cpu_count()} processes, shared machine)"
    if before is not None:
        speed += f", {rate_before:.1f} images/s before"
    return "\n".join(
        [
            "# Accuracy on realistic digit images",
            "",
            f"Model `{model_path}` ({meta.get('architecture', '?')}, "
            f"{meta.get('test_accuracy', float('nan')):.2%} on the MNIST test set), "
            f"{n} images per style ({n if photos is None else photos} per photo style), seed {seed}, "
            f"{datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC.",
            "",
            *rows,
            "",
            STYLES_NOTE,
            "",
            f"{speed}; {failed.sum()} images rejected as blank or unreadable (counted as wrong).",
            "",
            "Reproduce with:",
            "",
            f"    {' '.join(['python'] + [Path(sys.argv[0]).as_posix()] + sys.argv[1:])}",
            "",
        ]
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, help="a digits model file")
    parser.add_argument("--n", type=int, default=200, help="images per style (default 200)")
    parser.add_argument("--photos", type=int, default=None, help="images per photo style (default: --n)")
    parser.add_argument("--before", type=Path, default=None,
                        help="an earlier digitcli/preprocess.py to compare with, in the same run")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    parser.add_argument("--images", type=Path, default=None,
                        help="keep the generated images in this directory and reuse them on the next run")
    parser.add_argument("--generate-only", choices=["drawn", "photos", "all"],
                        help="only write this part of the images (with --images)")
    parser.add_argument("--output", type=Path, default=Path(__file__).with_suffix(".md"),
                        help="where to write the table (default benchmarks/realistic.md)")
    args = parser.parse_args()
    if args.generate_only:
        generated(args.images, args.n, args.seed, args.photos,
                  ("drawn", "photos") if args.generate_only == "all" else (args.generate_only,))
        return
    report = measure(args.model, args.n, args.seed, args.photos, args.before, args.images)
    print(report)
    args.output.write_text(report)


if __name__ == "__main__":
    main()
