"""3D-VAE-GAN: encoder shapes, the loss terms against hand computations, and the training step."""

import math

import keras
import numpy as np
import pytest
import tensorflow as tf

from gan3d_tf.models.discriminator import Discriminator
from gan3d_tf.models.encoder import Encoder
from gan3d_tf.models.generator import Generator
from gan3d_tf.models.reparameterize import Reparameterize
from gan3d_tf.config import Config
from gan3d_tf.models.vaegan3d import (
    VAEGAN3D,
    kl_divergence,
    prior_moments,
    reconstruction_cross_entropy,
    reconstruction_error,
)


def test_paper_encoder_shapes_and_serialization(tmp_path):
    e = Encoder()  # the paper's: 256^2 RGB -> 200-d mean and log-variance
    names = [layer.name for layer in e.layers]
    convs = [e.get_layer(n) for n in ("conv1", "conv2", "conv3", "conv4", "conv5_mean")]
    assert [c.kernel_size[0] for c in convs] == [11, 5, 5, 5, 8]
    assert [c.strides[0] for c in convs] == [4, 2, 2, 2, 1]
    assert [e.get_layer(f"bn{i}") for i in range(1, 5)] and "relu4" in names
    assert [tuple(e.get_layer(f"conv{i}").output.shape[1:3]) for i in range(1, 5)] == [
        (64, 64),
        (32, 32),
        (16, 16),
        (8, 8),
    ]
    mean, log_variance = e(np.random.default_rng(0).uniform(size=(2, 256, 256, 3)).astype("float32"), training=False)
    assert mean.shape == (2, 200) and log_variance.shape == (2, 200) and mean.dtype == tf.float32
    e.save(tmp_path / "e.keras")
    loaded = keras.saving.load_model(tmp_path / "e.keras", safe_mode=True)
    x = np.random.default_rng(1).uniform(size=(1, 256, 256, 3)).astype("float32")
    np.testing.assert_allclose(loaded(x, training=False)[0], e(x, training=False)[0], atol=1e-5)


def test_encoder_rejects_bad_sizes():
    with pytest.raises(ValueError, match="multiple of 32"):
        Encoder(image_size=100)
    with pytest.raises(ValueError, match="first 4 convs"):
        Encoder(widths=(8, 16))


def test_kl_against_hand_computation():
    mean = np.array([[0.0, 1.0], [0.5, -2.0]], np.float32)
    log_variance = np.array([[0.0, math.log(4.0)], [math.log(0.25), 0.0]], np.float32)
    # KL(N(m, v) || N(0, 1)) = (v + m^2 - 1 - ln v) / 2 per dimension
    hand = [0.0 + (4 + 1 - 1 - math.log(4)) / 2, (0.25 + 0.25 - 1 - math.log(0.25)) / 2 + (1 + 4 - 1) / 2]
    np.testing.assert_allclose(kl_divergence(mean, log_variance), hand, rtol=1e-6)
    # against a moment-matched uniform prior N(1/2, 1/12): the mean at 1/2 with variance 1/12 costs nothing
    pm, pv = prior_moments("uniform")
    assert (pm, pv) == (0.5, 1 / 12)
    zero = kl_divergence(np.full((1, 3), 0.5, np.float32), np.full((1, 3), math.log(1 / 12), np.float32), pm, pv)
    np.testing.assert_allclose(zero, [0.0], atol=1e-6)
    # and a Monte-Carlo estimate agrees for a general case
    rng = np.random.default_rng(0)
    m, v = 0.2, 0.05
    z = rng.normal(m, math.sqrt(v), size=400_000)
    log_q = -0.5 * np.log(2 * np.pi * v) - (z - m) ** 2 / (2 * v)
    log_p = -0.5 * np.log(2 * np.pi * pv) - (z - pm) ** 2 / (2 * pv)
    mc = float(np.mean(log_q - log_p))
    exact = float(kl_divergence(np.array([[m]], np.float32), np.array([[math.log(v)]], np.float32), pm, pv)[0])
    assert abs(mc - exact) < 0.01


def test_reconstruction_error_is_the_squared_l2_norm():
    pred = np.zeros((2, 2, 2, 2), np.float32)
    pred[0, 0, 0, 0] = 0.5
    target = np.zeros_like(pred)
    target[0, 1, 1, 1] = 1.0
    target[1] = 1.0
    np.testing.assert_allclose(reconstruction_error(pred, target), [0.25 + 1.0, 8.0])


