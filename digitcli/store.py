"""Saving and loading model files with their metadata.

A model file is always a Keras v3 zip (whatever its extension, `.h5`
included) with one extra member, `digits.json`, that carries everything the
other commands need. Keras ignores the extra member when it loads the model.
Files are loaded only in Keras' safe mode, after checking the zip's contents,
so a model file can never run code.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import tempfile
import zipfile
import zlib
from pathlib import Path

from .errors import ModelFileError, OutputError, first_line

META_MEMBER = "digits.json"
FORMAT = "digits-model"
FORMAT_VERSION = 1
DEFAULT_PATH = Path("models/digits.keras")
KERAS_MEMBERS = ("config.json", "model.weights.h5")
MAX_CONFIG_BYTES = 10 << 20  # a digit classifier's config is a few kB
MAX_MEMBER_BYTES = 200 << 20  # far above any digit model (all members together); stops a zip bomb
# What reading a damaged or hostile zip member can raise (bad CRC, bad deflate data, short data).
ZIP_READ_ERRORS = (zipfile.BadZipFile, OSError, EOFError, zlib.error, NotImplementedError)  # the last: zip features Python lacks
PLAIN_ZIP = (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED)
CODE_LAYERS = ("Lambda", "__lambda__", "TFSMLayer")  # layers whose config holds or loads code

# The digits.json fields the commands read, with the JSON types they need, so a
# tampered file is a one-line error rather than a crash inside a command.
NUMBER = (int, float)
META_FIELDS = {
    "architecture": str,
    "preprocessing": str,
    "trained_at": str,
    "train_seconds": NUMBER,
    "test_accuracy": NUMBER,
    "test_loss": NUMBER,
    "versions": dict,
    "history": dict,
    "training": {"batch_size": NUMBER, "lr": NUMBER, "seed": NUMBER},
    "data": {"source": str, "fingerprint": str, "n_train": NUMBER, "n_val": NUMBER, "n_test": NUMBER},
}
KIND_NAMES = {NUMBER: "a finite number", str: "text", dict: "an object"}
MAX_HISTORY_VALUE = 1e100  # plotext's axis arithmetic overflows on ranges near the float maximum


STATE_SUFFIX = ".resume"  # an interrupted run's state sits beside its output, with this suffix


def state_path(output: Path) -> Path:
    return output.with_name(output.name + STATE_SUFFIX)


def temporary_beside(path: Path) -> tuple[int, str]:
    """A new temporary file in path's directory, with the permissions a plain new file would get."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".keras")
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes it private; the model is an ordinary file
    return fd, tmp


def check_output(path: Path, overwrite: bool) -> None:
    """Fail before training, not after, when the model could not be saved."""
    if path.is_dir():
        raise OutputError(f"output {path} is a directory; give a file path such as {path / 'digits.keras'}")
    if path.exists() and not overwrite:
        raise OutputError(f"{path} already exists; pass --overwrite to replace it, or choose another --output")
    # Missing directories are made only when saving, so a run that fails leaves nothing behind.
    parent = path.parent
    existing = next(p for p in (parent, *parent.parents) if p.exists())
    if not existing.is_dir():
        raise OutputError(f"cannot create directory {parent}: {existing} is not a directory")
    if not os.access(existing, os.W_OK):
        raise OutputError(f"cannot write to directory {existing}: permission denied")


