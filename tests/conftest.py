"""Shared fixtures. Tests that need real data read ../shared/data beside the checkout.

Every test that uses the `shared_data` fixture is marked `realdata`. Without
the data it is skipped with one line saying how to get it, except under
`CI=true`, where a missing data folder fails it. `GAN3D_SHARED_DATA=DIR`
reads the data from DIR instead of ../shared/data.
"""

import os
from pathlib import Path

import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
ROOT = Path(__file__).resolve().parents[1]
TESTS = ROOT / "tests"
SHARED_DATA = Path(os.environ.get("GAN3D_SHARED_DATA") or ROOT.parent / "shared" / "data")
SHARED_FILES = ("modelnet10_vox32.npz", "modelnet40_pts1024_f16.npz", "ikea/Lists/Images.txt")
HOW_TO_GET = (
    "they check the project's copies of ModelNet and IKEA, see the README's Data section "
    "(GAN3D_SHARED_DATA=DIR reads them from DIR); to download the data sets: gan3d_tf.datasets, "
    "e.g. python -m gan3d_tf.datasets modelnet10"
)
# flags of a 16^3 model with two narrow stages, for CLI tests that train (`train.py ... *TINY_MODEL_FLAGS`)
TINY_ARCH_FLAGS = (
    "--set",
    "model.resolution=16",
    "--set",
    "model.z_dim=16",
    "--set",
    "model.g_widths=[16,8]",
    "--set",
    "model.d_widths=[8,16]",
)
TINY_MODEL_FLAGS = ("--preset", "smoke", "--batch-size", "8", "--d-lr", "1e-3", *TINY_ARCH_FLAGS)


def missing_shared_data() -> list[str]:
    """The files of ../shared/data (or GAN3D_SHARED_DATA) the realdata tests read that are not there."""
    return [f for f in SHARED_FILES if not (SHARED_DATA / f).is_file()]


def pytest_collection_modifyitems(config, items):
    """Marks every test that uses real data (the `shared_data` fixture, also through other fixtures) `realdata`."""
    for item in items:
        if "shared_data" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.realdata)


def pytest_terminal_summary(terminalreporter):
    """One line at the end when realdata tests were skipped: how many, and how to get the data."""
    skipped = [r for r in terminalreporter.stats.get("skipped", []) if "realdata" in r.keywords]
    if skipped:
        terminalreporter.write_line(
            f"{len(skipped)} realdata tests skipped: real data not found at {SHARED_DATA}; " + HOW_TO_GET
        )


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The real data sets. Missing: the test is skipped with a how-to line, or fails under CI=true."""
    missing = missing_shared_data()
    if missing:
        message = f"real data not found at {SHARED_DATA} (missing {', '.join(missing)}); " + HOW_TO_GET
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"CI=true: {message}", pytrace=False)
        pytest.skip(message)
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


def real_batch(n=8, r=16, seed=0):
    """n binary r^3 grids of boxes of random size standing on the floor (a stand-in for real shapes)."""
    import numpy as np

    rng = np.random.default_rng(seed)
    x = np.zeros((n, r, r, r), np.float32)
    for i in range(n):
        a, b, h = rng.integers(3, 8, size=3)
        x[i, 8 - a // 2 : 8 + a // 2 + 1, 8 - b // 2 : 8 + b // 2 + 1, :h] = 1
    return x


def independent_voxels(training_grids, n: int, seed: int = 0):
    """A negative control for generation tests: n grids whose voxels are drawn independently, each voxel filled
    with the probability that it is filled in `training_grids` (their mean occupancy, voxel by voxel).

    It knows where chairs put material but nothing about shape: it has the data's occupancy, no empty grid and
    low pairwise IoU, so checks of emptiness, diversity and (at 16^3) coverage pass it; a generator that has
    learned shapes must beat it where shapes matter (MMD, `largest_component_share`).
    """
    import numpy as np

    p = np.asarray(training_grids, np.float32).mean(axis=0)
    return (np.random.default_rng(seed).random((n,) + p.shape) < p).astype(np.float32)


def largest_component_share(samples, threshold: float = 0.5) -> float:
    """Mean over the non-empty grids of the share of their filled voxels that lies in their largest face-connected
    (6-connected) component: near 1 for solid shapes, low for scattered voxels (NaN when all are empty)."""
    import numpy as np

    from gan3d_tf.metrics.quality import largest_component_fraction

    shares = largest_component_fraction(samples, threshold, connectivity=6)
    return float(np.nanmean(shares)) if not np.isnan(shares).all() else float("nan")


def generator_holder(generator):
    """A Keras model whose training does nothing and that holds `generator`, for callbacks that read
    `model.generator` (the generation monitor)."""
    import keras

    class Holder(keras.Model):
        def __init__(self, generator):
            super().__init__()
            self.generator = generator

        def train_step(self, data):
            return {"loss": keras.ops.zeros(())}

    return Holder(generator)