def test_reconstruction_cross_entropy_against_hand_computation():
    logits = np.zeros((2, 2, 2, 2), np.float32)
    logits[0, 0, 0, 0] = 2.0
    target = np.zeros_like(logits)
    target[0, 0, 0, 0] = 1.0
    target[1] = 1.0
    # voxel (0,0,0) of shape 0: -log(sigmoid(2)); the other 7: -log(1 - sigmoid(0)) = log 2; shape 1: 8 log 2
    expected = [math.log1p(math.exp(-2.0)) + 7 * math.log(2.0), 8 * math.log(2.0)]
    np.testing.assert_allclose(reconstruction_cross_entropy(logits, target), expected, rtol=1e-6)


def test_generator_logits_are_its_output_before_the_sigmoid():
    g = Generator(z_dim=8, widths=(8, 4), z_distribution="normal", output_bias=-1.0)
    z = np.random.default_rng(0).normal(size=(3, 8)).astype("float32")
    logits = g.logits(z, training=False)
    assert logits.shape == (3, 16, 16, 16) and logits.dtype == tf.float32
    np.testing.assert_allclose(tf.sigmoid(logits), g(z, training=False), atol=1e-6)


def test_cross_entropy_keeps_a_gradient_where_the_squared_error_loses_it():
    """A G that is confidently wrong (every voxel near 0, target full): the squared error of its sigmoid
    gives z almost no gradient, the cross-entropy from its logits a large one."""
    keras.utils.set_random_seed(0)
    g = Generator(z_dim=8, widths=(8, 4), z_distribution="normal", output_bias=-20.0)
    z = tf.Variable(np.random.default_rng(1).normal(size=(2, 8)).astype("float32"))
    target = tf.ones((2, 16, 16, 16))
    with tf.GradientTape(persistent=True) as tape:
        l2 = tf.reduce_mean(reconstruction_error(g(z, training=False), target))
        bce = tf.reduce_mean(reconstruction_cross_entropy(g.logits(z, training=False), target))
    l2_grad, bce_grad = (float(tf.norm(tape.gradient(loss, z))) for loss in (l2, bce))
    assert l2 > 0.99 * 16**3 and bce > 15 * 16**3  # both losses see the error...
    assert bce_grad > 1e5 * l2_grad and bce_grad > 1.0  # ...only the cross-entropy passes it on to z


@pytest.mark.slow
def test_separate_recipe_with_cross_entropy_trains_the_encoder_and_round_trips():
    model = _tiny("separate", recon_loss="bce")
    e_before = [w.numpy().copy() for w in model.encoder.trainable_weights]
    history = model.fit(_pairs(), epochs=2, verbose=0, shuffle=False).history
    assert set(history) == {"kl", "recon", "recon_iou"} and np.all(np.isfinite(history["recon"]))
    assert any(not np.array_equal(a, b.numpy()) for a, b in zip(e_before, model.encoder.trainable_weights))
    assert model.get_config()["recon_loss"] == "bce"
    with pytest.raises(ValueError, match="recon_loss must be one of"):
        VAEGAN3D(model.encoder, model.generator, model.discriminator, recon_loss="l1")
    with pytest.raises(ValueError, match="vaegan.recon_loss must be one of"):
        Config().replace(**{"algorithm": "vaegan", "vaegan.recon_loss": "l1"}).validate()


def test_reparameterize_samples_with_the_right_moments():
    layer = Reparameterize(seed=3)
    mean = tf.fill([20000, 2], 1.5)
    log_variance = tf.math.log(tf.constant([[0.25, 4.0]]) * tf.ones([20000, 2]))
    z = layer((mean, log_variance), training=True).numpy()
    np.testing.assert_allclose(z.mean(0), [1.5, 1.5], atol=0.05)
    np.testing.assert_allclose(z.std(0), [0.5, 2.0], rtol=0.03)
    np.testing.assert_array_equal(layer((mean, log_variance), training=False), mean)


def _tiny(recipe, seed=0, recon_loss="l2"):
    keras.utils.set_random_seed(seed)
    e = Encoder(z_dim=8, widths=(4, 4, 8, 8), image_size=64)
    g = Generator(z_dim=8, widths=(8, 4), z_distribution="normal")
    d = Discriminator(widths=(4, 8))
    model = VAEGAN3D(e, g, d, recipe=recipe, seed=seed, recon_loss=recon_loss)
    model.compile(
        g_optimizer=keras.optimizers.Adam(1e-3),
        d_optimizer=keras.optimizers.Adam(1e-3),
        e_optimizer=keras.optimizers.Adam(1e-3),
    )
    return model


def _pairs(n=8):
    rng = np.random.default_rng(0)
    images = rng.uniform(size=(n, 64, 64, 3)).astype("float32")
    voxels = (rng.uniform(size=(n, 16, 16, 16)) > 0.7).astype("float32")
    return tf.data.Dataset.from_tensor_slices(((images, voxels),)).batch(4)


