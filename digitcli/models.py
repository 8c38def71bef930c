"""Model architectures by name, each with its own training defaults."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Recipe:
    name: str
    summary: str
    epochs: int
    batch_size: int
    lr: float


RECIPES = {
    "cnn": Recipe(
        "cnn",
        "compact convolutional net with batch normalisation (default)",
        epochs=15,
        batch_size=128,
        lr=0.001,
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


def build(name: str, lr: float):
    """A compiled Keras model taking uint8-range inputs scaled to [0, 1] as (n, 28, 28)."""
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
        model = keras.Sequential(
            [
                keras.Input((28, 28)),
                layers.Reshape((28, 28, 1)),
                *_conv_block(32),
                layers.MaxPooling2D(),
                *_conv_block(64),
                layers.MaxPooling2D(),
                layers.Flatten(),
                layers.Dropout(0.4),
                layers.Dense(10, activation="softmax"),
            ],
            name="cnn",
        )
    else:
        raise ValueError(f"unknown model {name!r}; choose one of {', '.join(RECIPES)}")
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate=lr),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    return model


def _conv_block(filters: int):
    from .backend import keras

    layers = keras.layers
    return [
        layers.Conv2D(filters, 3, use_bias=False),
        layers.BatchNormalization(),
        layers.Activation("relu"),
    ]
