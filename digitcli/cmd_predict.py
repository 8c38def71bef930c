"""`digits predict`: the model's guesses for random test images or for a user's own image files."""

from __future__ import annotations

import csv
import json
import sys
from enum import Enum
from pathlib import Path
from typing import Annotated, Optional

import numpy as np
import typer

from .cmd_eval import open_model
from .ui import DEFAULT_MODEL_PATH, DataOption, ModelPathOption, err, load_data, out, say, unicode, user_errors

DEFAULT_SAMPLES = 5


class Format(str, Enum):
    table = "table"
    csv = "csv"
    jsonl = "jsonl"


def predict(
    images: Annotated[
        Optional[list[str]],
        typer.Argument(
            metavar="IMAGE",
            help="Image files (PNG, JPEG, BMP, GIF, TIFF, WebP), directories of them, or - for one image on "
            "standard input. Without any, predicts random test images.",
            show_default=False,
        ),
    ] = None,
    model: ModelPathOption = DEFAULT_MODEL_PATH,
    samples: Annotated[
        Optional[int],
        typer.Option("--samples", min=1, help="How many random test images to predict.", show_default=str(DEFAULT_SAMPLES)),
    ] = None,
    seed: Annotated[
        Optional[int],
        typer.Option("--seed", help="Seed for choosing test images; the same seed shows the same images.", show_default="a new one each run, printed"),
    ] = None,
    wrong: Annotated[bool, typer.Option("--wrong", help="Choose only among test images the model gets wrong.")] = False,
    data: DataOption = None,
    output_format: Annotated[
        Format, typer.Option("--format", help="table (drawn), or csv / jsonl records on stdout.")
    ] = Format.table,
    top_k: Annotated[int, typer.Option("--top-k", min=1, max=10, help="How many guesses to report per image.")] = 3,
    recursive: Annotated[bool, typer.Option("--recursive", "-r", help="Descend into subdirectories of a directory.")] = False,
    show_input: Annotated[
        bool, typer.Option("--show-input", help="Draw the 28x28 image the model sees beside each file's result.")
    ] = False,
) -> None:
    """Show the model's predictions for random test images, or for your own image files.

    Test-image options (--samples, --seed, --wrong, --data) and image-file options (--recursive,
    --show-input) cannot be mixed.
    """
    with user_errors():
        if images:
            clash = [name for name, given in (("--samples", samples), ("--seed", seed), ("--wrong", wrong or None), ("--data", data)) if given is not None]
            if clash:
                raise typer.BadParameter(f"{', '.join(clash)}: only for test images; cannot be combined with image files")
            if show_input and output_format is not Format.table:
                raise typer.BadParameter(f"--show-input draws beside the table; it cannot be combined with --format {output_format.value}")
            failed = predict_files(images, model, output_format, top_k, recursive, show_input)
            if failed:
                raise typer.Exit(1)
        else:
            clash = [name for name, given in (("--recursive", recursive), ("--show-input", show_input)) if given]
            if clash:
                raise typer.BadParameter(f"{', '.join(clash)}: only for image files; give some, or leave it out")
            predict_samples(model, samples or DEFAULT_SAMPLES, seed, wrong, data, output_format, top_k)


