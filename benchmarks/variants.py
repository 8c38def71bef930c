"""One-seed variants of `digits train --augment strong`, each trained in this process and swept.

Trains the cnn as `digits train --augment strong` does (the same split, pipeline,
schedule and seed) with one change, sweeps it on the 10,000 official test images
as `digits robustness` does, and appends one JSON line to a log. Changes, as
key=value arguments:

    warp=degrees:75,shear:0.15   the strong images' warp (models.Warp fields; the rest as shipped)
    each=0                       odds of each distortion for a strong image (0: only the warp)
    each_warp=0.35               odds of each part of a strong image's warp taking the wide range
    strong=0.4                   the fraction of images augmented strongly
    width=1.25                   the cnn's filters and dense units, scaled
    epochs=21                    epochs (default: the recipe's)
    smoothing=0.1                label smoothing
    lr=0.002                     peak learning rate
    final=standard:2             the last N of the epochs with another augmentation
    front=recentre|upright:25    a layer in front of the cnn (defined here, not in the package):
                                 whole-pixel centring by centre of mass, or that and turning
                                 each digit whose long axis leans more than N degrees back to N

    python benchmarks/variants.py NAME SEED [key=value ...] [--log benchmarks/variants.jsonl]
    python benchmarks/variants.py --report [--log benchmarks/variants.jsonl]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import time
from dataclasses import replace
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402

from digitcli import augment, data, models, robustness, train  # noqa: E402
from digitcli.backend import keras, tf  # noqa: E402

ops = keras.ops
CENTRE = 14.0  # MNIST's centres of mass, in pixels from the top-left corner


class Recentre(keras.layers.Layer):
    """Moves each image by whole pixels so that its centre of mass lands at MNIST's."""

    def call(self, images):
        return _front(images, None)


class Upright(keras.layers.Layer):
    """Centres as Recentre does and turns an image whose long axis leans more than `limit` degrees back to `limit`."""

    def __init__(self, limit: float, **kwargs):
        super().__init__(**kwargs)
        self.limit = limit

    def call(self, images):
        return _front(images, self.limit * math.pi / 180)


def _front(images, limit):
    coords = ops.arange(28, dtype=images.dtype)
    mass = ops.sum(images, axis=(1, 2))
    weight = ops.where(mass > 0, 1 / ops.maximum(mass, 1e-6), 0.0)
    rows = ops.sum(ops.sum(images, axis=2) * coords, axis=1) * weight
    cols = ops.sum(ops.sum(images, axis=1) * coords, axis=1) * weight
    turn = ops.zeros_like(mass)
    if limit is not None:
        w = images * weight[:, None, None]
        dy, dx = coords[None, :, None] - rows[:, None, None], coords[None, None, :] - cols[:, None, None]
        vertical, across = ops.sum(w * dy * dy, axis=(1, 2)), ops.sum(w * dx * dx, axis=(1, 2))
        lean = 0.5 * ops.arctan2(2 * ops.sum(w * dx * dy, axis=(1, 2)), vertical - across)  # of the long axis from upright
        turn = lean - ops.clip(lean, -limit, limit)
    centre_row = ops.where(mass > 0, ops.round(rows), CENTRE)[:, None, None]
    centre_col = ops.where(mass > 0, ops.round(cols), CENTRE)[:, None, None]
    cos, sin = ops.cos(turn)[:, None, None], ops.sin(turn)[:, None, None]
    out_r, out_c = coords[None, :, None] - CENTRE, coords[None, None, :] - CENTRE
    return augment._bilinear(images, centre_row + cos * out_r - sin * out_c, centre_col + sin * out_r + cos * out_c)


