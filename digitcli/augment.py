"""Training-time augmentation: random warps, bends, stroke widths, blur and noise of whole batches.

A person's digits are tilted, slanted, small or large, off-centre, written with
thin or thick pens, soft or blurred, and scanned with noise and specks. Every
image gets a mild affine warp; a fraction of them (models.Augmentation.strong)
instead gets one whose tilt, slant, move and size each take a wide range with
their own odds and, each with its own odds, an elastic bend, a thinner
or thicker stroke, a blur, Gaussian noise and salt-and-pepper specks, each
drawn per image from none up to its maximum, so the model also keeps seeing
digits close to clean ones. Digits are never flipped, since a mirrored 2 or 7 is
not a 2 or 7.

Everything is computed for the whole batch at once (TensorFlow's own resampling
kernel for the warps, one bilinear gather for the images that get a bend, one
batched matrix product for those that get a blur) inside the tf.data pipeline,
so the model itself stays free of augmentation layers.
"""

from __future__ import annotations

import math

from .backend import tf
from .models import Augmentation, Warp

SIDE = 28
COARSE = 4  # the elastic field is drawn on a 4 x 4 grid and upsampled: smooth bends, not jitter
DISTORTIONS = 5  # elastic, stroke, blur, noise, specks: each strong image gets each with odds `each`

__all__ = ["Augmentation", "Warp", "augment_batch", "warp_batch", "training_batches"]


def _ranges(warp: Warp):
    return tf.constant([warp.degrees * math.pi / 180, warp.shear, warp.shift, warp.shift], tf.float32)


def augment_batch(images, seed, augmentation: Augmentation):
    """Randomly transform float images (n, 28, 28) in [0, 1]; the same `seed` (two ints) gives the same result."""
    if not augmentation.strong:  # every image mildly warped (`--augment standard`)
        return warp_batch(images, seed, augmentation.warp)
    images = tf.convert_to_tensor(images, tf.float32)
    n = tf.shape(images)[0]
    seeds = tf.random.experimental.stateless_split(tf.cast(seed, tf.int64), 12)

    def uniform(shape, i, low=0.0):
        return tf.random.stateless_uniform(shape, seed=seeds[i], minval=low, maxval=1.0)

    strong = tf.cast(uniform((n,), 0) < augmentation.strong, tf.float32)  # 1 for strongly augmented images
    # Which distortions each strong image gets: all at once would be too hard to read.
    gets = strong[:, None] * tf.cast(uniform((n, DISTORTIONS), 1) < augmentation.each, tf.float32)
    mild, wide = augmentation.warp, augmentation.strong_warp
    # Which parts of a strong image's warp (tilt, slant, move, size) take the wide range; the rest stay mild.
    widened = strong[:, None] * tf.cast(tf.random.stateless_uniform((n, 4), seed=seeds[11] + 1) < augmentation.each_warp, tf.float32)
    ranged = tf.gather(widened, [0, 1, 2, 2], axis=1)  # as _ranges: tilt, slant, then the move across and down
    draws = uniform((n, 4), 2, low=-1.0) * (ranged * _ranges(wide) + (1 - ranged) * _ranges(mild))
    # Size factors are drawn evenly on a log scale between the smallest and the largest.
    sized = widened[:, 3]
    low = sized * math.log(wide.smallest) + (1 - sized) * math.log(mild.smallest)
    high = sized * math.log(wide.largest) + (1 - sized) * math.log(mild.largest)
    zoom = tf.exp(low + uniform((n,), 3) * (high - low))
    out = _affine(images, draws[:, 0], zoom, draws[:, 1], draws[:, 2], draws[:, 3])
    # Each distortion is computed only for the images drawn for it.
    if augmentation.elastic:
        out = _only(out, uniform((n,), 4) * augmentation.elastic * gets[:, 0], lambda x, amount, _: _bend(x, amount, seeds[5], augmentation.bend_grids))
    if augmentation.stroke:
        # Half the changed strokes get the full change, the rest a blend toward it.
        amount = tf.clip_by_value(2 * uniform((n,), 6, low=-1.0), -1.0, 1.0) * augmentation.stroke * gets[:, 1]
        sides = uniform((n, 2), 11) < 0.5
        out = _only(out, amount, lambda x, amount, chosen: _stroke(x, amount[:, None, None], tf.gather(sides, chosen), math.ceil(augmentation.stroke)))
    if augmentation.blur:
        out = _only(out, uniform((n,), 7) * augmentation.blur * gets[:, 2], lambda x, sigma, _: _blur(x, sigma))
    if augmentation.noise:
        noisy = lambda x, sigma, _: x + sigma[:, None, None] * tf.random.stateless_normal(tf.shape(x), seed=seeds[9])
        out = _only(out, uniform((n,), 8) * augmentation.noise * gets[:, 3], noisy)
    if augmentation.specks:
        out = _only(out, uniform((n,), 10) * augmentation.specks * gets[:, 4], lambda x, fraction, _: _specks(x, fraction, seeds[10] + 1))
    return tf.clip_by_value(out, 0.0, 1.0)


