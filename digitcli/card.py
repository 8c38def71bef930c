"""The facts about a model file: what `digits show model` draws and `GET /api/model` returns.

Listing the layers needs Keras (their output shapes and parameter counts come
from the built model), so building a card imports TensorFlow; callers that must
start fast build it only when it is asked for.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from . import store


@dataclass
class Layer:
    name: str
    type: str
    output_shape: str
    parameters: int


@dataclass
class ModelCard:
    path: Path
    layers: list[Layer]
    total_parameters: int
    meta: dict | None  # the digits metadata; None for a plain Keras file
    litert: bool

    def facts(self) -> list[tuple[str, str]]:
        """(name, value) lines for people, in the order `digits show model` prints them."""
        meta = self.meta
        if meta is None:
            return []
        facts = [
            ("architecture", meta["architecture"]),
            ("training", training_options(meta["training"])),
            ("trained", f"{meta['trained_at']} in {meta['train_seconds']:.1f} s"),
            ("test accuracy", f"{meta['test_accuracy']:.2%} (loss {meta['test_loss']:.4f}) on {meta['data']['n_test']:,} images"),
            ("data", meta["data"]["source"]),
            ("data fingerprint", f"sha256 {meta['data']['fingerprint']}"),
            ("images", f"{meta['data']['n_train']:,} training, {meta['data']['n_val']:,} validation, {meta['data']['n_test']:,} test"),
            ("preprocessing", meta["preprocessing"]),
            ("LiteRT form", "yes" if self.litert else "no"),
            ("versions", ", ".join(f"{key} {value}" for key, value in meta["versions"].items())),
        ]
        if isinstance(meta.get("search"), dict):
            facts.insert(2, ("search", search_summary(meta["search"])))
        return facts

    def to_json(self) -> dict:
        """The same facts as plain JSON values, for programs."""
        card = {
            "path": str(self.path),
            "layers": [vars(layer) for layer in self.layers],
            "total_parameters": self.total_parameters,
            "litert": self.litert,
        }
        meta = self.meta
        if meta is None:
            return {**card, "metadata": False}
        data = meta["data"]
        return {
            **card,
            "metadata": True,
            "architecture": meta["architecture"],
            "training": meta["training"],
            "trained_at": meta["trained_at"],
            "train_seconds": meta["train_seconds"],
            "test_accuracy": meta["test_accuracy"],
            "test_loss": meta["test_loss"],
            "data": {key: data[key] for key in ("source", "fingerprint", "n_train", "n_val", "n_test")},
            "preprocessing": meta["preprocessing"],
            "versions": meta["versions"],
            "search": meta.get("search"),
        }


def training_options(training: dict) -> str:
    """The options as a user types them (hidden 512,256); those of the other architecture left out,
    and an option left unset read as what it meant (`limit all`), never `None`."""
    shown = {key: value for key, value in training.items() if not (key in ("hidden", "width", "augment") and value is None)}
    return ", ".join(f"{key} {_option_value(key, value)}" for key, value in shown.items())


def _option_value(key: str, value) -> str:
    if value is None:
        return "all" if key == "limit" else "default"
    return ",".join(map(str, value)) if isinstance(value, list) else str(value)


def search_summary(search: dict) -> str:
    """`digits tune`'s search, as recorded in the model file."""
    results = search.get("results") or []
    best = next((r for r in results if r.get("number") == search.get("best_trial")), None)
    text = f"{search.get('algorithm')}, {len(results)} trials by {search.get('objective', 'val_accuracy')}"
    if best and isinstance(best.get("val_accuracy"), (int, float)):
        text += f"; best: trial {best['number']} ({best['val_accuracy']:.4f})"
    return text


def model_card(path: Path) -> ModelCard:
    """Load a model file (Keras, safe mode) and describe it."""
    model, meta = store.load(path)
    layers = [
        Layer(layer.name, type(layer).__name__, str(layer.output.shape[1:]) if hasattr(layer, "output") else "", layer.count_params())
        for layer in model.layers
    ]
    litert = store.read_member(path, "model.tflite") is not None
    return ModelCard(path, layers, model.count_params(), meta, litert)
