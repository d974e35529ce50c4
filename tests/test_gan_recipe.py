"""gan3d_tf.config.recipe and .options: each training option declared once, checked in one place, and
train.py's flags generated from the fields."""

import dataclasses

import pytest

from conftest import tiny_config
from gan3d_tf.config import GANRecipe, TrainConfig
from gan3d_tf.config.options import options
from gan3d_tf.config.resolve import OVERRIDES


@pytest.mark.parametrize(
    "field,value,message",
    [
        ("n_critic", 0, "n_critic must be >= 1, got 0"),
        ("loss", "lsgan", "loss must be one of"),
        ("d_passes", "both", "d_passes must be one of"),
        ("ema_decay", 1.0, r"ema_decay must be in \[0, 1\)"),
        ("d_acc_threshold", 1.5, "d_acc_threshold must be <= 1"),
        ("gp_weight", -1.0, "gp_weight must be >= 0"),
    ],
)
def test_recipe_checks_name_the_field(field, value, message):
    with pytest.raises(ValueError, match=message):
        GANRecipe(**{field: value}).check()
    with pytest.raises(ValueError, match=message):  # the run config checks the same way
        tiny_config(**{f"train.{field}": value})


def test_gan3d_takes_the_recipe_whole_and_checks_it():
    from gan3d_tf.models import Discriminator, Generator
    from gan3d_tf.models.gan3d import GAN3D

    g, d = Generator(z_dim=4, widths=(8, 4)), Discriminator(widths=(4, 8))
    gan = GAN3D(g, d, GANRecipe(n_critic=2, ema_decay=0.5), seed=3)
    assert gan.gan_recipe == GANRecipe(n_critic=2, ema_decay=0.5) and gan.ema_generator is not None
    assert GAN3D.from_config(gan.get_config()).gan_recipe == gan.gan_recipe
    with pytest.raises(ValueError, match="n_critic must be >= 1"):
        GAN3D(g, d, GANRecipe(n_critic=0))
    with pytest.raises(ValueError, match="n_critic"):
        GAN3D(g, d, n_critic=2)  # options come in the recipe only (Keras refuses unknown keywords, naming them)


def test_train_config_is_a_recipe_plus_the_run():
    recipe_fields = [f.name for f in dataclasses.fields(GANRecipe)]
    assert [f.name for f in dataclasses.fields(TrainConfig)][: len(recipe_fields)] == recipe_fields
    assert GANRecipe.of(tiny_config(**{"train.n_critic": 3}).train) == GANRecipe(n_critic=3)


def test_flags_and_set_names_come_from_the_fields():
    from gan3d_tf.cli.train import build_parser

    actions = {a.dest: a for a in build_parser()._actions}
    for f in options(TrainConfig):
        flag = f.metadata["flag"]
        if flag:
            dest = flag.lstrip("-").replace("-", "_")
            assert OVERRIDES[dest] == f"train.{f.name}" and flag in actions[dest].option_strings
            assert f.metadata["help"] in actions[dest].help.replace("%%", "%")  # argparse prints %% as %
            if f.metadata["choices"]:
                assert tuple(actions[dest].choices) == f.metadata["choices"]
    assert tuple(actions["strategy"].choices) == ("auto", "mirrored", "default", "multiworker")


@pytest.mark.parametrize(
    "field,value",
    [("train.loss", "wgan-gp"), ("train.n_critic", 5), ("train.d_passes", "separate"), ("train.gp_weight", 1.0)],
)
def test_vaegan_refuses_the_gan_options_it_does_not_honour(field, value):
    with pytest.raises(ValueError, match=f"{field}=.* do not apply to the 3D-VAE-GAN"):
        tiny_config(**{"algorithm": "vaegan", field: value, "model.d_norm": "layer", "train.d_acc_threshold": 1.0})


def test_vaegan_model_refuses_gan_options_by_name():
    from gan3d_tf.models import Discriminator, Encoder, Generator
    from gan3d_tf.models.vaegan3d import VAEGAN3D

    e = Encoder(z_dim=8, widths=(4, 4, 8, 8), image_size=64)
    g, d = Generator(z_dim=8, widths=(8, 4)), Discriminator(widths=(4, 8))
    with pytest.raises(ValueError, match="VAEGAN3D does not take loss, n_critic"):
        VAEGAN3D(e, g, d, loss="wgan-gp", n_critic=5)
    model = VAEGAN3D(e, g, d, d_acc_threshold=0.5)
    assert model.gan_recipe == GANRecipe(d_acc_threshold=0.5)
    assert VAEGAN3D.from_config(model.get_config()).gan_recipe == model.gan_recipe


def test_train_py_refuses_vaegan_with_wgan_gp(capsys):
    from gan3d_tf.cli import train

    assert (
        train.main(
            [
                "--model",
                "vaegan",
                "--loss",
                "wgan-gp",
                "--d-norm",
                "layer",
                "--d-acc-threshold",
                "1",
                "--preset",
                "smoke",
                "--out",
                "/nonexistent/never-written",
            ]
        )
        == 2
    )
    assert "train.loss='wgan-gp' do not apply to the 3D-VAE-GAN" in capsys.readouterr().err
    assert (
        train.main(
            ["--model", "vaegan", "--ema-decay", "0.9", "--preset", "smoke", "--out", "/nonexistent/never-written"]
        )
        == 2
    )
    assert "--ema-decay does not apply to --model vaegan" in capsys.readouterr().err
