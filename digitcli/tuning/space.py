"""What `digits tune` searches: each model's hyperparameters, as KerasTuner sees them.

Every point of the space is a `digits train` configuration, so the best one
can be trained again with a plain `digits train ...` command.
"""

from __future__ import annotations

import keras_tuner as kt

from .. import models
from ..backend import keras
from ..train import TrainConfig

# Measured on the bundled data (benchmarks/tune.md): with a cosine schedule, two layers of 1024
# reach 98.0 % on test where the constant rate the searches used before stayed below 97.5 %.
MLP_UNITS = (256, 512, 1024)
MLP_MAX_LAYERS = 3
# sgd at Adam's learning rates barely trains in 15 epochs (0.88 and 0.91 validation accuracy
# where the Adam family reached 0.96-0.97): searching it would only spend trials.
MLP_OPTIMIZERS = tuple(name for name in models.OPTIMIZERS if name != "sgd")
SCHEDULE = "cosine"  # every trial, both models: warm up to the trial's lr, then decay
CNN_WIDTHS = (0.5, 0.75, 1.0, 1.5, 2.0)  # scales the filters and the dense units together
LR_RANGE = (3e-4, 3e-3)  # a decade around Adam's usual 1e-3, log-uniform
OBJECTIVE = "val_accuracy"  # at the end of a trial's training


def declare(hp: kt.HyperParameters, model: str) -> None:
    """Declare `model`'s search space; each default is the README recipe's value where the space holds it."""
    if model == "mlp":
        hp.Int("layers", 1, MLP_MAX_LAYERS, default=len(models.DEFAULT_HIDDEN))
        for i in range(MLP_MAX_LAYERS):
            with hp.conditional_scope("layers", list(range(i + 1, MLP_MAX_LAYERS + 1))):
                hp.Choice(f"units_{i}", MLP_UNITS, default=MLP_UNITS[0])
        hp.Float("dropout", 0.0, 0.5, step=0.1, default=models.DEFAULT_DROPOUT["mlp"])
        hp.Choice("optimizer", MLP_OPTIMIZERS, default=models.DEFAULT_OPTIMIZER)
    else:
        hp.Choice("width", CNN_WIDTHS, default=1.0)
        hp.Float("dropout", 0.0, 0.5, step=0.1, default=models.DEFAULT_DROPOUT["cnn"])
    hp.Float("lr", *LR_RANGE, sampling="log", default=models.RECIPES[model].lr)


def config_for(values: dict, base: TrainConfig) -> TrainConfig:
    """The `digits train` configuration of one point of the space (rounded as a user would type it)."""
    options = dict(
        model=base.model,
        epochs=base.epochs,
        batch_size=base.batch_size,
        val_split=base.val_split,
        seed=base.seed,
        limit=base.limit,
        lr=float(f"{values['lr']:.2g}"),
        dropout=round(float(values["dropout"]), 2),
        schedule=SCHEDULE,
    )
    if base.model == "mlp":
        options["hidden"] = [int(values[f"units_{i}"]) for i in range(int(values["layers"]))]
        options["optimizer"] = values["optimizer"]
    else:
        options["width"] = float(values["width"])
    return TrainConfig(**options).resolved()


def shown(values: dict, model: str) -> dict:
    """The hyperparameters a user reads, in the form `digits train` takes them."""
    config = config_for(values, TrainConfig(model=model))
    if model == "mlp":
        return {"hidden": ",".join(map(str, config.hidden)), "dropout": config.dropout, "lr": config.lr, "optimizer": config.optimizer}
    return {"width": config.width, "dropout": config.dropout, "lr": config.lr}


class DigitsHyperModel(kt.HyperModel):
    """Builds each trial's model with `models.build`, the very code `digits train` uses."""

    def __init__(self, base: TrainConfig, steps_per_epoch: int):
        super().__init__(name=base.model)
        self.base = base
        self.steps_per_epoch = steps_per_epoch

    def declare_hyperparameters(self, hp):
        declare(hp, self.base.model)

    def build(self, hp):
        config = config_for(hp.values, self.base)
        total = self.steps_per_epoch * config.epochs
        return models.build(config.model, config.lr, total_steps=total, **config.build_options())

    def fit(self, hp, model, *args, train_data: dict, **kwargs):
        """Train as `digits train` does; score the model as it is at the end, as `digits train` saves it.

        (KerasTuner would otherwise score a trial by its best epoch, which the saved model is not.)
        """
        # `train_data` is fit()'s data arguments as `digits train` makes them (for the cnn, a warping pipeline).
        history = model.fit(**train_data, **kwargs).history
        return {OBJECTIVE: history[OBJECTIVE][-1]}


def seed_trial(seed: int) -> None:
    """Every trial starts from the same seed, as `digits train --seed` does.

    So trials differ only by their hyperparameters, a resumed search reruns a
    trial the same way, and the best configuration retrains to the model it scored.
    """
    keras.utils.set_random_seed(seed)
