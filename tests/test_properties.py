"""Property tests: the IDX and npz readers on arbitrary and mutated bytes.

Whatever the bytes, a reader either returns valid MNIST-shaped data or raises
DataError: never another exception, never a hang, never an allocation larger
than the file can hold.
"""

from __future__ import annotations

import gzip
import io
import zipfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from digitcli import data
from digitcli.errors import DataError

from conftest import idx_bytes, tiny_arrays

# A hang shows up as a deadline miss; the generous deadline leaves room for a loaded machine.
FUZZ = settings(max_examples=120, deadline=5000, suppress_health_check=[HealthCheck.too_slow])
FUZZ_MORE = settings(FUZZ, max_examples=400)  # zip damage hides in few spots: look harder

IMAGES = idx_bytes(tiny_arrays(3, 2)[0])
LABELS = idx_bytes(tiny_arrays(3, 2)[1])


def _npz_bytes(compressed: bool) -> bytes:
    buffer = io.BytesIO()
    (np.savez_compressed if compressed else np.savez)(buffer, **dict(zip(data.NPZ_KEYS, tiny_arrays(4, 3))))
    return buffer.getvalue()


NPZ = _npz_bytes(compressed=False)
NPZ_COMPRESSED = _npz_bytes(compressed=True)


@pytest.fixture(scope="module")
def scratch(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("fuzz")


def _read_idx(directory: Path, payload: bytes, images: bool, gz: bool):
    path = directory / ("input.gz" if gz else "input")
    path.write_bytes(payload)
    try:
        array = data.read_idx(path, images=images)
    except DataError as exc:
        assert str(exc) and "\n" not in str(exc)
        return None
    assert array.dtype == np.uint8
    if images:
        assert array.ndim == 3 and array.shape[1:] == (28, 28)
    else:
        assert array.ndim == 1 and (array.size == 0 or array.max() <= 9)
    assert array.nbytes <= path.stat().st_size or gz  # raw files: never more than the file holds
    return array


def _load_npz(directory: Path, payload: bytes):
    path = directory / "input.npz"
    path.write_bytes(payload)
    try:
        dataset = data.load_npz(path)
    except DataError as exc:
        assert str(exc) and "\n" not in str(exc)
        return None
    for x, y in ((dataset.x_train, dataset.y_train), (dataset.x_test, dataset.y_test)):
        assert x.dtype == y.dtype == np.uint8
        assert x.ndim == 3 and x.shape[1:] == (28, 28) and y.shape == (len(x),) and len(x) > 0
        assert y.max() <= 9
    return dataset


# Mutations of a valid file: cut it short, insert bytes, or overwrite bytes in its header
# (an IDX header, a zip's first local header), its body (compressed data) or its tail
# (a zip's central directory, where member sizes, flags and compression methods live).
@st.composite
def mutated(draw, valid: bytes):
    payload = bytearray(valid)
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(["truncate", "insert", "head", "body", "tail", "tail"]))
        if kind == "truncate":
            del payload[draw(st.integers(0, len(payload))) :]
        elif kind == "insert":
            at = draw(st.integers(0, len(payload)))
            payload[at:at] = draw(st.binary(min_size=1, max_size=8))
        elif payload:
            n = len(payload)
            low, high = {"head": (0, min(n, 64)), "body": (0, n), "tail": (max(0, n - 400), n)}[kind]
            payload[draw(st.integers(low, high - 1))] = draw(st.integers(0, 255))
    return bytes(payload)


@FUZZ
@given(payload=st.binary(max_size=2048), images=st.booleans(), gz=st.booleans())
def test_idx_reader_on_arbitrary_bytes(scratch, payload, images, gz):
    _read_idx(scratch, payload, images, gz)


@FUZZ
@given(payload=st.one_of(mutated(IMAGES), mutated(LABELS)), images=st.booleans())
def test_idx_reader_on_mutated_files(scratch, payload, images):
    _read_idx(scratch, payload, images, gz=False)


@FUZZ_MORE
@given(payload=st.one_of(mutated(gzip.compress(IMAGES)), mutated(gzip.compress(LABELS))), images=st.booleans())
def test_idx_reader_on_mutated_gzip_files(scratch, payload, images):
    _read_idx(scratch, payload, images, gz=True)


@FUZZ
@given(garbage=st.binary(max_size=4096), images=st.booleans())
def test_idx_reader_on_gzip_wrapped_garbage(scratch, garbage, images):
    _read_idx(scratch, gzip.compress(garbage), images, gz=True)


@FUZZ
@given(
    header=st.tuples(st.sampled_from([0x801, 0x803, 0x802, 0]), *[st.integers(0, 2**32 - 1)] * 3),
    tail=st.binary(max_size=3000),
)
def test_idx_header_counts_never_allocate_beyond_the_file(scratch, header, tail):
    """Declared counts up to 2**32 - 1 against short bodies: a DataError, not a huge allocation."""
    payload = b"".join(value.to_bytes(4, "big") for value in header) + tail
    _read_idx(scratch, payload, images=header[0] == 0x803, gz=False)


def test_valid_files_survive_the_harness(scratch):
    """The properties above must be able to succeed, not only fail."""
    assert _read_idx(scratch, IMAGES, images=True, gz=False).shape == (3, 28, 28)
    assert _read_idx(scratch, gzip.compress(LABELS), images=False, gz=True).shape == (3,)
    assert len(_load_npz(scratch, NPZ).x_test) == 3
    assert len(_load_npz(scratch, NPZ_COMPRESSED).x_train) == 4


@FUZZ
@given(payload=st.binary(max_size=4096))
def test_npz_loader_on_arbitrary_bytes(scratch, payload):
    _load_npz(scratch, payload)


@FUZZ_MORE
@given(payload=st.one_of(mutated(NPZ), mutated(NPZ_COMPRESSED)))
def test_npz_loader_on_mutated_files(scratch, payload):
    _load_npz(scratch, payload)


@FUZZ
@given(payload=st.one_of(mutated(NPZ), mutated(NPZ_COMPRESSED)))
def test_npz_loader_on_gzip_wrapped_files(scratch, payload):
    _load_npz(scratch, gzip.compress(payload))


@FUZZ
@given(
    n=st.integers(0, 2**40),
    declared=st.integers(0, 2**31),
    method=st.sampled_from([zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED]),
)
def test_npz_headers_that_lie_about_their_size(scratch, n, declared, method):
    """An array header claiming n images, in a member claiming `declared` bytes: refused before allocating."""
    header = {"descr": "|u1", "fortran_order": False, "shape": (n, 28, 28)}
    buffer = io.BytesIO()
    np.lib.format.write_array_header_1_0(buffer, header)
    member = buffer.getvalue() + b"\0" * 100
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w", method) as out:
        for key in data.NPZ_KEYS:
            out.writestr(key + ".npy", member)
    payload = bytearray(archive.getvalue())
    # Patch the declared uncompressed size of every member in the central directory.
    at = 0
    while (at := payload.find(b"PK\x01\x02", at)) >= 0:
        payload[at + 24 : at + 28] = declared.to_bytes(4, "little")
        at += 4
    path = scratch / "liar.npz"
    path.write_bytes(bytes(payload))
    with pytest.raises(DataError):
        data.load_npz(path)
