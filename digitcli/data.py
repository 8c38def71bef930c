"""Finding, validating and loading MNIST.

Every reader checks a file's header against its real length before it
allocates anything large, so a corrupt or hostile file gives a DataError,
never a crash or a huge allocation.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import struct
import tempfile
import urllib.request
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .errors import DataError

SIDE = 28
IMAGE_BYTES = SIDE * SIDE
MAX_IMAGES = 1_000_000  # far above MNIST's 70,000; bounds what a header may ask for
MAX_DEFLATE_RATIO = 1032  # deflate cannot pack more than this many bytes into one

BUNDLED_DIR = Path(__file__).parent / "mnist"
KERAS_URL = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/mnist.npz"
KERAS_SHA256 = "731c5ac602752760c8e48fbffcf8c3b850d9dc2a2aedcf2cc48468fc17b673d1"
DOWNLOAD_TIMEOUT_S = 30

IDX_IMAGES_MAGIC = 0x00000803  # unsigned bytes, 3 dimensions
IDX_LABELS_MAGIC = 0x00000801  # unsigned bytes, 1 dimension
IDX_STEMS = {
    "train_images": ("train-images-idx3-ubyte", "train-images.idx3-ubyte"),
    "train_labels": ("train-labels-idx1-ubyte", "train-labels.idx1-ubyte"),
    "test_images": ("t10k-images-idx3-ubyte", "t10k-images.idx3-ubyte"),
    "test_labels": ("t10k-labels-idx1-ubyte", "t10k-labels.idx1-ubyte"),
}
NPZ_KEYS = ("x_train", "y_train", "x_test", "y_test")


@dataclass
class Dataset:
    x_train: np.ndarray  # uint8, (n, 28, 28)
    y_train: np.ndarray  # uint8, (n,)
    x_test: np.ndarray
    y_test: np.ndarray
    source: str  # what a user reads: where the data came from

    @property
    def fingerprint(self) -> str:
        """sha256 over the four arrays: identifies the exact data a model saw."""
        digest = hashlib.sha256()
        for array in (self.x_train, self.y_train, self.x_test, self.y_test):
            digest.update(np.ascontiguousarray(array).tobytes())
        return digest.hexdigest()

    def describe(self) -> str:
        if not len(self.x_train):  # test files only: enough for every command but `train`
            return f"{self.source}: {len(self.x_test):,} test images"
        return (
            f"{self.source}: {len(self.x_train):,} training and "
            f"{len(self.x_test):,} test images"
        )


def to_unit(images: np.ndarray) -> np.ndarray:
    """Pixels as the float32 [0, 1] inputs every model takes: uint8 0-255 are scaled, floats kept."""
    images = np.asarray(images)
    return images.astype(np.float32) / 255.0 if images.dtype == np.uint8 else images.astype(np.float32)


# --- finding the data -------------------------------------------------------


def keras_cache_path() -> Path:
    """Where Keras' own `mnist.load_data()` keeps its download."""
    home = os.environ.get("KERAS_HOME") or Path.home() / ".keras"
    return Path(home) / "datasets" / "mnist.npz"


def load(spec: str | None = None, download: bool = True, need_train: bool = True) -> Dataset:
    """Load MNIST from `spec` (a directory, an .npz file or "bundled").

    With no spec: $DIGITS_DATA, then the Keras cache, then a download of the
    full MNIST into that cache, then the copy bundled with the package.
    Without `need_train`, a directory or .npz may hold the test set alone;
    the training arrays are then empty.
    """
    spec = spec or os.environ.get("DIGITS_DATA") or None
    if spec == "bundled":
        return load_bundled()
    if spec:
        return load_path(Path(spec), need_train)
    cache = keras_cache_path()
    if cache.exists():
        return load_npz(cache, source=f"Keras cache {cache}")
    if download and os.environ.get("DIGITS_OFFLINE") != "1":
        try:
            fetch_keras_mnist(cache)
        except OSError as exc:
            reason = getattr(exc, "reason", None) or exc
            bundled = load_bundled()
            bundled.source += f"; the full MNIST could not be downloaded ({getattr(reason, 'strerror', None) or reason})"
            return bundled
        return load_npz(cache, source=f"full MNIST downloaded to {cache}")
    return load_bundled()


def load_bundled() -> Dataset:
    dataset = load_idx_dir(BUNDLED_DIR)
    dataset.source = "bundled MNIST (offline copy)"
    return dataset


def load_path(path: Path, need_train: bool = True) -> Dataset:
    if not path.exists():
        raise DataError(f"data path {path} does not exist; give a directory of MNIST IDX files or an .npz file")
    if path.is_dir():
        return load_idx_dir(path, need_train)
    if path.suffix == ".npz":
        return load_npz(path, need_train=need_train)
    raise DataError(f"{path} is neither a directory of MNIST IDX files nor an .npz file")