@pytest.mark.slow
def test_joint_step_trains_all_three_networks():
    model = _tiny("joint")
    before = {
        name: [w.numpy().copy() for w in net.trainable_weights]
        for name, net in (("e", model.encoder), ("g", model.generator), ("d", model.discriminator))
    }
    history = model.fit(_pairs(), epochs=1, verbose=0, shuffle=False).history
    assert {"kl", "recon", "recon_iou", "d_loss", "g_loss", "d_acc", "d_updated"} <= set(history)
    for name, net in (("e", model.encoder), ("g", model.generator)):
        assert any(not np.array_equal(a, b.numpy()) for a, b in zip(before[name], net.trainable_weights)), name
    # D moved exactly when it was allowed to (accuracy <= 0.8 on some step)
    d_moved = any(not np.array_equal(a, b.numpy()) for a, b in zip(before["d"], model.discriminator.trainable_weights))
    assert d_moved == (history["d_updated"][0] > 0)


@pytest.mark.slow
def test_separate_recipe_trains_only_the_encoder():
    model = _tiny("separate")
    g_before = [w.numpy().copy() for w in model.generator.weights]  # BN statistics included
    d_before = [w.numpy().copy() for w in model.discriminator.weights]
    e_before = [w.numpy().copy() for w in model.encoder.trainable_weights]
    history = model.fit(_pairs(), epochs=2, verbose=0, shuffle=False).history
    assert set(history) == {"kl", "recon", "recon_iou"}
    assert all(np.array_equal(a, b.numpy()) for a, b in zip(g_before, model.generator.weights))
    assert all(np.array_equal(a, b.numpy()) for a, b in zip(d_before, model.discriminator.weights))
    assert any(not np.array_equal(a, b.numpy()) for a, b in zip(e_before, model.encoder.trainable_weights))


def nearer_own_shape(predicted, shapes, which) -> np.ndarray:
    """bool [N]: whether each predicted grid overlaps (IoU at 0.5) the shape its image shows, shapes[which[i]],
    more than the other one."""
    filled, shapes = np.asarray(predicted) > 0.5, np.asarray(shapes) > 0.5

    def iou(a, b):
        return (a & b).sum() / max((a | b).sum(), 1)

    own = np.array([iou(p, shapes[k]) for p, k in zip(filled, which)])
    other = np.array([iou(p, shapes[1 - k]) for p, k in zip(filled, which)])
    return own > other


@pytest.mark.slow
def test_vaegan_learns_to_reconstruct():
    """Trained jointly, E and G learn which of two shapes an image shows."""
    model = _tiny("joint")
    model.recon_weight, model.kl_weight = 0.01, 1e-3  # make reconstruction dominate for this check
    model.compile(
        g_optimizer=keras.optimizers.Adam(1e-2, beta_1=0.5),
        d_optimizer=keras.optimizers.Adam(1e-3),
        e_optimizer=keras.optimizers.Adam(1e-2, beta_1=0.5),
    )
    rng = np.random.default_rng(0)
    which = np.arange(8) % 2
    images = (np.where(which[:, None, None, None], 0.8, 0.2) + rng.uniform(-0.1, 0.1, (8, 64, 64, 3))).astype("f4")
    voxels = np.zeros((8, 16, 16, 16), np.float32)
    voxels[which == 0, :, :, :8] = 1  # bottom half
    voxels[which == 1, :8] = 1  # front half
    data = tf.data.Dataset.from_tensor_slices(((images, voxels),)).batch(4).cache()
    history = model.fit(data, epochs=40, verbose=0, shuffle=False).history
    assert history["recon"][-1] < 0.5 * history["recon"][0], history["recon"]
    assert history["recon_iou"][-1] > 0.6, history["recon_iou"]
    # each image's prediction (z = the posterior mean) is its own shape rather than the other one. An output that
    # ignores the image passes the IoU bound above (the union of both halves has IoU 2/3 with each), not this.
    shapes = voxels[[0, 1]]  # which = 0, 1
    predicted = np.asarray(model(images, training=False))
    assert nearer_own_shape(predicted, shapes, which).all(), nearer_own_shape(predicted, shapes, which)
    blind = np.broadcast_to(np.maximum(shapes[0], shapes[1]), voxels.shape)
    assert not nearer_own_shape(blind, shapes, which).any()


def test_mismatched_networks_are_refused():
    e = Encoder(z_dim=8, widths=(4, 4, 8, 8), image_size=64)
    with pytest.raises(ValueError, match="z of size 8"):
        VAEGAN3D(e, Generator(z_dim=16, widths=(8, 4)), Discriminator(widths=(4, 8)))
    with pytest.raises(ValueError, match="recipe"):
        VAEGAN3D(e, Generator(z_dim=8, widths=(8, 4)), Discriminator(widths=(4, 8)), recipe="both")
