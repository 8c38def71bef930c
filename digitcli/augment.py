"""Training-time augmentation: small random affine warps of whole batches.

Handwriting varies by a few degrees of slant, a little in size and a pixel or
two in position, so the warps stay within those ranges; digits are never
flipped, since a mirrored 2 or 7 is not a 2 or 7. Each batch is warped in one
vectorised op (one 3x3 transform per image) inside the tf.data pipeline, so
augmentation costs a small fraction of a training step and the model itself
stays free of augmentation layers.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from .backend import tf

SIDE = 28


@dataclass(frozen=True)
class Warp:
    """Ranges of the random affine warp; each is drawn uniformly per image."""

    degrees: float = 10.0  # rotation, either way
    scale: float = 0.1  # zoom factor within 1 +- scale
    shear: float = 0.15  # horizontal shear (slant), as a fraction of height
    shift: float = 2.5  # translation in pixels, each axis


DEFAULT_WARP = Warp()


def warp_batch(images, seed, warp: Warp = DEFAULT_WARP):
    """Randomly warp float images (n, 28, 28); the same `seed` (two ints) gives the same warps."""
    images = tf.convert_to_tensor(images, tf.float32)
    n = tf.shape(images)[0]
    draws = tf.random.stateless_uniform((n, 5), seed=seed, minval=-1.0, maxval=1.0)
    angle = draws[:, 0] * (warp.degrees * math.pi / 180)
    zoom = 1.0 + draws[:, 1] * warp.scale
    shear = draws[:, 2] * warp.shear
    dx, dy = draws[:, 3] * warp.shift, draws[:, 4] * warp.shift
    # ImageProjectiveTransform maps each *output* pixel to the input pixel it samples,
    # so build that inverse map: about the centre, undo shift, rotation, shear and zoom.
    cos, sin = tf.cos(angle) / zoom, tf.sin(angle) / zoom
    a0, a1 = cos, sin + shear * cos
    b0, b1 = -sin, cos - shear * sin
    c = (SIDE - 1) / 2
    a2 = c - a0 * (c + dx) - a1 * (c + dy)
    b2 = c - b0 * (c + dx) - b1 * (c + dy)
    zeros = tf.zeros_like(a0)
    transforms = tf.stack([a0, a1, a2, b0, b1, b2, zeros, zeros], axis=1)
    warped = tf.raw_ops.ImageProjectiveTransformV3(
        images=images[..., None],
        transforms=transforms,
        output_shape=[SIDE, SIDE],
        fill_value=0.0,
        interpolation="BILINEAR",
        fill_mode="CONSTANT",
    )
    return tf.clip_by_value(warped[..., 0], 0.0, 1.0)


def training_batches(x, y, batch_size: int, seed: int, warp: Warp = DEFAULT_WARP):
    """A tf.data pipeline of shuffled, warped batches of float [0, 1] images and their labels.

    Shuffling and warps change every epoch and depend only on `seed`.
    """
    x = tf.convert_to_tensor(x, tf.float32)
    y = tf.convert_to_tensor(y)
    # Shuffle indices, not images, and gather whole batches: no per-image work.
    indices = tf.data.Dataset.range(len(x)).shuffle(len(x), seed=seed, reshuffle_each_iteration=True)
    # One fresh random number per batch and epoch seeds that batch's warps.
    batch_seeds = tf.data.Dataset.random(seed=seed, rerandomize_each_iteration=True)

    def warped(index, batch_seed):
        return warp_batch(tf.gather(x, index), tf.stack([batch_seed, seed]), warp), tf.gather(y, index)

    batches = tf.data.Dataset.zip(indices.batch(batch_size), batch_seeds)
    return batches.map(warped, num_parallel_calls=tf.data.AUTOTUNE).prefetch(tf.data.AUTOTUNE)