def fetch_keras_mnist(dest: Path) -> None:
    """Download MNIST as Keras does, verify its checksum, then move it into place."""
    url, sha256 = KERAS_URL, KERAS_SHA256
    dest.parent.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    fd, tmp = tempfile.mkstemp(dir=dest.parent, suffix=".part")
    try:
        with os.fdopen(fd, "wb") as out, urllib.request.urlopen(url, timeout=DOWNLOAD_TIMEOUT_S) as response:
            while chunk := response.read(1 << 20):
                digest.update(chunk)
                out.write(chunk)
        if digest.hexdigest() != sha256:
            raise DataError(f"downloaded MNIST from {url} failed its checksum; nothing was saved")
        os.replace(tmp, dest)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


# --- IDX files --------------------------------------------------------------


TRAIN_NEEDS = "training needs the four MNIST IDX files (train-* and t10k-*)"
TEST_NEEDS = "it needs at least the two test files t10k-images-idx3-ubyte and t10k-labels-idx1-ubyte (raw or .gz)"


def _find_idx(directory: Path, key: str, needs: str | None = None) -> Path | None:
    """The file for `key`, raw or .gz; None if absent and not needed (`needs` says why it is)."""
    for stem in IDX_STEMS[key]:
        for name in (stem, stem + ".gz"):
            if (directory / name).is_file():
                return directory / name
    if needs is None:
        return None
    wanted = IDX_STEMS[key][0]
    raise DataError(f"{directory} has no {wanted} (or {wanted}.gz); {needs}")


def load_idx_dir(directory: Path, need_train: bool = True) -> Dataset:
    """The four IDX files; without `need_train` the two test files suffice (training arrays then empty)."""
    needs = TRAIN_NEEDS if need_train else None
    paths = {key: _find_idx(directory, key, needs) for key in ("train_images", "train_labels")}
    paths |= {key: _find_idx(directory, key, needs or TEST_NEEDS) for key in ("test_images", "test_labels")}
    if paths["train_images"] and paths["train_labels"]:
        x_train = read_idx(paths["train_images"], images=True)
        y_train = read_idx(paths["train_labels"], images=False)
        _check_pair(x_train, y_train, paths["train_images"], paths["train_labels"])
    else:
        x_train, y_train = _no_training_set()
    x_test = read_idx(paths["test_images"], images=True)
    y_test = read_idx(paths["test_labels"], images=False)
    _check_pair(x_test, y_test, paths["test_images"], paths["test_labels"])
    return Dataset(x_train, y_train, x_test, y_test, source=f"MNIST IDX files in {directory}")


def _no_training_set() -> tuple[np.ndarray, np.ndarray]:
    return np.zeros((0, SIDE, SIDE), np.uint8), np.zeros(0, np.uint8)


def read_idx(path: Path, images: bool) -> np.ndarray:
    """Read one MNIST IDX file (raw or .gz), validating it as it goes."""
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as stream:
            array = _read_idx_stream(stream, path, images)
    except (EOFError, gzip.BadGzipFile, zlib.error) as exc:
        raise DataError(f"{path} is truncated or not a valid gzip file ({exc})") from None
    except OSError as exc:
        raise DataError(f"cannot read {path}: {exc.strerror or exc}") from None
    if not images and array.size and array.max() > 9:
        raise DataError(f"{path} holds label {int(array.max())}; MNIST labels are 0-9")
    return array


