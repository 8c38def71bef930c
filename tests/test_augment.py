"""Training-time augmentation and the default cnn recipe that uses it."""

from __future__ import annotations

import numpy as np
import pytest

from conftest import device, invoke

from digitcli import augment, data, models, pipeline, store, train
from digitcli.models import Augmentation, Warp

STILL = Warp(degrees=0, smallest=1, largest=1, shear=0, shift=0)


def gamma_shapes(n: int = 16) -> np.ndarray:
    """An asymmetric test shape, like the letter Γ: a thick bar down the left, one along the top."""
    images = np.zeros((n, 28, 28), np.float32)
    images[:, 4:24, 5:12] = 1.0
    images[:, 4:11, 5:22] = 1.0
    return images


def test_warps_keep_shape_dtype_and_range():
    images = data.load("bundled").x_train[:64].astype(np.float32) / 255
    warped = augment.warp_batch(images, (1, 2)).numpy()
    assert warped.shape == (64, 28, 28) and warped.dtype == np.float32
    assert warped.min() >= 0.0 and warped.max() <= 1.0
    assert not np.allclose(warped, images)
    # Small warps keep most of each digit inside the frame.
    kept = warped.sum(axis=(1, 2)) / images.sum(axis=(1, 2))
    assert kept.min() > 0.6


def test_zero_ranges_leave_images_unchanged():
    images = gamma_shapes(4)
    same = augment.warp_batch(images, (3, 4), STILL).numpy()
    np.testing.assert_allclose(same, images, atol=1e-6)


def test_warps_never_flip():
    images = gamma_shapes(256)
    mirrors = {"left-right": images[:, :, ::-1], "up-down": images[:, ::-1, :]}
    for seed in range(8):
        warped = augment.warp_batch(images, (seed, 0)).numpy().reshape(256, -1)
        closeness = (warped * images.reshape(256, -1)).sum(axis=1)
        for mirror in mirrors.values():
            assert (closeness > (warped * mirror.reshape(256, -1)).sum(axis=1)).all()
        # The mass stays on the left and at the top, where the shape has it.
        warped = warped.reshape(256, 28, 28)
        assert (warped[:, :, :14].sum(axis=(1, 2)) > warped[:, :, 14:].sum(axis=(1, 2))).all()
        assert (warped[:, :14, :].sum(axis=(1, 2)) > warped[:, 14:, :].sum(axis=(1, 2))).all()


def test_warps_are_deterministic_for_a_seed():
    images = gamma_shapes(8)
    first = augment.warp_batch(images, (5, 6)).numpy()
    np.testing.assert_array_equal(first, augment.warp_batch(images, (5, 6)).numpy())
    assert not np.array_equal(first, augment.warp_batch(images, (7, 6)).numpy())



def test_the_strong_fraction_gets_its_distortions_and_the_rest_only_the_warp():
    images = data.load("bundled").x_train[:256].astype(np.float32) / 255
    half = augment.augment_batch(images, (2, 3), Augmentation(warp=STILL, strong=0.5, strong_warp=STILL, noise=0.3)).numpy()
    untouched = np.isclose(half, images, atol=1e-6).all(axis=(1, 2))
    assert 0.35 < untouched.mean() < 0.65  # about half the images drawn strong; noise shows on each of those
    everything = Augmentation(warp=STILL, strong=1.0, strong_warp=Warp(70, 0.5, 1.4, 0.6, 4), elastic=2.5, stroke=1.0,
                              blur=1.5, noise=0.4, specks=0.12)
    strong = augment.augment_batch(images, (2, 3), everything).numpy()
    assert strong.shape == images.shape and strong.dtype == np.float32
    assert strong.min() >= 0.0 and strong.max() <= 1.0
    assert not np.isclose(strong, images, atol=1e-6).all(axis=(1, 2)).any()
    # With no chance of each distortion, a strong image gets only its (here still) warp.
    none = Augmentation(warp=STILL, strong=1.0, strong_warp=STILL, elastic=2.5, stroke=1.0, blur=1.5, noise=0.4, specks=0.12, each=0.0)
    np.testing.assert_allclose(augment.augment_batch(images, (2, 3), none).numpy(), images, atol=1e-6)


