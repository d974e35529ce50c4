"""The 3D-VAE-GAN's "latent" recipe: (image, z) pairs from a fixed G, the loss on z, the run, and its refusals."""

import json
import math

import keras
import numpy as np
import pytest

from conftest import tiny_config
from gan3d_tf.data.latent_pairs import latent_dataset
from gan3d_tf.models.discriminator import Discriminator
from gan3d_tf.models.encoder import Encoder
from gan3d_tf.models.generator import Generator
from gan3d_tf.models.vaegan3d import VAEGAN3D, latent_regression_loss


def informative_generator():
    """A hand-set 16^3 G with z of size 2 whose shapes show z from any azimuth.

    z0 > 0 fills the top of the grid, z0 < 0 its bottom, more of it the larger |z0|;
    z1 > 0 fills a central column, z1 < 0 the ring around it.
    """
    g = Generator(z_dim=2, widths=(2, 2), z_distribution="normal", output_bias=-0.5)
    k1 = np.zeros((4, 4, 4, 2, 2), np.float32)  # [x, y, z, out, in] of the first transposed conv (4^3)
    k1[..., 0, 0] = np.array([-1, -1 / 3, 1 / 3, 1], np.float32)[None, None, :]
    centre = np.full((4, 4), -1.0, np.float32)
    centre[1:3, 1:3] = 1.0
    k1[..., 1, 1] = centre[:, :, None]
    k2 = np.zeros((4, 4, 4, 2, 2), np.float32)
    k2[..., 0, 0] = k2[..., 1, 1] = 1 / 8  # each output voxel of a stride-2 transposed conv sums 8 taps
    g.get_layer("deconv1").kernel.assign(k1)
    g.get_layer("deconv2").kernel.assign(k2)
    g.get_layer("deconv3").kernel.assign(np.full((4, 4, 4, 1, 2), 1 / 8, np.float32))
    return g


def _arrays(dataset, n_batches=1):
    out = [tuple(t.numpy() for t in batch[0]) for batch in dataset.take(n_batches)]
    return [np.concatenate(parts) for parts in zip(*out)]


@pytest.mark.slow
def test_pairs_are_reproducible_from_a_seed_and_show_g_of_z():
    g = informative_generator()
    first = _arrays(latent_dataset(g, 4, steps=2, seed=5, image_size=64), 4)  # 2 epochs of 2 batches
    again = _arrays(latent_dataset(g, 4, steps=2, seed=5, image_size=64), 4)
    for a, b in zip(first, again):
        np.testing.assert_array_equal(a, b)
    images, z, voxels = first
    assert images.shape == (16, 64, 64, 3) and z.shape == (16, 2) and voxels.shape == (16, 16, 16, 16)
    np.testing.assert_array_equal(voxels, (g(z, training=False).numpy() > 0.5).astype(np.float32))  # exact labels
    assert len({tuple(row) for row in z}) == 16  # a new z for every pair, epochs included
    resumed = _arrays(latent_dataset(g, 4, steps=2, seed=5, initial_epoch=1, image_size=64), 2)
    for a, b in zip(first, resumed):  # a run resumed at epoch 1 sees the pairs of an uninterrupted run
        np.testing.assert_array_equal(a[8:], b)
    other = _arrays(latent_dataset(g, 4, steps=2, seed=6, image_size=64), 1)
    assert not np.allclose(other[1], z[:4]) and not np.allclose(other[0], images[:4])
    with pytest.raises(ValueError, match="steps must be >= 1"):
        latent_dataset(g, 4, steps=0, seed=0)


def test_latent_loss_against_a_hand_computation():
    z = np.array([[3.0, 4.0]], np.float32)  # |z| = 5
    mean = np.array([[0.0, 2.0]], np.float32)  # |mean| = 2, direction (0, 1)
    log_variance = np.array([[0.0, math.log(4.0)]], np.float32)
    nll = 0.5 * ((0 + 9 / 1) + (math.log(4.0) + 4 / 4))  # log var + (z - mean)^2 / var, per dimension
    squared = 0.5 * (9 + 4) + nll
    direction = 0.5 * ((3 - 0) ** 2 + (4 - 5) ** 2) + 0.5 * (2 - 5) ** 2 + nll  # mean's direction at |z|, its norm
    np.testing.assert_allclose(latent_regression_loss(mean, log_variance, z, "squared"), [squared], rtol=1e-6)
    np.testing.assert_allclose(latent_regression_loss(mean, log_variance, z, "direction"), [direction], rtol=1e-6)
    # about a uniform prior's centre (1/2): the same numbers shifted
    np.testing.assert_allclose(
        latent_regression_loss(mean + 0.5, log_variance, z + 0.5, "direction", 0.5), [direction], rtol=1e-5
    )
    # a shrunk mean in the right direction costs "direction" only its norm term, and "squared" far more
    z = np.array([[0.0, 10.0]], np.float32)
    shrunk = np.array([[0.0, 1.0]], np.float32)
    zero = np.zeros_like(z)
    d = latent_regression_loss(shrunk, zero, z, "direction") - latent_regression_loss(z, zero, z, "direction")
    np.testing.assert_allclose(d, [0.5 * 81 + 0.5 * 81], rtol=1e-5)  # the norm error, and the variance term
    with pytest.raises(ValueError, match="latent loss must be one of"):
        latent_regression_loss(mean, log_variance, z, "l1")


