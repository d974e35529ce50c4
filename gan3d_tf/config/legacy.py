"""Configs and checkpoints written by older versions of the code, handled in one place.

Training options removed from the train step (issue 29; why:
docs/experiments/2026-12-06-recipe-options-removed.md) are still in the
config.json of runs made before. A removed field holding its "off" value
is dropped, so that such a run resumes; one that was on is refused, naming
the field, as this code cannot train what that run trained.

Checkpoints: runs saved before step counting have no `step` variable;
`restore_checkpoint` restores them without it.
"""

from __future__ import annotations

# train fields removed by issue 29 -> their "off" value (the only one a run made before can resume with)
REMOVED_TRAIN_FIELDS = {
    "instance_noise": 0.0,
    "instance_noise_steps": 0,
    "d_augment": "none",
    "binarize_fake": False,
    "r1_gamma": 0.0,
}


def upgrade(config: dict) -> dict:
    """A copy of a config.json's contents that today's `Config.from_dict` reads.

    Raises:
        ValueError: a removed field that was on, naming it and its value.
    """
    config = dict(config)
    train = dict(config.get("train", {}))
    for name, off in REMOVED_TRAIN_FIELDS.items():
        if name not in train:
            continue
        value = train.pop(name)
        if value != off and not (name == "d_augment" and value == ""):
            raise ValueError(
                f"train.{name}={value!r}: this option was removed from the train step (issue 29; "
                f"docs/experiments/2026-12-06-recipe-options-removed.md); a run that used it cannot "
                f"be resumed or fine-tuned with this version (only {off!r}, off, is accepted)"
            )
    if "train" in config:
        config["train"] = train
    return config


def restore_checkpoint(checkpoint, parts: dict, path: str) -> None:
    """Restores the checkpoint at `path` into `checkpoint` (made of `parts` and `step`), every value consumed.

    A checkpoint saved before step checkpoints (epoch ends only) has no `step`: it is restored into `parts`
    alone, and `step` stays 0 (`training.loop.train` then counts the steps from the epoch).
    """
    import tensorflow as tf

    if "step/.ATTRIBUTES/VARIABLE_VALUE" in dict(tf.train.list_variables(path)):
        checkpoint.restore(path).assert_consumed()
    else:
        tf.train.Checkpoint(**parts).restore(path).assert_consumed()
