"""`digits eval`: how good a model is on the test set, and where it fails."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Optional

import numpy as np
import typer

from .ui import DEFAULT_MODEL_PATH, DataOption, ModelPathOption, arrow, err, load_data, out, say, unicode, user_errors

CONFUSIONS_SHOWN = 3


def load_test_set(data: Optional[str], limit: Optional[int]):
    """(dataset, images, labels) of the test set, cut to --limit."""
    from .errors import BadOption

    dataset = load_data(data)
    if limit is not None and limit > len(dataset.x_test):
        raise BadOption(f"--limit {limit:,} is larger than the {len(dataset.x_test):,} test images available")
    return dataset, dataset.x_test[:limit], dataset.y_test[:limit]


def open_model(path: Path):
    from . import predict

    classifier = predict.open_classifier(path)
    for notice in classifier.notices:
        say(err, f"Note: {notice}", style="yellow")
    return classifier


def evaluate(
    model: ModelPathOption = DEFAULT_MODEL_PATH,
    data: DataOption = None,
    limit: Annotated[
        Optional[int], typer.Option("--limit", min=1, help="Score the first N test images only.", show_default="all")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print only a JSON object of the scores on stdout.")] = False,
) -> None:
    """Score a model on the test set: accuracy, loss, per-class table, confusion matrix."""
    with user_errors():
        from . import evaluate as scoring
        from . import render

        classifier = open_model(model)
        dataset, images, labels = load_test_set(data, limit)
        probabilities = classifier.probabilities(images)
        result = scoring.evaluate(probabilities, labels)
        if as_json:
            say(out, json.dumps(result.to_json()))
            return
        say(out, f"Model: {model} ({classifier.runtime})")
        say(out, f"Test accuracy: {result.accuracy:.2%} ({result.accuracy * result.n:,.0f} of {result.n:,}), loss {result.loss:.4f}")
        worst = scoring.top_confusions(result.confusion, CONFUSIONS_SHOWN)
        out.print(render.per_class_table(result))
        out.print(render.confusion_table(result, worst, out.width))
        if worst:
            say(out, f"Most frequent confusions (true {arrow()} predicted: count):", style="bold")
            out.print(render.gallery(confusion_cards(worst, images, labels, probabilities.argmax(axis=1))))


def confusion_cards(worst, images, labels, predicted):
    """One card per frequent confusion, drawing the first test image that shows it."""
    from . import render

    cards = []
    for true, guess, count in worst:
        example = int(np.flatnonzero((labels == true) & (predicted == guess))[0])
        caption = [(f"{true} {arrow()} {guess}: {count}", "bold red"), (f"e.g. test image #{example}", "dim")]
        cards.append(render.digit_card(images[example], caption, unicode()))
    return cards