@pytest.mark.slow
def test_the_encoder_recovers_z_of_held_out_renders_better_than_the_prior_mean():
    """With the squared loss the encoder estimates E[z | image], directly comparable to the prior's mean.

    (The "direction" loss puts codes on the prior's shell instead: in 2 dimensions, where |z| varies a lot, its
    squared error is not the measure; in 128 it is the recipe's default, see the record.)
    """
    keras.utils.set_random_seed(0)
    g = informative_generator()
    e = Encoder(z_dim=2, widths=(8, 16, 16, 32), image_size=64)
    model = VAEGAN3D(e, g, Discriminator(widths=(4, 8)), recipe="latent", latent_loss="squared")
    model.compile(
        g_optimizer=keras.optimizers.Adam(1e-3),
        d_optimizer=keras.optimizers.Adam(1e-3),
        e_optimizer=keras.optimizers.Adam(1e-3),
    )
    g_before = [w.numpy().copy() for w in g.weights]
    history = model.fit(
        latent_dataset(g, 16, steps=20, seed=0, image_size=64), epochs=8, steps_per_epoch=20, verbose=0
    ).history
    assert set(history) == {"z_error", "kl", "recon_iou"}
    assert all(np.array_equal(a, b.numpy()) for a, b in zip(g_before, g.weights))  # G stays fixed
    ((images, z, voxels),) = next(iter(latent_dataset(g, 64, steps=1, seed=99, image_size=64)))  # another seed
    mean, _ = e(images, training=False)
    encoder_error = float(np.mean(np.square(mean.numpy() - z.numpy())))
    prior_mean_error = float(np.mean(np.square(z.numpy())))  # predicting the prior's mean, 0
    assert encoder_error < 0.85 * prior_mean_error, (encoder_error, prior_mean_error)  # measured: 0.76 against 1.01


def test_an_untrained_encoder_does_not_beat_the_prior_mean():
    """The negative control of the test above: its margin comes from training, not from the measure."""
    keras.utils.set_random_seed(0)
    g = informative_generator()
    e = Encoder(z_dim=2, widths=(8, 16, 16, 32), image_size=64)
    ((images, z, _),) = next(iter(latent_dataset(g, 64, steps=1, seed=99, image_size=64)))
    mean, _ = e(images, training=False)
    assert float(np.mean(np.square(mean.numpy() - z.numpy()))) > 0.85 * float(np.mean(np.square(z.numpy())))


@pytest.mark.slow
def test_latent_run_keeps_the_gan_runs_g_and_round_trips(tmp_path):
    import train
    from gan3d_tf import training
    from gan3d_tf.training.run_dir import load_network

    gan_dir = tmp_path / "gan"
    training.train(tiny_config(**{"train.epochs": 1}), gan_dir, verbose=0)
    config, _ = train.resolve_config(
        train.parse_args(["--model", "vaegan", "--recipe", "latent", "--gan-run", str(gan_dir), "--preset", "smoke"])
    )
    assert config.vaegan.recipe == "latent" and config.model.g_widths == (16, 8)  # the GAN run's architecture
    config = config.replace(
        **{
            "vaegan.image_size": 64,
            "vaegan.e_widths": (4, 8, 8, 16),
            "data.builtin_size": 16,
            "train.batch_size": 8,
            "train.epochs": 1,
        }
    )
    run = training.train(config, tmp_path / "lat", verbose=0)
    for a, b in zip(load_network(gan_dir, "generator").weights, run.gan.generator.weights, strict=True):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    assert int(run.gan.e_optimizer.iterations.numpy()) == 2
    encoder = load_network(tmp_path / "lat", "encoder")
    assert encoder.z_dim == 16
    assert json.loads((tmp_path / "lat" / "config.json").read_text())["vaegan"]["latent_loss"] == "direction"
    assert keras.saving.load_model(tmp_path / "lat" / "encoder.keras") is not None


