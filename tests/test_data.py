"""Loading MNIST from every source, and a clear error for every bad file."""

from __future__ import annotations

import gzip
import hashlib

import numpy as np
import pytest

from digitcli import data
from digitcli.errors import DataError

from conftest import idx_bytes, invoke, tiny_arrays, write_idx_dir, write_npz


def test_bundled_data_is_the_documented_mnist_subset():
    dataset = data.load("bundled")
    assert dataset.x_train.shape == (24_345, 28, 28) and dataset.x_train.dtype == np.uint8
    assert dataset.y_train.shape == (24_345,)
    assert dataset.x_test.shape == (10_000, 28, 28)
    assert sorted(np.unique(dataset.y_test)) == list(range(10))
    # The official test set has 980 zeros and 1,135 ones.
    assert np.bincount(dataset.y_test)[:2].tolist() == [980, 1135]
    assert dataset.describe() == "bundled MNIST (offline copy): 24,345 training and 10,000 test images"


def test_idx_dir_and_npz_of_the_bundled_arrays_load_to_the_same_data(tmp_path):
    bundled = data.load("bundled")
    arrays = (bundled.x_train, bundled.y_train, bundled.x_test, bundled.y_test)
    idx_dir = write_idx_dir(tmp_path / "idx", arrays, gz=False)  # raw: gzipping 19 MB took most of this test
    npz = tmp_path / "mnist.npz"
    np.savez(npz, x_train=arrays[0], y_train=arrays[1], x_test=arrays[2], y_test=arrays[3])
    from_dir = data.load(str(idx_dir))
    from_npz = data.load(str(npz))
    assert from_dir.fingerprint == bundled.fingerprint == from_npz.fingerprint
    assert len(bundled.fingerprint) == 64
    assert from_dir.source == f"MNIST IDX files in {idx_dir}"


def test_raw_idx_files_load_like_gzipped_ones(tmp_path):
    arrays = tiny_arrays()
    raw = data.load(str(write_idx_dir(tmp_path / "raw", arrays, gz=False)))
    packed = data.load(str(write_idx_dir(tmp_path / "gz", arrays, gz=True)))
    np.testing.assert_array_equal(raw.x_train, arrays[0])
    np.testing.assert_array_equal(packed.y_test, arrays[3])
    assert raw.fingerprint == packed.fingerprint


def test_digits_data_environment_variable_is_used(tmp_path, monkeypatch):
    monkeypatch.setenv("DIGITS_DATA", str(write_npz(tmp_path / "m.npz")))
    assert data.load().x_train.shape == (60, 28, 28)


def test_keras_cache_is_used_when_present(isolated_home, monkeypatch):
    monkeypatch.delenv("DIGITS_DATA")
    cache = isolated_home / ".keras" / "datasets" / "mnist.npz"
    cache.parent.mkdir(parents=True)
    write_npz(cache)
    dataset = data.load()
    assert dataset.source == f"Keras cache {cache}"
    assert len(dataset.x_train) == 60


def test_download_is_checksum_verified_then_cached(isolated_home, monkeypatch, tmp_path):
    monkeypatch.delenv("DIGITS_DATA")
    remote = write_npz(tmp_path / "remote.npz")
    monkeypatch.setattr(data, "KERAS_URL", remote.as_uri())
    monkeypatch.setattr(data, "KERAS_SHA256", hashlib.sha256(remote.read_bytes()).hexdigest())
    dataset = data.load()
    cache = isolated_home / ".keras" / "datasets" / "mnist.npz"
    assert dataset.source == f"full MNIST downloaded to {cache}"
    assert cache.read_bytes() == remote.read_bytes()


def test_a_download_with_a_wrong_checksum_is_not_kept(isolated_home, monkeypatch, tmp_path):
    remote = write_npz(tmp_path / "remote.npz")
    monkeypatch.setattr(data, "KERAS_URL", remote.as_uri())
    monkeypatch.setattr(data, "KERAS_SHA256", "0" * 64)
    cache = isolated_home / ".keras" / "datasets" / "mnist.npz"
    with pytest.raises(DataError, match="failed its checksum; nothing was saved"):
        data.fetch_keras_mnist(cache)
    assert list(cache.parent.iterdir()) == []


def test_failed_download_falls_back_to_the_bundled_copy(monkeypatch, tmp_path):
    monkeypatch.delenv("DIGITS_DATA")
    monkeypatch.setattr(data, "KERAS_URL", (tmp_path / "absent.npz").as_uri())
    dataset = data.load()
    assert dataset.source.startswith("bundled MNIST (offline copy); the full MNIST could not be downloaded (")
    assert len(dataset.x_test) == 10_000


def _corrupt(tmp_path, name, payload, gz=True):
    directory = write_idx_dir(tmp_path / "d")
    target = directory / (name + (".gz" if gz else ""))
    if not gz:
        (directory / (name + ".gz")).unlink()
    target.write_bytes(gzip.compress(payload) if gz else payload)
    return directory, target


def _images(n=60):
    return tiny_arrays(n_train=n)[0]


