"""gan3d_tf.config.legacy: configs and checkpoints written before issue 29's removals still load and resume."""

import json
import shutil

import pytest

from conftest import ROOT
from gan3d_tf.config import Config
from gan3d_tf.config.legacy import REMOVED_TRAIN_FIELDS, upgrade

# a tiny smoke run (16^3, EMA of G, 2 steps) trained by the code of commit 71ef7a2, before the removals:
# its config.json holds every removed field at its "off" value
HEAD_RUN = ROOT / "tests" / "fixtures" / "legacy_run_head71ef7a2"


def test_removed_fields_at_their_off_values_are_dropped():
    saved = json.loads((HEAD_RUN / "config.json").read_text())
    assert set(REMOVED_TRAIN_FIELDS) <= set(saved["train"])
    config = Config.from_dict(saved)
    assert config.train.ema_decay == 0.9 and config.model.resolution == 16
    assert not set(REMOVED_TRAIN_FIELDS) & set(config.to_dict()["train"])
    assert "r1_gamma" in saved["train"]  # the input is not changed


@pytest.mark.parametrize(
    "field,value",
    [
        ("instance_noise", 0.2),
        ("binarize_fake", True),
        ("d_augment", "flip,translate"),
        ("r1_gamma", 1.0),
        ("instance_noise_steps", 2500),
    ],
)
def test_a_removed_field_that_was_on_is_refused_by_name(field, value):
    saved = json.loads((HEAD_RUN / "config.json").read_text())
    saved["train"][field] = value
    with pytest.raises(ValueError, match=f"train.{field}={value!r}: this option was removed"):
        upgrade(saved)


def test_unknown_fields_are_still_refused():
    with pytest.raises(ValueError, match="lr"):
        Config.from_dict({"train": {"lr": 1}})


@pytest.mark.slow
def test_a_run_made_before_the_removals_resumes(tmp_path, capsys):
    """Its checkpoint (z_rng, steps_done, G, D, the EMA of G, optimizers, epoch and step) restores, and it trains on."""
    import tensorflow as tf

    from gan3d_tf.cli import train

    run = tmp_path / "run"
    shutil.copytree(HEAD_RUN, run)
    assert train.main(["--resume", "--out", str(run), "--epochs", "2", "--quiet"]) == 0
    out = capsys.readouterr().out
    assert f"resuming {run} from ckpt-2 (epoch 1, step 2)" in out
    latest = tf.train.latest_checkpoint(str(run / "checkpoints"))
    values = dict(
        (name, tf.train.load_variable(latest, name))
        for name, _ in tf.train.list_variables(latest)
        if name
        in (
            "step/.ATTRIBUTES/VARIABLE_VALUE",
            "steps_done/.ATTRIBUTES/VARIABLE_VALUE",
            "epoch/.ATTRIBUTES/VARIABLE_VALUE",
        )
    )
    assert values == {
        "step/.ATTRIBUTES/VARIABLE_VALUE": 4,
        "steps_done/.ATTRIBUTES/VARIABLE_VALUE": 4,
        "epoch/.ATTRIBUTES/VARIABLE_VALUE": 2,
    }
    assert "r1_gamma" not in json.loads((run / "config.json").read_text())["train"]
