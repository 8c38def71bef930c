"""Crafted and broken model files: refused with one line, never loaded unsafely, never a traceback."""

from __future__ import annotations

import json
import os
import shutil
import tracemalloc
import zipfile
from pathlib import Path

import pytest

from digitcli import store
from digitcli.errors import ModelFileError

from conftest import invoke, sha256

# Every command that opens a model file, with the options that make it cheap.
MODEL_COMMANDS = [
    ["eval", "--limit", "10"],
    ["predict", "--samples", "2", "--seed", "0"],
    ["show", "curves"],
    ["show", "model"],
    ["show", "misclassified", "--count", "1"],
]


def _refused(path: Path, message: str, commands=MODEL_COMMANDS) -> None:
    """Every command refuses `path` with exit 1 and one line holding `message`, leaving it untouched."""
    before = sha256(path)
    for command in commands:
        result = invoke(*command, "--model", str(path))
        assert result.exit_code == 1, (command, result.output)
        assert result.stderr.startswith("Error: ") and result.stderr.count("\n") == 1, (command, result.stderr)
        assert message in result.stderr, (command, result.stderr)
        assert "Traceback" not in result.output
    assert sha256(path) == before


def _rewrite(source: Path, target: Path, replace: dict[str, bytes] | None = None, drop=()) -> Path:
    """A copy of a model zip with some members replaced or dropped."""
    replace = replace or {}
    with zipfile.ZipFile(source) as old, zipfile.ZipFile(target, "w") as new:
        for info in old.infolist():
            if info.filename not in drop:
                new.writestr(info, replace.get(info.filename, old.read(info)))
    return target


def _config(path: Path) -> dict:
    with zipfile.ZipFile(path) as archive:
        return json.loads(archive.read("config.json"))


@pytest.fixture(scope="module")
def lambda_model(tmp_path_factory):
    """(model, marker): a real Keras model whose Lambda would create `marker` if ever executed."""
    from digitcli.backend import keras

    directory = tmp_path_factory.mktemp("lambda")
    marker = directory / "code-ran"
    # Built from source so that the marker's path is a constant inside the serialized bytecode.
    touch = eval(f"lambda x: (open({str(marker)!r}, 'w').close(), x)[1]")
    layers = [keras.layers.Flatten(), keras.layers.Lambda(touch), keras.layers.Dense(10, activation="softmax")]
    model = keras.Sequential([keras.Input((28, 28)), *layers])
    assert marker.exists()  # building the model ran it once, as designed
    return model, marker


def test_keras_file_with_a_real_lambda_layer_is_refused_without_running_it(lambda_model, tmp_path):
    model, marker = lambda_model
    path = tmp_path / "lambda.keras"
    model.save(path)
    marker.unlink(missing_ok=True)
    _refused(path, f"{path} holds a Lambda layer, which could run code; refusing to load it")
    with pytest.raises(ModelFileError, match="Lambda"):
        store.load(path)
    assert not marker.exists()


def test_h5_file_with_a_real_lambda_layer_is_refused_without_running_it(lambda_model, tmp_path):
    model, marker = lambda_model
    path = tmp_path / "lambda.h5"
    model.save(path)  # legacy HDF5: Keras would unmarshal the lambda's bytecode, whatever safe_mode says
    assert path.read_bytes()[:8] == b"\x89HDF\r\n\x1a\n"
    marker.unlink(missing_ok=True)
    _refused(path, "is not a digits model file (expected a Keras .keras zip; legacy HDF5 files are not loaded)")
    renamed = shutil.copyfile(path, tmp_path / "lambda-renamed.keras")
    _refused(renamed, "is not a digits model file")
    assert not marker.exists()


def test_lambda_edited_into_a_trained_models_config_is_refused(tiny_model, lambda_model, tmp_path):
    model, marker = lambda_model
    lambda_layer = next(layer for layer in json.loads(model.to_json())["config"]["layers"] if layer["class_name"] == "Lambda")
    config = _config(tiny_model)
    config["config"]["layers"].insert(2, lambda_layer)
    path = _rewrite(tiny_model, tmp_path / "edited.keras", {"config.json": json.dumps(config).encode()})
    marker.unlink(missing_ok=True)
    _refused(path, "holds a Lambda layer, which could run code; refusing to load it")
    assert not marker.exists()


