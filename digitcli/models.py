"""Model architectures by name, each with its own training defaults."""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial


@dataclass(frozen=True)
class Warp:
    """Ranges of a random affine warp; each is drawn uniformly per image."""

    degrees: float = 10.0  # rotation, either way
    scale: float = 0.1  # zoom factor within 1 +- scale
    shear: float = 0.15  # horizontal shear (slant), as a fraction of height
    shift: float = 2.5  # translation in pixels, each axis


@dataclass(frozen=True)
class Augmentation:
    """Training-time augmentation (digitcli.augment): every image gets the mild `warp`; a
    `strong` fraction instead gets `strong_warp` and the distortions below, each drawn
    uniformly per image between none and the given maximum."""

    warp: Warp = Warp()
    strong: float = 0.0  # fraction of images, drawn per image
    strong_warp: Warp = Warp()
    elastic: float = 0.0  # pixels: a coarse random displacement field, upsampled smoothly
    stroke: float = 0.0  # 0..1: blend toward a cross-shaped grey dilation (thicker) or erosion (thinner)
    noise: float = 0.0  # Gaussian sigma on [0, 1]
    specks: float = 0.0  # fraction of pixels set to ink or paper
    each: float = 1.0  # chance that a strongly augmented image gets each of the four distortions above


@dataclass(frozen=True)
class Recipe:
    name: str
    summary: str
    epochs: int
    batch_size: int
    lr: float  # Adam's rate; with a schedule, its peak
    augment: Augmentation | None = None  # train on randomly transformed images (digitcli.augment)
    schedule: str = "constant"  # or "warmup_cosine": linear warm-up, then cosine decay


RECIPES = {
    "cnn": Recipe(
        "cnn",
        "compact convolutional net with batch normalisation (default)",
        epochs=15,
        batch_size=128,
        lr=0.003,
        # Two in five images as they nearly are, the rest tilted up to 70 degrees, slanted,
        # resized and moved, and each with even odds bent, thinned or thickened, noisy, specked: a user's digits.
        # These ranges differ from the fixed points of `digits robustness`'s sweep.
        augment=Augmentation(
            warp=Warp(),
            strong=0.6,
            strong_warp=Warp(degrees=70, scale=0.4, shear=0.6, shift=4.0),
            elastic=2.5,
            stroke=1.0,
            noise=0.4,
            specks=0.12,
            each=0.5,
        ),
        schedule="warmup_cosine",
    ),
    "mlp": Recipe(
        "mlp",
        "Flatten-Dense(128)-Dense(10), the original README recipe",
        epochs=15,
        batch_size=128,
        lr=0.001,
    ),
}
DEFAULT_MODEL = "cnn"
WARMUP_FRACTION = 0.1  # of all training steps, for the "warmup_cosine" schedule


def build(name: str, lr: float, total_steps: int = 1):
    """A compiled Keras model taking inputs scaled to [0, 1] as (n, 28, 28).

    `total_steps` (epochs x steps per epoch) sizes the learning-rate schedule.
    """
    from .backend import keras

    layers = keras.layers

    if name == "mlp":
        model = keras.Sequential(
            [
                keras.Input((28, 28)),
                layers.Flatten(),
                layers.Dense(128, activation="relu"),
                layers.Dense(10, activation="softmax"),
            ],
            name="mlp",
        )
    elif name == "cnn":
        # Batch norm's running statistics remember about a tenth of the run (2 to
        # 10 steps): long enough to smooth batch noise, short enough to follow the
        # weights, so a quick try of a few dozen steps scores as well as it trains.
        memory = min(10, max(2, total_steps / 10))
        normalised = partial(_normalised, momentum=1 - 1 / memory)
        model = keras.Sequential(
            [
                keras.Input((28, 28)),
                layers.Reshape((28, 28, 1)),
                # No batch norm on the first layer: its outputs' variance is tiny
                # (~0.003), so running statistics that start at 1 are slow to
                # catch up, and short runs would score at chance.
                layers.Conv2D(32, 3, activation="relu"),
                layers.MaxPooling2D(),
                *normalised(layers.Conv2D(48, 3, use_bias=False)),
                layers.MaxPooling2D(),
                *normalised(layers.Conv2D(128, 3, use_bias=False)),
                layers.Flatten(),
                *normalised(layers.Dense(128, use_bias=False)),
                layers.Dropout(0.3),
                layers.Dense(10, activation="softmax"),
            ],
            name="cnn",
        )
    else:
        raise ValueError(f"unknown model {name!r}; choose one of {', '.join(RECIPES)}")
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate=_learning_rate(RECIPES[name], lr, total_steps)),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    return model


def _learning_rate(recipe: Recipe, lr: float, total_steps: int):
    """A constant rate, or a built-in Keras schedule (so saved models need no custom code)."""
    if recipe.schedule == "constant":
        return lr
    from .backend import keras

    # Warm up from a tenth of the peak: large early steps on fresh batch-norm
    # statistics make the first epoch erratic.
    warmup = int(total_steps * WARMUP_FRACTION)
    return keras.optimizers.schedules.CosineDecay(
        initial_learning_rate=lr / 10,
        decay_steps=max(1, total_steps - warmup),
        alpha=0.01,
        warmup_target=lr,
        warmup_steps=warmup,
    )


def _normalised(layer, momentum: float):
    """`layer`, batch-normalised, then ReLU."""
    from .backend import keras

    return [layer, keras.layers.BatchNormalization(momentum=momentum), keras.layers.Activation("relu")]