def _read_idx_stream(stream, path: Path, images: bool) -> np.ndarray:
    kind = "image" if images else "label"
    magic_expected = IDX_IMAGES_MAGIC if images else IDX_LABELS_MAGIC
    header_size = 16 if images else 8
    header = stream.read(header_size)
    if len(header) < 4:
        raise DataError(f"{path} is too short to be an MNIST {kind} file")
    (magic,) = struct.unpack(">I", header[:4])
    if magic != magic_expected:
        raise DataError(
            f"{path} has magic number 0x{magic:08x}, not 0x{magic_expected:08x}: it is not an MNIST {kind} file"
        )
    if len(header) < header_size:
        raise DataError(f"{path} is truncated inside its header")
    dims = struct.unpack(">" + "I" * ((header_size - 4) // 4), header[4:])
    count = dims[0]
    if images and dims[1:] != (SIDE, SIDE):
        raise DataError(f"{path} holds {dims[1]}x{dims[2]} images; digits needs 28x28")
    if count > MAX_IMAGES:
        raise DataError(f"{path} declares {count:,} {kind}s, more than the {MAX_IMAGES:,} digits accepts")
    item = IMAGE_BYTES if images else 1
    expected = count * item
    # Read in chunks so that memory grows only with the bytes actually present.
    content = bytearray()
    while len(content) < expected:
        chunk = stream.read(min(1 << 20, expected - len(content)))
        if not chunk:
            break
        content += chunk
    got = len(content)
    if got < expected:
        raise DataError(f"{path} declares {count:,} {kind}s but holds only {got // item:,}: the file is truncated")
    if stream.read(1):
        raise DataError(f"{path} holds more data than the {count:,} {kind}s its header declares")
    array = np.frombuffer(content, dtype=np.uint8)
    return array.reshape(count, SIDE, SIDE) if images else array


def _check_pair(x: np.ndarray, y: np.ndarray, x_path, y_path) -> None:
    if len(x) != len(y):
        raise DataError(f"{x_path} holds {len(x):,} images but {y_path} holds {len(y):,} labels")
    if len(x) == 0:
        raise DataError(f"{x_path} holds no images")


# --- npz files --------------------------------------------------------------


def load_npz(path: Path, source: str | None = None, need_train: bool = True) -> Dataset:
    """Load an .npz in Keras' layout; never unpickles, checks shapes before reading.

    Without `need_train`, an .npz of x_test and y_test alone will do.
    """
    try:
        archive = zipfile.ZipFile(path)
    except zipfile.BadZipFile:
        raise DataError(f"{path} is not a valid .npz file (not a zip archive)") from None
    except (ValueError, OSError, NotImplementedError) as exc:  # ValueError: undecodable member names
        raise DataError(f"{path} could not be read as an .npz of arrays: {exc}") from None
    try:
        with archive:
            test_only = not need_train and not {"x_train.npy", "y_train.npy"} & set(archive.namelist())
            train = _no_training_set() if test_only else [_read_npz_member(archive, key, path) for key in NPZ_KEYS[:2]]
            test = [_read_npz_member(archive, key, path) for key in NPZ_KEYS[2:]]
    except (zipfile.BadZipFile, ValueError, EOFError, OSError, zlib.error, NotImplementedError) as exc:  # NotImplementedError: zip features Python lacks
        raise DataError(f"{path} could not be read as an .npz of arrays: {exc}") from None
    (x_train, y_train), (x_test, y_test) = train, test
    for name, labels in (("y_train", y_train), ("y_test", y_test)):
        if labels.size and labels.max() > 9:
            raise DataError(f"{path}: {name} holds label {int(labels.max())}; MNIST labels are 0-9")
    if not test_only:
        _check_pair(x_train, y_train, f"{path}:x_train", "y_train")
    _check_pair(x_test, y_test, f"{path}:x_test", "y_test")
    return Dataset(x_train, y_train, x_test, y_test, source=source or f"MNIST .npz {path}")


def _read_npz_member(archive: zipfile.ZipFile, key: str, path: Path) -> np.ndarray:
    """One array, read by hand: its header checked first, never more bytes than the file can hold."""
    try:
        info = archive.getinfo(key + ".npy")
    except KeyError:
        raise DataError(f"{path} has no array '{key}'; it needs {', '.join(NPZ_KEYS)}") from None
    if info.flag_bits & 0x1 or info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
        raise DataError(f"{path}: array '{key}' is encrypted or compressed in a way numpy never writes")
    ratio = 1 if info.compress_type == zipfile.ZIP_STORED else MAX_DEFLATE_RATIO
    if info.file_size > ratio * info.compress_size or info.compress_size > os.path.getsize(path):
        raise DataError(f"{path}: '{key}' declares {info.file_size:,} bytes, more than the file can hold")
    with archive.open(info) as member:
        try:
            version = np.lib.format.read_magic(member)
            reader = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
            shape, fortran, dtype = reader(member, max_header_size=10_000)
        except ValueError as exc:
            raise DataError(f"{path}: array '{key}' has a bad header ({exc})") from None
        header_len = member.tell()
        expected = (-1, SIDE, SIDE) if key.startswith("x") else (-1,)
        if dtype != np.uint8 or len(shape) != len(expected) or shape[1:] != expected[1:]:
            wanted = "(n, 28, 28)" if key.startswith("x") else "(n,)"
            raise DataError(f"{path}: '{key}' is {dtype} {shape}; digits needs uint8 {wanted}")
        size = int(np.prod(shape))
        if shape[0] > MAX_IMAGES or info.file_size != header_len + size:
            raise DataError(f"{path}: '{key}' declares {shape} but its stored size does not match")
        content = member.read(size)  # to the member's end, so its CRC is checked
    if len(content) != size:
        raise DataError(f"{path}: '{key}' is truncated")
    return np.frombuffer(content, dtype=np.uint8).reshape(shape, order="F" if fortran else "C")