def trained(options: dict, seed: int, dataset: data.Dataset):
    strong = models.AUGMENTATIONS["strong"]
    if "warp" in options:
        fields = {k: float(v) for k, v in (pair.split(":") for pair in options["warp"].split(","))}
        strong = replace(strong, strong_warp=replace(strong.strong_warp, **fields))
    for field in ("strong", "each", "each_warp"):
        if field in options:
            strong = replace(strong, **{field: float(options[field])})
    (x_train, y_train), _ = train.split(dataset.x_train, dataset.y_train, 0.1)
    x = data.to_unit(x_train)
    epochs = int(options.get("epochs", models.default_epochs("cnn", "strong")))
    lr = float(options.get("lr", models.RECIPES["cnn"].lr))
    batch = models.RECIPES["cnn"].batch_size
    steps = math.ceil(len(x) / batch)
    tf.config.experimental.enable_op_determinism()
    keras.utils.set_random_seed(seed)
    model = models.build("cnn", lr, total_steps=steps * epochs, dropout=strong.dropout, width=float(options.get("width", 1)))
    smoothing = float(options.get("smoothing", 0))
    front = options.get("front")
    if front or smoothing:
        if front:
            layer = Recentre() if front == "recentre" else Upright(float(front.split(":")[1]))
            model = keras.Sequential([keras.Input((28, 28)), layer, *model.layers], name="cnn")
        loss = keras.losses.CategoricalCrossentropy(label_smoothing=smoothing) if smoothing else "sparse_categorical_crossentropy"
        schedule = models._learning_rate("cosine", lr, steps * epochs)
        model.compile(optimizer=models._optimizer("adam", schedule), loss=loss, metrics=["accuracy"])

    def labelled(images, labels):
        return images, tf.one_hot(labels, 10) if smoothing else labels

    phases = [(epochs, strong)]
    if "final" in options:
        name, last = options["final"].split(":")
        phases = [(epochs - int(last), strong), (epochs, models.AUGMENTATIONS[name])]
    started, cpu, done = time.perf_counter(), time.process_time(), 0
    for end, augmentation in phases:
        batches = augment.training_batches(x, y_train, batch, seed + done, augmentation).map(labelled)
        model.fit(batches, epochs=end, initial_epoch=done, verbose=0)
        done = end
    return model, x_train, y_train, time.perf_counter() - started, time.process_time() - cpu


def run(name: str, seed: int, options: dict, log: Path) -> None:
    dataset = data.load("bundled")
    model, x_train, y_train, wall, cpu = trained(options, seed, dataset)
    probabilities = lambda x: model.predict(data.to_unit(x) if x.dtype == np.uint8 else x, batch_size=2000, verbose=0)
    fitted = float(np.mean(np.argmax(probabilities(x_train[:5000]), 1) == y_train[:5000]))
    rows = robustness.sweep({name: probabilities}, dataset.x_test, dataset.y_test)
    others = [r for r in rows if r.condition != "clean"]
    entry = {"name": name, "seed": seed, "options": options, "clean": rows[0].accuracy,
             "mean": float(np.mean([r.accuracy for r in others])),
             "worst": [(r.condition, r.severity, r.accuracy) for r in sorted(others, key=lambda r: r.accuracy)[:3]],
             "train_clean_first_5000": fitted, "train_wall": round(wall, 1), "train_cpu": round(cpu, 1),
             "load": round(os.getloadavg()[0], 1), "at": time.strftime("%H:%M", time.gmtime()),
             "rows": [(r.condition, r.severity, r.accuracy) for r in rows]}
    with log.open("a") as file:
        file.write(json.dumps(entry) + "\n")
    print(json.dumps({k: v for k, v in entry.items() if k != "rows"}), flush=True)


def report(log: Path) -> str:
    lines = ["| variant (seed) | clean | mean of the non-clean conditions | weakest conditions | train CPU |",
             "| --- | --- | --- | --- | --- |"]
    for e in map(json.loads, log.read_text().splitlines()):
        worst = ", ".join(f"{c} {s:g} {a * 100:.2f} %" for c, s, a in e["worst"][:2])
        change = " ".join(f"{k}={v}" for k, v in e["options"].items()) or "as shipped"
        lines.append(f"| {change} ({e['seed']}) | {e['clean'] * 100:.2f} % | {e['mean'] * 100:.2f} % | {worst} | {e['train_cpu']:.0f} s |")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("name", nargs="?")
    parser.add_argument("seed", nargs="?", type=int, default=0)
    parser.add_argument("changes", nargs="*", help="key=value")
    parser.add_argument("--log", type=Path, default=Path("benchmarks/variants.jsonl"))
    parser.add_argument("--report", action="store_true")
    options = parser.parse_args()
    if options.report:
        print(report(options.log))
    else:
        run(options.name, options.seed, dict(change.split("=", 1) for change in options.changes), options.log)


if __name__ == "__main__":
    main()