def test_each_part_of_a_strong_warp_takes_the_wide_range_with_its_own_odds():
    images = gamma_shapes(400)
    tilt_only = Warp(degrees=60, smallest=1, largest=1, shear=0, shift=0)
    tilted = lambda odds: ~np.isclose(augment.augment_batch(images, (6, 7), Augmentation(
        warp=STILL, strong=1.0, strong_warp=tilt_only, each=0.0, each_warp=odds)).numpy(), images, atol=1e-6).all(axis=(1, 2))
    assert not tilted(0.0).any()  # no part wide: only the (here still) mild warp
    assert tilted(1.0).all()
    assert 0.2 < tilted(0.35).mean() < 0.5  # the tilt widened for about 35 % of the images
    size_only = Warp(degrees=0, smallest=0.5, largest=0.7, shear=0, shift=0)
    shrunk = augment.augment_batch(images, (6, 7), Augmentation(warp=STILL, strong=1.0, strong_warp=size_only, each=0.0, each_warp=0.35)).numpy()
    smaller = shrunk.sum(axis=(1, 2)) < 0.6 * images.sum(axis=(1, 2))
    assert 0.2 < smaller.mean() < 0.5  # size is a part of its own, with the same odds


def test_stroke_changes_make_each_digit_only_thicker_or_only_thinner():
    images = data.load("bundled").x_train[:128].astype(np.float32) / 255
    stroked = augment.augment_batch(images, (4, 5), Augmentation(warp=STILL, strong=1.0, strong_warp=STILL, stroke=1.0)).numpy()
    thicker = (stroked >= images - 1e-6).all(axis=(1, 2))
    thinner = (stroked <= images + 1e-6).all(axis=(1, 2))
    assert (thicker | thinner).all() and thicker.any() and thinner.any()
    ink, new_ink = images.sum(axis=(1, 2)), stroked.sum(axis=(1, 2))
    assert (new_ink[thicker & ~thinner] > ink[thicker & ~thinner]).all()


def test_a_second_stroke_step_goes_further_the_same_way():
    images = data.load("bundled").x_train[:32].astype(np.float32) / 255
    sides = np.random.default_rng(0).random((32, 2)) < 0.5
    stroke = lambda amount: augment._stroke(images, np.full((32, 1, 1), amount, np.float32), sides, steps=2).numpy()
    ink = lambda x: x.sum(axis=(1, 2))
    for one, two in ((stroke(1.0), stroke(2.0)), (stroke(-1.0), stroke(-2.0))):
        np.testing.assert_allclose(stroke(0.0), images)
        assert ((ink(one) - ink(images)) * (ink(two) - ink(one)) > 0).all()  # each step changes every digit further, the same way
    np.testing.assert_allclose(stroke(1.5), (stroke(1.0) + stroke(2.0)) / 2, atol=1e-6)  # between steps: a blend
    np.testing.assert_allclose(stroke(-1.0), augment._stroke(images, np.full((32, 1, 1), -1.0, np.float32), sides).numpy())


@pytest.mark.parametrize("grids", [(4,), (4, 7)])
def test_elastic_bends_move_ink_but_keep_the_digit(grids):
    images = gamma_shapes(64)
    bent = augment.augment_batch(images, (6, 7), Augmentation(warp=STILL, strong=1.0, strong_warp=STILL, elastic=2.5, bend_grids=grids)).numpy()
    moved = np.abs(bent - images).sum(axis=(1, 2))
    assert (moved > 1).mean() > 0.9  # the bend of each image is drawn from none up to the maximum
    assert (np.abs(bent.sum(axis=(1, 2)) - images.sum(axis=(1, 2))) < 0.5 * images.sum(axis=(1, 2))).all()  # bends stretch and squeeze strokes
    assert (bent[:, :, :14].sum(axis=(1, 2)) > bent[:, :, 14:].sum(axis=(1, 2))).all()