def save(model, metadata: dict, path: Path, overwrite: bool, extra: dict[str, bytes] | None = None) -> None:
    """Write model, metadata and `extra` members atomically: a temporary file, then os.replace."""
    check_output(path, overwrite)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = temporary_beside(path)
    except OSError as exc:
        raise OutputError(f"cannot save model to {path}: {exc.strerror or exc}") from None
    os.close(fd)
    try:
        model.save(tmp)
        payload = {"format": FORMAT, "format_version": FORMAT_VERSION, **metadata}
        with zipfile.ZipFile(tmp, "a") as archive:
            archive.writestr(META_MEMBER, json.dumps(payload, indent=1))
            for name, content in (extra or {}).items():
                archive.writestr(name, content)
        with open(tmp, "rb") as handle:
            os.fsync(handle.fileno())
        if path.exists() and not overwrite:  # another run saved here meanwhile
            raise OutputError(f"{path} appeared while training; pass --overwrite to replace it")
        os.replace(tmp, path)
    except OSError as exc:
        raise OutputError(f"cannot save model to {path}: {exc.strerror or exc}") from None
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def _open_checked(path: Path) -> zipfile.ZipFile:
    if not path.exists():
        hint = " (train one with `digits train`)" if path == DEFAULT_PATH else ""
        raise ModelFileError(f"model file {path} does not exist{hint}")
    if path.is_dir():
        raise ModelFileError(f"{path} is a directory, not a model file")
    if not zipfile.is_zipfile(path):
        raise ModelFileError(
            f"{path} is not a digits model file (expected a Keras .keras zip; legacy HDF5 files are not loaded)"
        )
    try:
        archive = zipfile.ZipFile(path)
        names = set(archive.namelist())
    except (zipfile.BadZipFile, OSError, ValueError, NotImplementedError) as exc:  # ValueError: undecodable names
        raise ModelFileError(f"{path} is a damaged zip file: {first_line(exc)}") from None
    total = sum(info.file_size for info in archive.infolist())
    if total > MAX_MEMBER_BYTES:
        archive.close()
        raise ModelFileError(f"{path} unpacks to {total:,} bytes, far too large for a digit model; refusing it")
    # Keras and digits write plain stored or deflated members; anything else is not theirs.
    odd = [i.filename for i in archive.infolist() if i.flag_bits & 0x1 or i.compress_type not in PLAIN_ZIP]
    if odd:
        archive.close()
        raise ModelFileError(f"{path} has encrypted or unusually compressed members ({', '.join(odd)}); refusing it")
    missing = [m for m in KERAS_MEMBERS if m not in names]
    if missing:
        archive.close()
        raise ModelFileError(f"{path} is a zip but not a Keras model (no {', '.join(missing)})")
    return archive


def read_metadata(path: Path) -> dict | None:
    """The digits metadata of a model file, or None for a plain Keras model."""
    content = read_member(path, META_MEMBER)
    if content is None:
        return None
    meta = _parse_json(path, META_MEMBER, content)
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise ModelFileError(f"{path}: its {META_MEMBER} is not digits metadata")
    problem = _fields_problem(meta, META_FIELDS) or _history_problem(meta["history"])
    if problem:
        raise ModelFileError(f"{path}: its {META_MEMBER} is damaged ({problem})")
    return meta


def _fields_problem(meta: dict, fields: dict, where: str = "") -> str | None:
    """What is missing or mistyped in `meta`, or None if the commands can read it."""
    for key, kind in fields.items():
        value = meta.get(key)
        if isinstance(kind, dict):
            if not isinstance(value, dict):
                return f"{where}{key} is not an object"
            problem = _fields_problem(value, kind, f"{where}{key}.")
            if problem:
                return problem
        elif not isinstance(value, kind) or isinstance(value, float) and not math.isfinite(value):
            return f"{where}{key} is missing or not {KIND_NAMES[kind]}"
    return None


def _history_problem(history: dict) -> str | None:
    for name, values in history.items():
        if not isinstance(values, list) or not all(
            isinstance(v, NUMBER) and math.isfinite(v) and abs(v) < MAX_HISTORY_VALUE for v in values
        ):
            return f"history.{name} is not a list of finite numbers"
    return None


def _parse_json(path: Path, name: str, content: bytes):
    try:
        return json.loads(content)
    except (ValueError, RecursionError) as exc:  # RecursionError: nested too deeply to parse
        raise ModelFileError(f"{path}: its {name} is unreadable ({first_line(exc)})") from None


