"""Shared fixtures: an isolated home, tiny MNIST-format files, a tiny trained model."""

from __future__ import annotations

import gzip
import hashlib
import importlib.util
import struct
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from digitcli.cli import app


def device() -> str:
    """The device `digits train` names in its Model line: the CPU here and in CI, a GPU where TensorFlow sees one."""
    from digitcli import backend

    return backend.device()


@pytest.fixture(autouse=True)
def isolated_home(tmp_path_factory, monkeypatch):
    """Tests never touch the user's real files, Keras cache or network."""
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("KERAS_HOME", str(home / ".keras"))
    monkeypatch.setenv("DIGITS_DATA", "bundled")
    monkeypatch.delenv("DIGITS_DEBUG", raising=False)
    monkeypatch.delenv("NO_COLOR", raising=False)
    return home


@pytest.fixture
def runner():
    return CliRunner()


def invoke(*args: str):
    """Run `digits ARGS` in-process and return the click Result."""
    return CliRunner().invoke(app, list(args))


def flat(text: str) -> str:
    """Text with rich's panel borders and line wrapping removed, for matching messages."""
    return " ".join(text.translate(str.maketrans("", "", "│╭╮╰╯─")).split())


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def idx_bytes(array: np.ndarray, magic: int | None = None) -> bytes:
    """An IDX file for a uint8 array (images (n, 28, 28) or labels (n,))."""
    magic = magic if magic is not None else (0x803 if array.ndim == 3 else 0x801)
    header = struct.pack(">I", magic) + b"".join(struct.pack(">I", d) for d in array.shape)
    return header + array.astype(np.uint8).tobytes()


def tiny_arrays(n_train: int = 60, n_test: int = 20, seed: int = 0):
    rng = np.random.default_rng(seed)
    return (
        rng.integers(0, 256, (n_train, 28, 28), dtype=np.uint8),
        rng.integers(0, 10, n_train, dtype=np.uint8),
        rng.integers(0, 256, (n_test, 28, 28), dtype=np.uint8),
        rng.integers(0, 10, n_test, dtype=np.uint8),
    )


IDX_NAMES = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")


def write_idx_dir(directory: Path, arrays=None, gz: bool = True) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    for name, array in zip(IDX_NAMES, arrays or tiny_arrays()):
        payload = idx_bytes(array)
        if gz:
            (directory / (name + ".gz")).write_bytes(gzip.compress(payload))
        else:
            (directory / name).write_bytes(payload)
    return directory


def write_npz(path: Path, arrays=None, **overrides) -> Path:
    x_train, y_train, x_test, y_test = arrays or tiny_arrays()
    content = dict(x_train=x_train, y_train=y_train, x_test=x_test, y_test=y_test)
    content.update(overrides)
    np.savez(path, **content)
    return path


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory) -> Path:
    """An mlp trained for one epoch on 500 bundled images; shared by read-only tests."""
    path = tmp_path_factory.mktemp("model") / "tiny.keras"
    result = invoke("train", "--model", "mlp", "--epochs", "1", "--limit", "500", "--data", "bundled",
                    "--output", str(path), "--progress", "plain")
    assert result.exit_code == 0, result.output
    return path


@pytest.fixture(scope="session")
def digit_model(tmp_path_factory) -> Path:
    """An mlp that really recognises digits (about 92 %; the tiny model only guesses), for tests that
    draw digits: 3 epochs on 6,000 bundled images, a few seconds."""
    from digitcli import store

    path = tmp_path_factory.mktemp("digit-model") / "mlp.keras"
    result = invoke("train", "--model", "mlp", "--epochs", "3", "--lr", "0.003", "--limit", "6000", "--data", "bundled",
                    "--output", str(path), "--progress", "none")
    assert result.exit_code == 0, result.output
    assert store.read_metadata(path)["test_accuracy"] > 0.9
    return path


@pytest.fixture(scope="session")
def realistic():
    """benchmarks/realistic.py as a module: its generators of drawn and photographed digits."""
    path = Path(__file__).resolve().parents[1] / "benchmarks" / "realistic.py"
    spec = importlib.util.spec_from_file_location("realistic", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