def test_latent_run_from_a_model_folder(tmp_path):
    """--gan-run may name a model folder (generator.keras + metadata.json, like pretrained/chair32)."""
    import train
    from gan3d_tf import training

    folder = tmp_path / "zoo"
    folder.mkdir()
    source = tiny_config()
    training.build_gan(source).generator.save(folder / "generator.keras")
    (folder / "metadata.json").write_text(json.dumps({"config": source.to_dict()}))
    config, _ = train.resolve_config(
        train.parse_args(["--model", "vaegan", "--recipe", "latent", "--gan-run", str(folder), "--preset", "smoke"])
    )
    assert config.model == source.model
    run = training.open_run(
        config.replace(**{"vaegan.image_size": 64, "vaegan.e_widths": (4, 8, 8, 16)}), tmp_path / "unused"
    )
    saved = keras.saving.load_model(folder / "generator.keras")
    for a, b in zip(saved.weights, run.gan.generator.weights, strict=True):
        np.testing.assert_array_equal(a.numpy(), b.numpy())


def test_bad_latent_flags_are_refused_before_any_work(tmp_path, capsys):
    import train

    code = train.main(["--model", "vaegan", "--recipe", "latent", "--out", str(tmp_path / "a")])
    assert code == 2 and "vaegan.recipe 'latent' needs vaegan.gan_run" in capsys.readouterr().err
    code = train.main(
        [
            "--model",
            "vaegan",
            "--recipe",
            "latent",
            "--gan-run",
            str(tmp_path / "nowhere"),
            "--out",
            str(tmp_path / "b"),
        ]
    )
    assert code == 2 and "nowhere: neither a run directory" in capsys.readouterr().err
    code = train.main(["--recipe", "latent", "--out", str(tmp_path / "c")])
    assert code == 2 and "--model vaegan only" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exit_info:
        train.main(["--model", "vaegan", "--recipe", "lattice", "--out", str(tmp_path / "d")])
    assert exit_info.value.code == 2 and "invalid choice: 'lattice'" in capsys.readouterr().err
    empty = tmp_path / "empty"
    empty.mkdir()
    code = train.main(
        ["--model", "vaegan", "--recipe", "latent", "--gan-run", str(empty), "--out", str(tmp_path / "e")]
    )
    assert code == 2 and "generator.keras and metadata.json" in capsys.readouterr().err
    code = train.main(
        ["--model", "vaegan", "--recipe", "latent", "--set", "vaegan.latent_loss=cosine", "--out", str(tmp_path / "f")]
    )
    assert code == 2 and "latent_loss must be one of" in capsys.readouterr().err
    assert not any((tmp_path / d).exists() for d in "abcdef")
    from gan3d_tf.config import Config

    with pytest.raises(ValueError, match="vaegan.gan_run .* applies to the recipes"):
        Config().replace(**{"algorithm": "vaegan", "vaegan.gan_run": "runs/x"}).validate()
    with pytest.raises(ValueError, match="vaegan.latent_loss must be one of"):
        Config().replace(
            **{"algorithm": "vaegan", "vaegan.recipe": "latent", "vaegan.gan_run": "x", "vaegan.latent_loss": "l1"}
        ).validate()
    g = informative_generator()
    with pytest.raises(ValueError, match="latent_loss must be one of"):
        VAEGAN3D(
            Encoder(z_dim=2, widths=(4, 4, 8, 8), image_size=64),
            g,
            Discriminator(widths=(4, 8)),
            recipe="latent",
            latent_loss="l1",
        )


def test_mean_shape_iou_baselines_cut_where_the_training_shapes_fit_best():
    from gan3d_tf.evaluation.reconstruct import ShapeMeans, best_threshold, reference_scores

    train = np.zeros((4, 8, 8, 8), np.float32)
    train[:, :4] = 1  # every shape fills the front half...
    train[0, 4:6] = 1  # ...one a further quarter: the mean is 1, 0.25, 0
    mean = train.mean(0)
    cut = best_threshold(mean, train)
    assert cut >= 0.25  # above 0.25 the cut is the half: mean IoU (4/6 + 3) / 4; below, (1 + 3 * 4/6) / 4
    test = train[[0, 2, 3]]
    means = ShapeMeans(mean, ("a",), mean[None], cut, (cut,))
    report = reference_scores(np.zeros_like(test), test, np.zeros(3, int), ("a",), means)
    assert report["baseline_mean_shape_iou"]["mean_iou"] == pytest.approx((4 / 6 + 2) / 3)
    assert report["baseline_class_mean_iou"]["mean_iou"] == pytest.approx((4 / 6 + 2) / 3)
    low = ShapeMeans(mean, ("a",), mean[None], 0.2, (0.2,))  # another cut, another IoU: the cut is used
    assert reference_scores(np.zeros_like(test), test, np.zeros(3, int), ("a",), low)["baseline_class_mean_iou"][
        "mean_iou"
    ] == pytest.approx((1 + 2 * 4 / 6) / 3)