@pytest.mark.parametrize(
    "module,class_name,message",
    [
        ("my_package.layers", "Evil", "needs custom code (my_package.layers.Evil); refusing to load it"),
        ("kerasx.layers", "Dense", "needs custom code (kerasx.layers.Dense); refusing to load it"),
        ("keras.layers", "TFSMLayer", "holds a TFSMLayer layer, which could run code; refusing to load it"),
    ],
)
def test_custom_objects_are_refused(tiny_model, tmp_path, module, class_name, message):
    config = _config(tiny_model)
    layer = config["config"]["layers"][1]
    layer["module"], layer["class_name"] = module, class_name
    path = _rewrite(tiny_model, tmp_path / "custom.keras", {"config.json": json.dumps(config).encode()})
    _refused(path, message, commands=MODEL_COMMANDS[:1])


def test_random_bytes_named_keras(tmp_path):
    path = tmp_path / "random.keras"
    path.write_bytes(os.urandom(4096))
    _refused(path, "is not a digits model file (expected a Keras .keras zip")


def test_truncated_model_file(tiny_model, tmp_path):
    content = tiny_model.read_bytes()
    path = tmp_path / "half.keras"
    path.write_bytes(content[: len(content) // 2])
    _refused(path, "is not a digits model file")


def test_zip_that_is_not_a_keras_model(tmp_path):
    path = tmp_path / "photos.keras"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("holiday.txt", "not a model")
    _refused(path, "is a zip but not a Keras model (no config.json, model.weights.h5)")


def _zip_with_bomb(path: Path, tiny_model: Path, megabytes: int) -> Path:
    """The tiny model's members plus a weights member of `megabytes` MB of zeros (about 1 MB on disk)."""
    zeros = bytes(1 << 20)
    with zipfile.ZipFile(tiny_model) as old, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as new:
        for info in old.infolist():
            if info.filename != "model.weights.h5":
                new.writestr(info.filename, old.read(info))
        with new.open("model.weights.h5", "w") as member:
            for _ in range(megabytes):
                member.write(zeros)
    return path


def _central_entry(content: bytes, path: Path, member: str) -> int:
    """Where a member's central-directory entry starts in a zip's bytes."""
    with zipfile.ZipFile(path) as archive:
        at = archive.start_dir
    name = member.encode()
    while content[at + 46 : at + 46 + len(name)] != name:
        at = content.index(b"PK\x01\x02", at + 4)
    return at


def _declare_size(path: Path, member: str, size: int) -> None:
    """Make the central directory lie about a member's uncompressed size."""
    content = bytearray(path.read_bytes())
    at = _central_entry(content, path, member)
    content[at + 24 : at + 28] = size.to_bytes(4, "little")
    path.write_bytes(bytes(content))


def test_zip_bomb_is_refused_before_unpacking(tiny_model, tmp_path):
    path = _zip_with_bomb(tmp_path / "bomb.keras", tiny_model, megabytes=300)
    assert path.stat().st_size < 3 << 20
    _refused(path, "unpacks to 314,", commands=MODEL_COMMANDS[:2])
    assert "far too large for a digit model; refusing it" in invoke("eval", "--model", str(path)).stderr


def test_zip_bomb_that_lies_about_its_size_is_never_unpacked(tiny_model, tmp_path):
    """A member declaring a few kB but inflating to 300 MB: only the declared bytes are ever produced."""
    path = _zip_with_bomb(tmp_path / "liar.keras", tiny_model, megabytes=300)
    _declare_size(path, "model.weights.h5", 4096)
    tracemalloc.start()
    try:
        with pytest.raises(ModelFileError, match=r"its model.weights.h5 is damaged \(bad CRC\)"):
            store.check(path)
        with pytest.raises(ModelFileError, match=r"its model.weights.h5 is damaged \(Bad CRC-32"):
            store.read_member(path, "model.weights.h5")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 20 << 20
    _refused(path, "its model.weights.h5 is damaged", commands=MODEL_COMMANDS[:1])


@pytest.mark.parametrize(
    "content,message",
    [
        (b"{not json", "its digits.json is unreadable (Expecting property name enclosed in double quotes"),
        (b"[" * 100_000, "its digits.json is unreadable (maximum recursion depth exceeded"),
        (json.dumps({"format": "something-else"}).encode(), "its digits.json is not digits metadata"),
        (json.dumps(["digits-model"]).encode(), "its digits.json is not digits metadata"),
        (json.dumps({"format": "digits-model"}).encode(), "its digits.json is damaged (architecture is missing or not text)"),
    ],
    ids=["not json", "deeply nested", "wrong format field", "not an object", "missing fields"],
)
def test_tampered_metadata(tiny_model, tmp_path, content, message):
    path = _rewrite(tiny_model, tmp_path / "tampered.keras", {"digits.json": content})
    _refused(path, message)


@pytest.mark.parametrize(
    "change,message",
    [
        (lambda m: m["data"].pop("n_test"), "data.n_test is missing or not a finite number"),
        (lambda m: m.update(training="fast"), "training is not an object"),
        (lambda m: m.update(test_accuracy=float("nan")), "test_accuracy is missing or not a finite number"),
        (lambda m: m["history"].update(loss=[1e308, -1e308]), "history.loss is not a list of finite numbers"),
        (lambda m: m["history"].update(loss="falling"), "history.loss is not a list of finite numbers"),
    ],
    ids=["missing count", "wrong type", "nan accuracy", "overflowing history", "history not a list"],
)
def test_metadata_with_damaged_fields(tiny_model, tmp_path, change, message):
    meta = store.read_metadata(tiny_model)
    change(meta)
    path = _rewrite(tiny_model, tmp_path / "damaged.keras", {"digits.json": json.dumps(meta).encode()})
    _refused(path, f"its digits.json is damaged ({message})", commands=[["show", "curves"], ["show", "model"]])


def test_config_nested_too_deeply(tiny_model, tmp_path):
    path = _rewrite(tiny_model, tmp_path / "deep.keras", {"config.json": b"[" * 100_000 + b"]" * 100_000})
    _refused(path, "its config.json is unreadable (maximum recursion depth exceeded", commands=MODEL_COMMANDS[:1])


def test_garbage_litert_member_is_a_one_line_error(tiny_model, tmp_path):
    path = _rewrite(tiny_model, tmp_path / "garbage-lite.keras", {"model.tflite": os.urandom(20_000)})
    _refused(path, "its LiteRT model is unreadable", commands=[["predict", "--samples", "2", "--seed", "0"]])
    halved = store.read_member(tiny_model, "model.tflite")
    path = _rewrite(tiny_model, tmp_path / "half-lite.keras", {"model.tflite": halved[: len(halved) // 2]})
    _refused(path, "its LiteRT model is unreadable", commands=[["predict", "--samples", "2", "--seed", "0"]])


def test_model_without_litert_member_falls_back_to_keras(tiny_model, tmp_path):
    path = _rewrite(tiny_model, tmp_path / "no-lite.keras", drop=("model.tflite",))
    result = invoke("predict", "--model", str(path), "--samples", "2", "--seed", "0", "--format", "csv")
    assert result.exit_code == 0, result.output
    assert f"Note: {path} has no LiteRT form; running it with Keras" in result.stderr
    assert len(result.stdout.splitlines()) == 3


@pytest.mark.parametrize(
    "member,flip,message",
    [
        ("config.json", "compress_type", "has encrypted or unusually compressed members (config.json)"),
        ("digits.json", "encrypted", "has encrypted or unusually compressed members (digits.json)"),
    ],
)
def test_members_stored_in_ways_keras_never_writes(tiny_model, tmp_path, member, flip, message):
    path = _rewrite(tiny_model, tmp_path / "odd.keras")
    content = bytearray(path.read_bytes())
    at = _central_entry(content, path, member)
    if flip == "compress_type":
        content[at + 10 : at + 12] = (99).to_bytes(2, "little")  # AES, which zipfile cannot read
    else:
        content[at + 8] |= 0x1  # the general-purpose flag's "encrypted" bit
    path.write_bytes(bytes(content))
    _refused(path, message, commands=MODEL_COMMANDS[:1])


def test_corrupt_deflate_data_in_config(tiny_model, tmp_path):
    """Bad compressed bytes inside a member: a one-line error, not a zlib traceback."""
    path = tmp_path / "corrupt.keras"
    with zipfile.ZipFile(tiny_model) as old, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as new:
        for info in old.infolist():
            new.writestr(info.filename, old.read(info))
        offset = new.getinfo("config.json").header_offset
    content = bytearray(path.read_bytes())
    data_start = offset + 30 + len("config.json")
    content[data_start : data_start + 16] = b"\xff" * 16
    path.write_bytes(bytes(content))
    _refused(path, "its config.json is damaged", commands=MODEL_COMMANDS[:1])
