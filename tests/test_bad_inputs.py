"""A battery of bad inputs across every command.

Each case gives the exit code (1 for data, file and model errors, 2 for usage
errors) and the message a user reads. Every case must also leave every
existing file as it was and create none: no half-written model, no touched data.
"""

from __future__ import annotations

import io
import shlex
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from conftest import flat, invoke, sha256, tiny_arrays, write_idx_dir, write_npz


def _png_chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def _png_bomb() -> bytes:
    """A PNG of about 100 bytes declaring 100,000 x 100,000 pixels: decoded, it would need 10 GB."""
    header = _png_chunk(b"IHDR", struct.pack(">IIBBBBB", 100_000, 100_000, 8, 0, 0, 0, 0))
    return b"\x89PNG\r\n\x1a\n" + header + _png_chunk(b"IDAT", zlib.compress(b"\0" * 64)) + _png_chunk(b"IEND", b"")


def _image_bytes(image: Image.Image, kind: str) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, kind)
    return buffer.getvalue()


@pytest.fixture
def workspace(tmp_path, monkeypatch):
    """Inputs good and bad, and an existing output; the working directory, so nothing lands elsewhere."""
    arrays = tiny_arrays(60, 20)
    write_npz(tmp_path / "good.npz", arrays)
    full = (tmp_path / "good.npz").read_bytes()
    (tmp_path / "download.npz").write_bytes(full[: len(full) * 2 // 3])  # an interrupted download
    write_idx_dir(tmp_path / "idx-bad-labels", (arrays[0], np.full(60, 12, np.uint8), arrays[2], arrays[3]))
    (tmp_path / "notes.txt").write_text("a regular file\n")
    (tmp_path / "notes.keras").write_text("just text, named like a model\n")
    (tmp_path / "empty.keras").write_bytes(b"")
    (tmp_path / "folder.keras").mkdir()
    (tmp_path / "no-images").mkdir()
    (tmp_path / "existing.keras").write_bytes(b"someone's model, to be kept")
    digit = Image.new("L", (60, 60), 255)
    digit.paste(0, (25, 10, 35, 50))
    (tmp_path / "digit.png").write_bytes(_image_bytes(digit, "PNG"))
    (tmp_path / "bomb.png").write_bytes(_png_bomb())
    (tmp_path / "zero.png").write_bytes(b"")
    (tmp_path / "blank.gif").write_bytes(_image_bytes(Image.new("L", (40, 40), 255), "GIF"))
    gif = _image_bytes(digit, "GIF")
    (tmp_path / "cut.gif").write_bytes(gif[:40])
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _snapshot(*roots: Path) -> dict[str, str]:
    files = {}
    for root in roots:
        for path in [root] if root.is_file() else sorted(root.rglob("*")):
            files[str(path)] = sha256(path) if path.is_file() else "dir"
    return files


T = "train --progress none"

# (id, arguments ({model} is a valid trained model), exit code, message on stderr)
CASES = [
    # train
    ("train: data path missing", f"{T} --data nowhere.npz", 1, "data path nowhere.npz does not exist"),
    ("train: interrupted npz download", f"{T} --data download.npz", 1, "download.npz is not a valid .npz file"),
    ("train: text file as data", f"{T} --data notes.txt", 1, "notes.txt is neither a directory of MNIST IDX files nor an .npz file"),
    ("train: labels above 9", f"{T} --data idx-bad-labels", 1, "train-labels-idx1-ubyte.gz holds label 12; MNIST labels are 0-9"),
    ("train: --epochs 0", f"{T} --epochs 0", 2, "Invalid value for '--epochs': Input should be greater than or equal to 1"),
    ("train: --lr -1", f"{T} --lr -1", 2, "Invalid value for '--lr': must be greater than 0, not -1.0"),
    ("train: --lr 0", f"{T} --lr 0", 2, "Invalid value for '--lr': must be greater than 0, not 0.0"),
    ("train: --val-split 1", f"{T} --val-split 1", 2, "Invalid value for '--val-split' / '--val_split': must be at least 0 and below 1, not 1.0"),
    ("train: --batch-size 0", f"{T} --batch-size 0", 2, "Invalid value for '--batch-size'"),
    ("train: --limit 0", f"{T} --limit 0", 2, "Invalid value for '--limit': Input should be greater than or equal to 1"),
    ("train: --limit above the data", f"{T} --data good.npz --limit 61 --output new.keras", 2, "--limit 61 is larger than the 60 training images available"),
    ("train: --model unknown", f"{T} --model rnn", 2, "Invalid value for '--model': Value error, 'rnn' is not one of 'cnn', 'mlp'"),
    ("train: --progress unknown", f"{T} --progress fancy", 2, "Invalid value for '--progress'"),
    ("train: output under a regular file", f"{T} --output notes.txt/model.keras", 1, "cannot create directory notes.txt: notes.txt is not a directory"),
    ("train: output exists", f"{T} --output existing.keras", 1, "existing.keras already exists; pass --overwrite to replace it"),
    ("train: output is a directory", f"{T} --output folder.keras", 1, "output folder.keras is a directory"),
    # eval
    ("eval: model missing", "eval --model missing.keras", 1, "model file missing.keras does not exist"),
    ("eval: text file named .keras", "eval --model notes.keras", 1, "notes.keras is not a digits model file (expected a Keras .keras zip"),
    ("eval: zero-byte model", "evaluate --model empty.keras", 1, "empty.keras is not a digits model file"),
    ("eval: directory as --model", "eval --model folder.keras", 1, "folder.keras is a directory, not a model file"),
    ("eval: data file as --model", "eval --model good.npz", 1, "good.npz is a zip but not a Keras model (no config.json, model.weights.h5)"),
    ("eval: --limit 0", "eval --model {model} --limit 0", 2, "Invalid value for '--limit': Input should be greater than or equal to 1"),
    ("eval: --limit above the data", "eval --model {model} --data good.npz --limit 21", 2, "--limit 21 is larger than the 20 test images available"),
    ("eval: interrupted npz download", "eval --model {model} --data download.npz", 1, "download.npz is not a valid .npz file"),
    # predict, test samples
    ("predict: --samples 0", "predict --model {model} --samples 0", 2, "Invalid value for '--samples': Input should be greater than or equal to 1"),
    ("predict: --samples above the data", "predict --model {model} --data good.npz --samples 21", 2, "--samples 21 is more than the 20 test images available"),
    ("predict: --top-k 0", "predict --model {model} --top-k 0", 2, "Invalid value for '--top-k': Input should be greater than or equal to 1"),
    ("predict: --format xml", "predict --model {model} --format xml", 2, "Invalid value for '--format': Value error, 'xml' is not one of 'table', 'csv', 'jsonl'"),
    ("predict: --show-input without files", "predict --model {model} --show-input", 2, "--show-input: only for image files"),
    ("predict: data missing", "predict --model {model} --data nowhere", 1, "data path nowhere does not exist"),
    ("predict: model missing", "predict --model missing.keras --samples 2", 1, "model file missing.keras does not exist"),
    # predict, image files
    ("predict: decompression bomb", "predict bomb.png --model {model}", 1, "bomb.png: image has 10,000,000,000 pixels, above the 89,478,485-pixel limit"),
    ("predict: zero-byte image", "predict zero.png --model {model}", 1, "zero.png: file is empty"),
    ("predict: blank GIF", "predict blank.gif --model {model}", 1, "blank.gif: no digit found: the image is blank"),
    ("predict: truncated GIF", "predict cut.gif --model {model}", 1, "cut.gif: truncated image data"),
    ("predict: text file as image", "predict notes.txt --model {model}", 1, "notes.txt: not an image file"),
    ("predict: image missing", "predict missing.png --model {model}", 1, "missing.png: file does not exist"),
    ("predict: directory without images", "predict no-images --model {model}", 1, "no-images: no images found"),
    ("predict: image with a text model", "predict digit.png --model notes.keras", 1, "notes.keras is not a digits model file"),
    ("predict: image with --format xml", "predict digit.png --model {model} --format xml", 2, "Invalid value for '--format'"),
    ("predict: image with --samples", "predict digit.png --model {model} --samples 3", 2, "--samples: only for test images; cannot be combined with image files"),
    ("predict: image with --top-k 11", "predict digit.png --model {model} --top-k 11", 2, "Invalid value for '--top-k'"),
    # show
    ("show samples: --digit -1", "show samples --digit -1", 2, "Invalid value for '--digit' / '-d': Input should be greater than or equal to 0"),
    ("show samples: --count 0", "show samples --count 0", 2, "Invalid value for '--count' / '-n': Input should be greater than or equal to 1"),
    ("show samples: interrupted npz download", "show samples --data download.npz", 1, "download.npz is not a valid .npz file"),
    ("show curves: text file named .keras", "show curves --model notes.keras", 1, "notes.keras is not a digits model file"),
    ("show curves: directory as --model", "show curves --model folder.keras", 1, "folder.keras is a directory, not a model file"),
    ("show misclassified: --count 0", "show misclassified --model {model} --count 0", 2, "Invalid value for '--count' / '-n': Input should be greater than or equal to 1"),
    ("show misclassified: data missing", "show misclassified --model {model} --data nowhere", 1, "data path nowhere does not exist"),
    ("show model: model missing", "show model --model missing.keras", 1, "model file missing.keras does not exist"),
    ("show model: zero-byte model", "show model --model empty.keras", 1, "empty.keras is not a digits model file"),
    ("show: unknown view", "show everything", 2, "No such command 'everything'"),
]


@pytest.mark.parametrize("args,code,message", [case[1:] for case in CASES], ids=[case[0] for case in CASES])
def test_bad_input(workspace, tiny_model, args, code, message):
    before = _snapshot(workspace, tiny_model)
    result = invoke(*shlex.split(args.format(model=tiny_model)))
    assert result.exit_code == code, result.output
    assert "Traceback" not in result.output
    assert message in flat(result.stderr)
    if code == 1:
        assert result.stderr.startswith("Error: ") and result.stderr.count("\n") == 1, result.stderr
    assert result.stdout == ""
    assert _snapshot(workspace, tiny_model) == before  # nothing changed, nothing created