BAD_IDX = [
    ("wrong magic", "train-images-idx3-ubyte", idx_bytes(_images(), magic=0x801), True,
     "has magic number 0x00000801, not 0x00000803: it is not an MNIST image file"),
    ("declared count above content", "train-images-idx3-ubyte", idx_bytes(_images())[:-784 * 5], False,
     "declares 60 images but holds only 55: the file is truncated"),
    ("trailing data", "train-images-idx3-ubyte", idx_bytes(_images()) + b"x", True,
     "holds more data than the 60 images its header declares"),
    ("labels out of range", "train-labels-idx1-ubyte", idx_bytes(np.full(60, 12, np.uint8)), True,
     "holds label 12; MNIST labels are 0-9"),
    ("counts disagree", "train-labels-idx1-ubyte", idx_bytes(np.zeros(59, np.uint8)), True,
     "holds 60 images but"),
    ("not 28x28", "t10k-images-idx3-ubyte", idx_bytes(np.zeros((20, 32, 32), np.uint8)), True,
     "holds 32x32 images; digits needs 28x28"),
    ("header too short", "t10k-labels-idx1-ubyte", b"\x00\x00", True, "is too short to be an MNIST label file"),
    ("huge declared count", "t10k-images-idx3-ubyte", b"\x00\x00\x08\x03" + b"\xff\xff\xff\xff" + b"\x00\x00\x00\x1c" * 2,
     True, "declares 4,294,967,295 images, more than the 1,000,000 digits accepts"),
]


@pytest.mark.parametrize("case,name,payload,gz,message", BAD_IDX, ids=[c[0] for c in BAD_IDX])
def test_bad_idx_files_give_one_line_errors(tmp_path, case, name, payload, gz, message):
    directory, target = _corrupt(tmp_path, name, payload, gz)
    result = invoke("train", "--data", str(directory), "--output", str(tmp_path / "m.keras"))
    assert result.exit_code == 1
    assert message in result.stderr
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.output
    assert not (tmp_path / "m.keras").exists()


def test_truncated_gzip_is_reported(tmp_path):
    directory = write_idx_dir(tmp_path / "d")
    target = directory / "train-images-idx3-ubyte.gz"
    target.write_bytes(target.read_bytes()[:200])
    with pytest.raises(DataError, match=r"train-images-idx3-ubyte.gz is truncated or not a valid gzip file"):
        data.load(str(directory))


@pytest.mark.parametrize(
    "setup,message",
    [
        (lambda p: p / "nowhere", "does not exist; give a directory of MNIST IDX files or an .npz file"),
        (lambda p: (p / "empty").mkdir() or p / "empty", "has no train-images-idx3-ubyte (or train-images-idx3-ubyte.gz)"),
        (lambda p: (p / "notes.txt").write_text("hi") and p / "notes.txt", "is neither a directory of MNIST IDX files nor an .npz file"),
        (lambda p: (p / "fake.npz").write_text("not a zip") and p / "fake.npz", "is not a valid .npz file (not a zip archive)"),
    ],
    ids=["missing", "empty dir", "not mnist", "text as npz"],
)
def test_bad_data_paths(tmp_path, setup, message):
    path = setup(tmp_path)
    result = invoke("train", "--data", str(path), "--output", str(tmp_path / "m.keras"))
    assert result.exit_code == 1
    assert message in result.stderr


def test_npz_with_pickled_objects_is_refused_without_unpickling(tmp_path):
    objects = np.empty(3, dtype=object)
    path = write_npz(tmp_path / "evil.npz", x_train=objects)
    with pytest.raises(DataError, match=r"'x_train' is object \(3,\); digits needs uint8 \(n, 28, 28\)"):
        data.load(str(path))


def test_npz_with_wrong_shapes_or_keys(tmp_path):
    with pytest.raises(DataError, match=r"'x_test' is uint8 \(5, 32, 32\)"):
        data.load(str(write_npz(tmp_path / "a.npz", x_test=np.zeros((5, 32, 32), np.uint8))))
    np.savez(tmp_path / "b.npz", x_train=np.zeros((2, 28, 28), np.uint8))
    with pytest.raises(DataError, match=r"has no array 'y_train'; it needs x_train, y_train, x_test, y_test"):
        data.load(str(tmp_path / "b.npz"))
    with pytest.raises(DataError, match=r"y_train holds label 200"):
        data.load(str(write_npz(tmp_path / "c.npz", y_train=np.full(60, 200, np.uint8))))


def test_only_train_downloads(tiny_model, isolated_home, monkeypatch, tmp_path):
    monkeypatch.delenv("DIGITS_DATA")
    remote = write_npz(tmp_path / "remote.npz")
    monkeypatch.setattr(data, "KERAS_URL", remote.as_uri())
    monkeypatch.setattr(data, "KERAS_SHA256", hashlib.sha256(remote.read_bytes()).hexdigest())
    result = invoke("eval", "--model", str(tiny_model), "--json", "--limit", "50")
    assert result.exit_code == 0
    assert result.stderr.startswith("Data: bundled MNIST (offline copy): 24,345 training")
    assert not (isolated_home / ".keras" / "datasets" / "mnist.npz").exists()


def test_an_npz_using_a_zip_feature_python_lacks_is_a_data_error(tmp_path):
    path = write_npz(tmp_path / "m.npz")
    raw = bytearray(path.read_bytes())
    for signature, flags_at in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):  # local and central headers
        at = raw.find(signature)
        while at != -1:
            raw[at + flags_at] |= 0x20  # bit 5: "compressed patched data", which zipfile cannot read
            at = raw.find(signature, at + 4)
    path.write_bytes(bytes(raw))
    with pytest.raises(DataError) as error:
        data.load(str(path))
    assert str(error.value) == f"{path} could not be read as an .npz of arrays: compressed patched data (flag bit 5)"
