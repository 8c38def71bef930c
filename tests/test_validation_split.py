"""`--val-split F` holds out the last fraction of the training images, as Keras' validation_split does.

Keras documents: "The validation data is selected from the last samples in the x and y data
provided, before shuffling", cut at floor(n * (1 - F)). The numbers below are worked out by hand,
and the saved model's validation loss is recomputed from the images the README says were held out.
"""

from __future__ import annotations

import numpy as np
import pytest

from digitcli import store
from digitcli.train import split

from oracle import bundled, keras_probabilities


@pytest.mark.parametrize(
    "n,fraction,train_ids,val_ids",
    [
        (10, 0.2, range(0, 8), range(8, 10)),
        (10, 0.25, range(0, 7), range(7, 10)),  # 7.5 training images: the cut rounds down, as in Keras
        (7, 0.5, range(0, 3), range(3, 7)),
        (500, 0.1, range(0, 450), range(450, 500)),
        (5, 0.0, range(0, 5), range(0)),
    ],
)
def test_the_last_fraction_is_held_out(n, fraction, train_ids, val_ids):
    x = np.arange(n * 4).reshape(n, 2, 2)
    y = np.arange(n) * 10
    (x_train, y_train), (x_val, y_val) = split(x, y, fraction)
    assert y_train.tolist() == [10 * i for i in train_ids]
    assert y_val.tolist() == [10 * i for i in val_ids]
    assert x_train[:, 0, 0].tolist() == [4 * i for i in train_ids]
    assert x_val[:, 0, 0].tolist() == [4 * i for i in val_ids]


def test_the_saved_validation_loss_is_that_of_the_last_images(tiny_model):
    """tiny_model: --limit 500, so images 450-499 were held out; the last epoch's val_loss is theirs."""
    meta = store.read_metadata(tiny_model)
    assert (meta["data"]["n_train"], meta["data"]["n_val"]) == (450, 50)
    images, labels = bundled("train-images-idx3-ubyte")[:500], bundled("train-labels-idx1-ubyte")[:500]

    def loss(selection):
        probabilities = keras_probabilities(tiny_model, images[selection])
        picked = np.clip(probabilities[np.arange(len(probabilities)), labels[selection]], 1e-7, 1)
        return float(-np.log(picked).mean())

    held_out, first = loss(slice(450, 500)), loss(slice(0, 50))
    assert abs(held_out - first) > 0.01  # the two candidates differ enough to tell apart
    assert meta["history"]["val_loss"][-1] == pytest.approx(held_out, rel=1e-4)