def warp_batch(images, seed, warp: Warp = Warp()):
    """Only an affine warp of every image, by TensorFlow's own resampling kernel (the cheapest way)."""
    images = tf.convert_to_tensor(images, tf.float32)
    n = tf.shape(images)[0]
    draws = tf.random.stateless_uniform((n, 5), seed=seed, minval=-1.0, maxval=1.0)
    angle = draws[:, 0] * (warp.degrees * math.pi / 180)
    zoom = (warp.smallest + warp.largest) / 2 + draws[:, 1] * ((warp.largest - warp.smallest) / 2)
    return tf.clip_by_value(_affine(images, angle, zoom, draws[:, 2] * warp.shear, draws[:, 3] * warp.shift, draws[:, 4] * warp.shift), 0.0, 1.0)


def _affine(images, angle, zoom, shear, dx, dy):
    """Each image turned by `angle` (radians), resized by `zoom`, slanted by `shear` and moved by (dx, dy) pixels.

    One call of TensorFlow's own resampling kernel (ImageProjectiveTransformV3, as
    keras' RandomRotation uses) for the whole batch; outside the frame is paper (0).
    """
    # The kernel maps each *output* pixel to the input point it samples, so build
    # that inverse map: about the centre, undo shift, rotation, shear and zoom.
    cos, sin = tf.cos(angle) / zoom, tf.sin(angle) / zoom
    a0, a1 = cos, sin + shear * cos
    b0, b1 = -sin, cos - shear * sin
    c = (SIDE - 1) / 2
    a2 = c - a0 * (c + dx) - a1 * (c + dy)
    b2 = c - b0 * (c + dx) - b1 * (c + dy)
    zeros = tf.zeros_like(a0)
    warped = tf.raw_ops.ImageProjectiveTransformV3(
        images=images[..., None],
        transforms=tf.stack([a0, a1, a2, b0, b1, b2, zeros, zeros], axis=1),
        output_shape=[SIDE, SIDE],
        fill_value=0.0,
        interpolation="BILINEAR",
        fill_mode="CONSTANT",
    )
    return warped[..., 0]


def _only(images, amount, change):
    """`change(some_images, their_amounts, their_indices)` applied only to the images whose amount is not 0; the rest unchanged."""
    chosen = tf.where(amount != 0)[:, 0]
    changed = change(tf.gather(images, chosen), tf.gather(amount, chosen), chosen)
    return tf.tensor_scatter_nd_update(images, chosen[:, None], changed)


def _specks(images, fraction, seed):
    """A `fraction` of each image's pixels set to ink (1) or paper (0), half each."""
    draws = tf.random.stateless_uniform(tf.shape(images), seed=seed)
    fraction = fraction[:, None, None]
    return tf.where(draws < fraction / 2, 1.0, tf.where(draws < fraction, 0.0, images))


def _bend(images, amount, seed, grids=(COARSE,)):
    """Elastic bends of up to `amount` pixels per image, from a coarse random field upsampled smoothly.

    Each image's field is drawn on a grid of one of the sizes `grids` (drawn per
    image): the finer the grid, the narrower each bend, and the smaller (as
    `amount` x 4 / size), so that fine bends do not tear strokes apart.
    """
    n = tf.shape(images)[0]
    which = tf.random.stateless_uniform((n,), seed=seed + 2, maxval=len(grids), dtype=tf.int32)
    field = 0.0
    for i, size in enumerate(grids):
        coarse = tf.random.stateless_uniform((2, n, size, size), seed=seed + i, minval=-1.0, maxval=1.0)
        coarse *= (amount * (COARSE / size) * tf.cast(which == i, tf.float32))[:, None, None]
        # Bicubic upsampling is separable: up.T @ coarse @ up, with `up` the upsampled unit vectors.
        up = tf.image.resize(tf.eye(size)[:, :, None, None], (SIDE, 1), method="bicubic")[..., 0, 0]  # (size, 28)
        field += tf.einsum("ir,knij,jc->knrc", up, coarse, up)
    rows, cols = tf.meshgrid(tf.range(SIDE, dtype=tf.float32), tf.range(SIDE, dtype=tf.float32), indexing="ij")
    return _bilinear(images, rows[None] + field[0], cols[None] + field[1])


def _blur(images, sigma):
    """A Gaussian blur of `sigma` pixels per image: K @ image @ K.T, with K normalised per row."""
    offsets = tf.range(SIDE, dtype=tf.float32)
    distance = offsets[:, None] - offsets[None, :]
    sigma = tf.maximum(sigma, 0.1)[:, None, None]  # below ~0.2 the kernel is the identity anyway
    kernels = tf.exp(-0.5 * (distance[None] / sigma) ** 2)
    kernels /= tf.reduce_sum(kernels, axis=2, keepdims=True)
    return tf.linalg.matmul(tf.linalg.matmul(kernels, images), kernels, transpose_b=True)


