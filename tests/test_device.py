"""The device `digits train` names in its Model line."""

from __future__ import annotations

from digitcli import backend


def test_the_device_named_is_the_one_tensorflow_trains_on():
    if backend.tf.config.list_physical_devices("GPU"):  # a machine with a GPU
        assert backend.device().startswith("GPU 0")
    else:  # this machine and CI's
        assert backend.device() == "CPU"


def test_a_gpu_is_named_as_tensorflow_describes_it(monkeypatch):
    gpu = backend.tf.config.PhysicalDevice(name="/physical_device:GPU:0", device_type="GPU")
    monkeypatch.setattr(backend.tf.config, "list_physical_devices", lambda kind=None: [gpu] if kind == "GPU" else [])
    details = {"device_name": "NVIDIA GeForce RTX 4090", "compute_capability": (8, 9)}
    monkeypatch.setattr(backend.tf.config.experimental, "get_device_details", lambda device: details if device is gpu else {})
    assert backend.device() == "GPU 0 (NVIDIA GeForce RTX 4090)"
    details.clear()
    assert backend.device() == "GPU 0"