def test_blur_spreads_ink_without_moving_or_losing_it():
    images = data.load("bundled").x_train[:64].astype(np.float32) / 255
    blurred = augment.augment_batch(images, (8, 9), Augmentation(warp=STILL, strong=1.0, strong_warp=STILL, blur=2.0)).numpy()
    assert (blurred.max(axis=(1, 2)) <= images.max(axis=(1, 2)) + 1e-6).all()
    assert (blurred.max(axis=(1, 2)) < images.max(axis=(1, 2)) - 0.05).mean() > 0.5  # most images visibly softer
    np.testing.assert_allclose(blurred.sum(axis=(1, 2)), images.sum(axis=(1, 2)), rtol=0.02)  # digits sit away from the frame
    rows = np.arange(28)
    centre = lambda x: (x.sum(axis=2) * rows).sum(axis=1) / x.sum(axis=(1, 2))
    np.testing.assert_allclose(centre(blurred), centre(images), atol=0.1)


def epochs_of(pipeline, count: int):
    """`count` passes over a pipeline, as lists of numpy (images, labels) batches."""
    return [[(x.numpy(), y.numpy()) for x, y in pipeline] for _ in range(count)]


def test_pipeline_keeps_labels_and_is_seeded():
    dataset = data.load("bundled")
    x = dataset.x_train[:300].astype(np.float32) / 255
    y = dataset.y_train[:300]
    one, two = (epochs_of(augment.training_batches(x, y, 128, seed=3), 2) for _ in range(2))
    for epoch in one:
        assert [len(batch_y) for _, batch_y in epoch] == [128, 128, 44]
        images = np.concatenate([batch_x for batch_x, _ in epoch])
        labels = np.concatenate([batch_y for _, batch_y in epoch])
        assert images.dtype == np.float32 and images.shape == (300, 28, 28)
        assert 0.0 <= images.min() and images.max() <= 1.0
        assert labels.dtype == y.dtype and sorted(labels) == sorted(y)
    # Unwarped, each batch is exactly some training images with their own labels.
    for images, labels in epochs_of(augment.training_batches(x, y, 128, seed=3, augmentation=Augmentation(warp=STILL)), 1)[0]:
        index = [int(np.flatnonzero((x == image).all(axis=(1, 2)))[0]) for image in images]
        np.testing.assert_array_equal(labels, y[index])
    for epoch_one, epoch_two in zip(one, two):
        for (x1, y1), (x2, y2) in zip(epoch_one, epoch_two):
            np.testing.assert_array_equal(x1, x2)
            np.testing.assert_array_equal(y1, y2)
    assert not np.array_equal(one[0][0][0], one[1][0][0])  # a new shuffle and new warps each epoch
    other_seed = epochs_of(augment.training_batches(x, y, 128, seed=4), 1)
    assert not np.array_equal(one[0][0][0], other_seed[0][0][0])


def test_unaugmented_pipeline_shuffles_each_epoch_and_keeps_every_image_with_its_label():
    x = np.arange(300, dtype=np.float32)[:, None, None] * np.ones((1, 28, 28), np.float32) / 300
    y = np.arange(300) % 10
    one, two = epochs_of(augment.training_batches(x, y, 128, seed=3, augmentation=None), 2)
    for epoch in (one, two):
        index = np.concatenate([np.rint(batch_x[:, 0, 0] * 300).astype(int) for batch_x, _ in epoch])
        assert sorted(index) == list(range(300))
        np.testing.assert_array_equal(np.concatenate([batch_y for _, batch_y in epoch]), y[index])
    assert not np.array_equal(one[0][0][0], two[0][0][0])  # a new shuffle each epoch


def test_pipelines_run_without_the_autotuning_thread_that_stalls_the_end_of_each_pass():
    x, y = np.zeros((10, 28, 28), np.float32), np.zeros(10, np.int64)
    for pipeline in (augment.training_batches(x, y, 4, seed=0), augment.training_batches(x, y, 4, seed=0, augmentation=None),
                     augment.in_order(x, y, 4), augment.in_order(x, None, 4)):
        assert pipeline.options().autotune.enabled is False
    assert [len(batch) for batch in augment.in_order(x, None, 4)] == [4, 4, 2]


class Silent:
    def on_train_begin(self, epochs, steps_per_epoch): ...
    def on_epoch_begin(self, epoch): ...
    def on_batch_end(self, step, logs): ...
    def on_epoch_end(self, epoch, logs, seconds): ...
    def on_train_end(self): ...
    def on_notice(self, message): ...