def _bilinear(images, rows, cols):
    """Samples of each image at (n, 28, 28) source coordinates; outside the frame is paper (0)."""
    n = tf.shape(images)[0]
    flat = tf.reshape(images, [-1])
    offset = (tf.range(n) * SIDE * SIDE)[:, None, None]
    r0, c0 = tf.floor(rows), tf.floor(cols)
    fr, fc = rows - r0, cols - c0
    r0, c0 = tf.cast(r0, tf.int32), tf.cast(c0, tf.int32)
    out = tf.zeros_like(rows)
    for dr, wr in ((0, 1 - fr), (1, fr)):
        for dc, wc in ((0, 1 - fc), (1, fc)):
            r, c = r0 + dr, c0 + dc
            inside = tf.cast((r >= 0) & (r < SIDE) & (c >= 0) & (c < SIDE), tf.float32)
            where = offset + tf.clip_by_value(r, 0, SIDE - 1) * SIDE + tf.clip_by_value(c, 0, SIDE - 1)
            out += wr * wc * inside * tf.gather(flat, where)
    return out


def _stroke(images, amount, sides, steps: int = 1):
    """Thicker strokes (amount > 0) or thinner ones (< 0) by up to `steps` steps, blended by |amount|.

    One step thicker: a grey dilation with a 3 x 3 cross (the pixel and its 4 neighbours).
    One step thinner: a grey erosion with an L of three pixels, the pixel and one neighbour
    across and one up or down, on the sides drawn per image (`sides`, (n, 2) booleans).
    |amount| between k and k + 1 takes k full steps and blends toward the next.
    """
    out, thick, thin = images, images, images
    for step in range(steps):
        thicker, thinner = _dilated(thick), _eroded(thin, sides)
        out += tf.clip_by_value(amount - step, 0.0, 1.0) * (thicker - thick) + tf.clip_by_value(-amount - step, 0.0, 1.0) * (thinner - thin)
        thick, thin = thicker, thinner
    return out


def _neighbours(images):
    padded = tf.pad(images, [[0, 0], [1, 1], [1, 1]])
    return padded[:, :SIDE, 1:-1], padded[:, 2:, 1:-1], padded[:, 1:-1, :SIDE], padded[:, 1:-1, 2:]


def _dilated(images):
    up, down, left, right = _neighbours(images)
    return tf.maximum(tf.maximum(images, tf.maximum(up, down)), tf.maximum(left, right))


def _eroded(images, sides):
    up, down, left, right = _neighbours(images)
    vertical = tf.where(sides[:, 0, None, None], up, down)
    across = tf.where(sides[:, 1, None, None], left, right)
    return tf.minimum(images, tf.minimum(vertical, across))


def training_batches(x, y, batch_size: int, seed: int, augmentation: Augmentation | None = Augmentation()):
    """A tf.data pipeline of shuffled, augmented batches of float [0, 1] images and their labels.

    Shuffling and augmentation change every epoch and depend only on `seed`;
    `augmentation` None shuffles only.
    """
    x = tf.convert_to_tensor(x, tf.float32)
    y = tf.convert_to_tensor(y)
    # Shuffle indices, not images, and gather whole batches: no per-image work.
    indices = tf.data.Dataset.range(len(x)).shuffle(len(x), seed=seed, reshuffle_each_iteration=True)
    if augmentation is None:
        return steady(indices.batch(batch_size).map(lambda index: (tf.gather(x, index), tf.gather(y, index))).prefetch(2))
    # One fresh random number per batch and epoch seeds that batch's transforms.
    batch_seeds = tf.data.Dataset.random(seed=seed, rerandomize_each_iteration=True)

    def augmented(index, batch_seed):
        return augment_batch(tf.gather(x, index), tf.stack([batch_seed, seed]), augmentation), tf.gather(y, index)

    batches = tf.data.Dataset.zip(indices.batch(batch_size), batch_seeds)
    return steady(batches.map(augmented, num_parallel_calls=tf.data.AUTOTUNE).prefetch(2))


def in_order(x, y, batch_size: int):
    """Batches of `x` (and `y`, unless None) as they are, for validating and predicting."""
    return steady(tf.data.Dataset.from_tensor_slices(x if y is None else (x, y)).batch(batch_size))


def steady(dataset):
    """`dataset` without tf.data's autotuning thread.

    When a pass over a dataset ends, TensorFlow waits for that thread, which
    sleeps up to 10 s between looks at the pipeline: on 2 cores about one epoch
    in three stood idle for 10 s or more, training and validation alike. Without
    it, AUTOTUNE parallelism is one call per core, and the pipeline keeps up.
    """
    options = tf.data.Options()
    options.autotune.enabled = False
    return dataset.with_options(options)
