"""Config presets, validation and JSON round trip."""

import pytest

from gan3d_tf.config import PRESETS, Config, get_preset


def test_presets_validate_and_match_the_paper():
    for config in PRESETS.values():
        config.validate()
    p = get_preset("paper64")
    assert (p.model.resolution, p.model.z_dim, p.model.z_distribution) == (64, 200, "uniform")
    assert p.model.g_widths == (512, 256, 128, 64)
    assert (p.train.g_learning_rate, p.train.d_learning_rate, p.train.beta_1) == (0.0025, 1e-5, 0.5)
    assert (p.train.batch_size, p.train.d_acc_threshold) == (100, 0.8)
    assert get_preset("modelnet32").model.resolution == 32


def test_json_round_trip(tmp_path):
    c = get_preset("smoke").replace(
        **{
            "seed": 7,
            "data.category": "table",
            "model.z_distribution": "normal",
            "vaegan.view_distance": (1.5, 2.8),
            "vaegan.scene": "room",
        }
    )
    c.to_json(tmp_path / "config.json")
    assert Config.from_json(tmp_path / "config.json") == c


@pytest.mark.parametrize(
    "field,value,message",
    [
        ("model.resolution", 48, "resolution=48"),
        ("model.z_distribution", "gauss", "z_distribution"),
        ("train.batch_size", 0, "batch_size"),
        ("train.d_learning_rate", -1.0, "d_learning_rate"),
        ("train.epochs", 0, "epochs"),
        ("train.d_acc_threshold", 1.5, "d_acc_threshold"),
    ],
)
def test_validation_names_the_field(field, value, message):
    with pytest.raises(ValueError, match=message):
        get_preset("paper64").replace(**{field: value}).validate()


def test_unknown_preset_lists_choices():
    with pytest.raises(ValueError, match="paper64"):
        get_preset("huge")


def test_unknown_field_in_json(tmp_path):
    (tmp_path / "c.json").write_text('{"train": {"lr": 1}}')
    with pytest.raises(ValueError, match="lr"):
        Config.from_json(tmp_path / "c.json")


@pytest.mark.parametrize(
    "field,value,message",
    [
        ("vaegan.scene", "beach", "vaegan.scene must be one of"),
        ("vaegan.recipe", "both", "vaegan.recipe must be one of"),
        ("vaegan.view_distance", (0.5, 2.0), "vaegan.view_distance"),
    ],
)
def test_vaegan_validation_names_the_field(field, value, message):
    with pytest.raises(ValueError, match=message):
        get_preset("smoke").replace(**{"algorithm": "vaegan", field: value}).validate()