def read_member(path: Path, name: str) -> bytes | None:
    """One member of a model file, or None if it has none of that name."""
    with _open_checked(path) as archive:
        if name not in archive.namelist():
            return None
        return _read(path, archive, archive.getinfo(name))


def _read(path: Path, archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> bytes:
    """A member's bytes, never more than its declared size: a lying header cannot inflate a bomb."""
    try:
        with archive.open(info) as member:
            content = member.read(info.file_size)
            if len(content) < info.file_size or member.read(1):
                raise zipfile.BadZipFile(f"not {info.file_size:,} bytes as declared")
            return content
    except ZIP_READ_ERRORS as exc:
        raise ModelFileError(f"{path}: its {info.filename} is damaged ({first_line(exc)})") from None


def check(path: Path) -> dict | None:
    """Check a model file is a safe Keras zip, without loading Keras; return its metadata."""
    check_keras_zip(path)
    return read_metadata(path)


def check_keras_zip(path: Path) -> None:
    """Refuse anything but an intact Keras zip whose config needs no code to rebuild."""
    with _open_checked(path) as archive:
        _check_config(path, archive)
        try:
            damaged = archive.testzip()  # reads each member in bounded chunks, checking its CRC
        except ZIP_READ_ERRORS as exc:
            raise ModelFileError(f"{path} is a damaged zip file ({first_line(exc)})") from None
        if damaged:
            raise ModelFileError(f"{path}: its {damaged} is damaged (bad CRC)")


def _check_config(path: Path, archive: zipfile.ZipFile) -> None:
    """Refuse configs that would need code to rebuild: Lambda layers or custom objects."""
    info = archive.getinfo("config.json")
    if info.file_size > MAX_CONFIG_BYTES:
        raise ModelFileError(f"{path}: its config.json is {info.file_size:,} bytes, too large for a digit model")
    pending = [_parse_json(path, "config.json", _read(path, archive, info))]
    while pending:  # a loop, not recursion: a hostile config may nest deeper than Python's stack
        node = pending.pop()
        if isinstance(node, dict):
            if node.get("class_name") in CODE_LAYERS:
                layer = node["class_name"]
                raise ModelFileError(f"{path} holds a {layer} layer, which could run code; refusing to load it")
            module = node.get("module")
            if isinstance(module, str) and not (module == "keras" or module.startswith("keras.")):
                raise ModelFileError(
                    f"{path} needs custom code ({module}.{node.get('class_name')}); refusing to load it"
                )
            pending.extend(node.values())
        elif isinstance(node, list):
            pending.extend(node)


def load(path: Path):
    """(keras model, metadata or None) from a model file, loaded in safe mode."""
    meta = check(path)
    model = load_keras(path)
    _check_classifier(path, model)
    return model, meta


def load_keras(path: Path, compile: bool = False):
    """The Keras model in an already checked file, loaded in safe mode."""
    from .backend import keras

    with tempfile.TemporaryDirectory() as tmpdir:
        # Keras picks its loader by extension; our files are zips whatever they are named.
        source = Path(tmpdir) / "model.keras"
        shutil.copyfile(path, source)
        try:
            return keras.saving.load_model(source, compile=compile, safe_mode=True)
        except Exception as exc:  # Keras raises many types for a bad file
            raise ModelFileError(f"{path} could not be loaded as a Keras model: {first_line(exc)}") from None


def _check_classifier(path: Path, model) -> None:
    shape_in = tuple(model.input_shape[1:]) if hasattr(model, "input_shape") else None
    shape_out = tuple(model.output_shape[1:]) if hasattr(model, "output_shape") else None
    if shape_in not in ((28, 28), (28, 28, 1), (784,)):
        raise ModelFileError(f"{path} takes inputs of shape {shape_in}; a digit classifier takes 28x28 images")
    if shape_out != (10,):
        raise ModelFileError(f"{path} gives outputs of shape {shape_out}; a digit classifier gives 10 classes")
