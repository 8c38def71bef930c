"""`digits export`: the model as a standalone LiteRT file for phone apps or a SavedModel for TF Serving."""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Annotated

import typer

from .ui import DataOption, err, load_data, out, say, user_errors


class ExportFormat(str, Enum):
    litert = "litert"
    savedmodel = "savedmodel"


def export(
    model: Annotated[Path, typer.Argument(metavar="MODEL", help="Model file to export (written by `digits train`).", show_default=False)],
    export_format: Annotated[
        ExportFormat,
        typer.Option("--format", help="litert: a .tflite file with its input contract beside it as PATH.json; "
                     "savedmodel: a TensorFlow SavedModel directory for TF Serving.", show_default=False),
    ],
    output: Annotated[Path, typer.Option("--output", "-o", help="Where to write it.", show_default=False)],
    overwrite: Annotated[bool, typer.Option("--overwrite", help="Replace an existing output.")] = False,
    data: DataOption = None,
) -> None:
    """Write a model in a form other programs run, checked against Keras on the test set first."""
    with user_errors():
        from . import export as core
        from . import store

        store.check(model)  # a bad model file or output fails before the slow part
        core.check_targets(export_format.value, output, overwrite)
        dataset = load_data(data)
        done = core.export(model, export_format.value, output, overwrite, dataset.x_test)
        say(err, f"Checked against Keras on {done.checked:,} test images: the same digit for every image, "
                 f"probabilities within {done.max_difference:.1g}")
        for path in done.paths:
            say(out, f"Wrote {path}")