@pytest.fixture(scope="module")
def short_cnn_run():
    config = train.TrainConfig(limit=600, epochs=2, batch_size=32)
    return train.train(config, data.load("bundled"), Silent())


def test_a_short_cnn_run_beats_chance(short_cnn_run):
    meta = short_cnn_run.metadata
    assert meta["architecture"] == "cnn"
    assert meta["test_accuracy"] > 0.3
    assert sorted(short_cnn_run.history) == ["accuracy", "loss", "val_accuracy", "val_loss"]


def test_the_cnn_with_its_schedule_saves_and_loads_in_safe_mode(short_cnn_run, tmp_path):
    path = tmp_path / "cnn.keras"
    store.save(short_cnn_run.model, short_cnn_run.metadata, path, overwrite=False)
    model, meta = store.load(path)
    images = data.load("bundled").x_test[:32].astype(np.float32) / 255
    np.testing.assert_allclose(model.predict(images, verbose=0), short_cnn_run.model.predict(images, verbose=0), atol=1e-5)
    assert meta["test_accuracy"] == short_cnn_run.metadata["test_accuracy"]


def test_the_augmentation_is_kept_in_the_model_file_and_shown(tmp_path):
    target = tmp_path / "standard.keras"
    result = invoke("train", "--augment", "standard", "--epochs", "1", "--limit", "300", "--output", str(target), "--progress", "plain")
    assert result.exit_code == 0, result.output
    assert f"Model: cnn, 1 epoch, batch 128, lr 0.003, validation split 0.1, seed 0, augment standard, on {device()}" in result.stderr.splitlines()
    training = store.read_metadata(target)["training"]
    assert (training["augment"], training["dropout"]) == ("standard", 0.3)  # the cnn's own dropout with mild warps
    described = invoke("show", "model", "--model", str(target))
    assert described.exit_code == 0
    assert "augment standard" in " ".join(described.stdout.replace("│", " ").split())
    config = train.TrainConfig(epochs=1, limit=300, augment="standard")
    assert pipeline.command(config) == "digits train --model cnn --epochs 1 --augment standard --limit 300"


def test_dropout_and_epochs_follow_the_augmentation_unless_given():
    default = train.TrainConfig().resolved()
    assert (default.augment, default.dropout, default.epochs) == ("strong", 0.0, 17)  # strong's own
    standard = train.TrainConfig(augment="standard").resolved()
    assert (standard.dropout, standard.epochs) == (models.DEFAULT_DROPOUT["cnn"], models.RECIPES["cnn"].epochs) == (0.3, 15)
    given = train.TrainConfig(augment="standard", dropout=0.0, epochs=17)
    assert (given.resolved().dropout, given.resolved().epochs) == (0.0, 17)
    assert pipeline.describe(given) == "cnn, 17 epochs, batch 128, lr 0.003, validation split 0.1, seed 0, dropout 0, augment standard"
    assert pipeline.command(given) == "digits train --model cnn --epochs 17 --dropout 0 --augment standard"
    assert pipeline.command(train.TrainConfig(augment="strong")) == "digits train --model cnn"
    assert pipeline.command(train.TrainConfig(dropout=0.3)) == "digits train --model cnn --dropout 0.3"


def test_augment_names_the_recipes_and_applies_to_the_cnn_only():
    assert train.TrainConfig().resolved().augment == models.RECIPES["cnn"].augment == "strong"
    assert train.TrainConfig(model="mlp").resolved().augment is None
    assert models.AUGMENTATIONS["standard"] == models.Augmentation()
    result = invoke("train", "--model", "mlp", "--augment", "strong")
    assert result.exit_code == 2
    assert result.stderr == "Error: --augment applies to --model cnn only, not mlp\n"
    result = invoke("train", "--augment", "wild")
    assert result.exit_code == 2
    assert result.stderr.splitlines()[-1] == "Error: Invalid value for '--augment': Value error, 'wild' is not one of 'standard', 'strong'."


def test_help_gives_the_defaults_that_follow_the_augmentation():
    result = invoke("train", "--help")
    assert result.exit_code == 0
    text = " ".join(result.stdout.replace("│", " ").split())
    assert "17 for cnn (15 with --augment standard), 15 for mlp" in text
    assert "0 for cnn (0.3 with --augment standard), 0 for mlp" in text
