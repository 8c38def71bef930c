"""`digits show ...`: look at the data, a model's training curves, its mistakes and its make-up."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import numpy as np
import typer
from rich.text import Text

from .cmd_eval import open_model
from .ui import DEFAULT_MODEL_PATH, DataOption, ModelPathOption, err, load_data, out, plural, say, unicode, user_errors

app = typer.Typer(
    help="Look at the data, a model's training curves, its mistakes and its make-up.", no_args_is_help=True, rich_markup_mode=None
)

CountOption = Annotated[int, typer.Option("--count", "-n", min=1, help="How many images to show.")]


def _no_metadata(path: Path, wanted: str) -> str:
    return (
        f"{path} has no digits metadata (it was not saved by `digits train`), so it has no {wanted}; "
        "`digits eval` and `digits show model` still work with it"
    )


@app.command(short_help="A gallery of dataset images.")
def samples(
    digit: Annotated[Optional[int], typer.Option("--digit", "-d", min=0, max=9, help="Show only this digit.", show_default="all")] = None,
    count: CountOption = 12,
    train_split: Annotated[bool, typer.Option("--train", help="Show training images instead of test images.")] = False,
    data: DataOption = None,
) -> None:
    """A gallery of dataset images with their labels (the first ones, in dataset order)."""
    with user_errors():
        from . import render

        dataset = load_data(data, need_train=train_split)
        images, labels = (dataset.x_train, dataset.y_train) if train_split else (dataset.x_test, dataset.y_test)
        pool = np.arange(len(labels)) if digit is None else np.flatnonzero(labels == digit)
        chosen = pool[:count]
        split = "training" if train_split else "test"
        cards = [render.digit_card(images[i], [(f"#{i}  label {labels[i]}", "bold")], unicode()) for i in chosen]
        out.print(render.gallery(cards))
        say(err, f"{len(chosen)} of {len(pool):,} {split} images" + ("" if digit is None else f" of digit {digit}"))


@app.command(short_help="Loss and accuracy per epoch.")
def curves(model: ModelPathOption = DEFAULT_MODEL_PATH) -> None:
    """The model's per-epoch loss and accuracy, with a summary of its training."""
    with user_errors():
        from . import charts, store
        from .errors import ModelFileError

        meta = store.check(model)
        if meta is None:
            raise ModelFileError(_no_metadata(model, "training history"))
        say(out, training_summary(meta))
        out.print(Text.from_ansi(charts.curves(meta["history"], out.width, color=out.color_system is not None)), soft_wrap=True)


def training_summary(meta: dict) -> str:
    training, source = meta["training"], meta["data"]
    return (
        f"{meta['architecture']}: {plural(len(meta['history'].get('loss', [])), 'epoch')} (batch {training['batch_size']}, "
        f"lr {training['lr']:g}, seed {training['seed']}) in {meta['train_seconds']:.1f} s on {source['n_train']:,} "
        f"training images of {source['source']}; test accuracy {meta['test_accuracy']:.2%}"
    )


@app.command(short_help="The most confident mistakes.")
def misclassified(model: ModelPathOption = DEFAULT_MODEL_PATH, count: CountOption = 10, data: DataOption = None) -> None:
    """Test images the model gets wrong, most confident mistakes first."""
    with user_errors():
        from . import evaluate, render
        from . import predict as core

        classifier = open_model(model)
        dataset = load_data(data)
        probabilities = classifier.probabilities(dataset.x_test)
        wrong = evaluate.most_confident_mistakes(probabilities, dataset.y_test)
        digits, confidences = core.top_k(probabilities[wrong[:count]], 3)
        cards = [
            render.digit_card(dataset.x_test[i], render.prediction_caption(i, int(dataset.y_test[i]), d, p, unicode()), unicode())
            for i, d, p in zip(wrong[:count], digits, confidences)
        ]
        out.print(render.gallery(cards))
        say(err, f"{min(count, len(wrong))} of {len(wrong):,} misclassified test images, most confident first")


@app.command("model", short_help="Layers, options, accuracy, versions.")
def describe(model: ModelPathOption = DEFAULT_MODEL_PATH) -> None:
    """Layers and parameter counts, training options, test accuracy, data fingerprint and versions."""
    with user_errors():
        from . import render
        from .card import model_card

        card = model_card(model)
        layers = [(layer.name, layer.type, layer.output_shape, layer.parameters) for layer in card.layers]
        out.print(render.layers_table(layers, total=card.total_parameters))
        if card.meta is None:
            say(out, _no_metadata(model, "training options, history or test accuracy"))
            return
        out.print(render.model_table(card.facts(), title=str(model)))