def predict_samples(model: Path, count: int, seed, wrong: bool, data, output_format: Format, top_k: int) -> None:
    from . import predict as core
    from . import render

    classifier = open_model(model)
    dataset = load_data(data)
    seed = int(np.random.default_rng().integers(0, 10_000)) if seed is None else seed
    if wrong:
        probabilities_all = classifier.probabilities(dataset.x_test)
        pool = np.flatnonzero(probabilities_all.argmax(axis=1) != dataset.y_test)
        chosen = core.choose(pool, count, seed, what="misclassified test images")
        probabilities = probabilities_all[chosen]
    else:
        chosen = core.choose(np.arange(len(dataset.x_test)), count, seed)
        probabilities = classifier.probabilities(dataset.x_test[chosen])
    say(err, f"Model: {model} ({classifier.runtime}); seed {seed} (rerun with --seed {seed} for the same images)")
    digits, confidences = core.top_k(probabilities, top_k)
    labels = dataset.y_test[chosen]
    if output_format is Format.table:
        cards = [
            render.digit_card(dataset.x_test[i], render.prediction_caption(i, int(y), d, p, unicode()), unicode())
            for i, y, d, p in zip(chosen, labels, digits, confidences)
        ]
        out.print(render.gallery(cards))
        right = int((digits[:, 0] == labels).sum())
        say(err, f"{right} of {len(chosen)} right")
        return
    records = [
        {"index": int(i), "label": int(y), "prediction": int(d[0]), "confidence": float(p[0]),
         "correct": bool(d[0] == y), "top": [[int(a), float(b)] for a, b in zip(d, p)]}
        for i, y, d, p in zip(chosen, labels, digits, confidences)
    ]
    write_records(records, output_format, ["index", "label", "prediction", "confidence", "correct"], top_k)


def predict_files(args: list[str], model: Path, output_format: Format, top_k: int, recursive: bool, show_input: bool) -> int:
    """Predict every image named by `args`; returns how many failed (each reported on stderr)."""
    from . import predict as core
    from . import render

    classifier = open_model(model)
    items, problems = expand(args, recursive)
    for problem in problems:
        say(err, f"Error: {problem}", style="red")
    results = core.predict_sources(classifier, items, top_k, pool=True)  # prepared on every core, one batched model call
    for result in results:
        if result.error is not None:
            say(err, f"Error: {result.name}: {result.error}", style="red")
        for note in result.notes:
            say(err, f"Note: {result.name}: {note}")
    good = [result for result in results if result.error is None]
    failed = len(problems) + len(results) - len(good)
    if not good:
        return failed
    names, arrays = [r.name for r in good], [r.image for r in good]
    digits, confidences = np.stack([r.digits for r in good]), np.stack([r.probabilities for r in good])
    if output_format is not Format.table:
        write_records([r.record("path") for r in good], output_format, ["path", "prediction", "confidence"], top_k)
    elif show_input:
        cards = [
            render.digit_card(a, [(n, "bold"), *render.prediction_caption("", None, d, p, unicode())[1:]], unicode())
            for n, a, d, p in zip(names, arrays, digits, confidences)
        ]
        out.print(render.gallery(cards))
    else:
        out.print(render.file_table(names, digits, confidences))
    return failed


def expand(args: list[str], recursive: bool) -> tuple[list[tuple[str, object]], list[str]]:
    """(name, source) for each image, and a message for each directory without any.

    Files are taken as given, directories' images sorted, '-' read from standard input.
    """
    from .imagefile import IMAGE_SUFFIXES

    items, problems = [], []
    for arg in args:
        path = Path(arg)
        if arg == "-":
            if any(name == "-" for name, _ in items):
                problems.append("-: standard input holds one image and was already read")
                continue
            items.append(("-", sys.stdin.buffer.read()))
        elif not path.is_dir():
            items.append((arg, path))
        else:
            pattern = "**/*" if recursive else "*"
            found = sorted(p for p in path.glob(pattern) if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
            if not found:
                problems.append(f"{arg}: no images found" + ("" if recursive else " (--recursive looks in subdirectories)"))
            items.extend((str(p), p) for p in found)
    return items, problems


def write_records(records: list[dict], output_format: Format, columns: list[str], top_k: int) -> None:
    """csv or jsonl on stdout, one record per image, nothing else."""
    if output_format is Format.jsonl:
        for record in records:
            out.file.write(json.dumps(record) + "\n")
        return
    writer = csv.writer(out.file, lineterminator="\n")
    writer.writerow(columns + [f"{kind}{n}" for n in range(1, top_k + 1) for kind in ("top", "p")])
    for record in records:
        top = [value for pair in record["top"] for value in (pair[0], f"{pair[1]:.6f}")]
        writer.writerow([f"{record[c]:.6f}" if c == "confidence" else record[c] for c in columns] + top)
