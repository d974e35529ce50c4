"""Shared fixtures. Tests that need real data read ../shared/data beside the checkout."""

import os
from pathlib import Path

import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
ROOT = Path(__file__).resolve().parents[1]
TESTS = ROOT / "tests"
SHARED_DATA = ROOT.parent / "shared" / "data"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The real data sets; a clear failure (not a skip) when they are missing."""
    if not (SHARED_DATA / "modelnet10_vox32.npz").is_file():
        pytest.fail(f"real data not found at {SHARED_DATA}: the tests expect ../shared/data beside the checkout")
    return SHARED_DATA


@pytest.fixture(autouse=True)
def seeded():
    """Every test starts from the same Python, NumPy, TensorFlow and Keras seeds, whatever ran before it."""
    import keras

    keras.utils.set_random_seed(0)


@pytest.fixture
def deterministic_ops():
    """Deterministic TensorFlow kernels, for tests that compare weights bit for bit.

    TensorFlow cannot switch this off again, so it stays on for the rest of
    the session; each test that needs it asks for it, whatever ran before.
    """
    import tensorflow as tf

    tf.config.experimental.enable_op_determinism()


def subprocess_env(**extra) -> dict:
    """The environment of a test's child Python: this one's, with the tests folder importable (conftest, helpers)."""
    return {**os.environ, "PYTHONPATH": str(TESTS), **extra}


def tiny_config(**overrides):
    """A 16^3 config (two stages) small enough for unit tests of the training loop."""
    from gan3d_tf.config import get_preset

    base = {
        "model.resolution": 16,
        "model.z_dim": 16,
        "model.g_widths": (16, 8),
        "model.d_widths": (8, 16),
        "train.batch_size": 8,
        "train.epochs": 2,
        "train.d_learning_rate": 1e-3,
        "data.builtin_size": 24,
    }
    base.update(overrides)
    return get_preset("smoke").replace(**base).validate()
