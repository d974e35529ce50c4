"""The recipes beside the paper's: losses, gradient penalty, D normalisations, critic schedule, EMA of G."""

import subprocess
import sys
import textwrap

import keras
import numpy as np
import pytest
import tensorflow as tf

from conftest import ROOT, real_batch, subprocess_env, tiny_config
from gan3d_tf.models.discriminator import Discriminator
from gan3d_tf.models.losses import gan_losses, gradient_penalty
from gan3d_tf.training import build_gan

REAL = tf.constant([2.0, -0.5, 0.25])
FAKE = tf.constant([-3.0, 0.5, 1.5])


def test_hinge_and_wasserstein_losses_by_hand():
    d, g = gan_losses("hinge", REAL, FAKE)
    # D: mean(relu(1 - real)) + mean(relu(1 + fake)) = (0 + 1.5 + 0.75)/3 + (0 + 1.5 + 2.5)/3
    assert float(d) == pytest.approx(2.25 / 3 + 4.0 / 3)
    assert float(g) == pytest.approx(-(-3.0 + 0.5 + 1.5) / 3)
    d, g = gan_losses("wgan-gp", REAL, FAKE)
    assert float(d) == pytest.approx((-1.0 / 3) - (1.75 / 3))
    assert float(g) == pytest.approx(1.0 / 3)
    d, g = gan_losses("paper", REAL, FAKE)
    sp = np.log1p(np.exp(-np.abs(np.array([2.0, -0.5, 0.25])))) + np.maximum(-np.array([2.0, -0.5, 0.25]), 0)
    assert float(d) > sp.mean()  # BCE(real, 1) plus a positive fake term
    with pytest.raises(ValueError, match="loss must be one of"):
        gan_losses("lsgan", REAL, FAKE)


def linear_critic(weights):
    """D(x) = <w, x> for [batch, 2, 2, 2] grids: its input gradient is w for every sample."""
    inputs = keras.Input((2, 2, 2))
    dense = keras.layers.Dense(1, use_bias=False)
    out = keras.layers.Reshape(())(dense(keras.layers.Flatten()(inputs)))
    model = keras.Model(inputs, out)
    dense.kernel.assign(np.asarray(weights, np.float32).reshape(8, 1))
    return model


def test_gradient_penalty_on_a_linear_critic():
    w = np.zeros(8, np.float32)
    w[:2] = [3.0, 4.0]  # ||w|| = 5 -> penalty (5 - 1)^2 = 16 whatever the inputs
    critic = linear_critic(w)
    real = tf.random.uniform((4, 2, 2, 2), seed=1)
    fake = tf.random.uniform((4, 2, 2, 2), seed=2)
    alpha = tf.constant([0.0, 0.3, 0.7, 1.0])
    assert float(gradient_penalty(critic, real, fake, alpha)) == pytest.approx(16.0, rel=1e-5)
    unit = linear_critic(w / 5.0)  # a 1-Lipschitz critic is not penalised
    assert float(gradient_penalty(unit, real, fake, alpha)) == pytest.approx(0.0, abs=1e-6)


def test_gradient_penalty_differentiates_to_the_critic_weights():
    """Double backprop: d/dw (||w|| - 1)^2 = 2 (||w|| - 1) w / ||w||."""
    w = np.zeros(8, np.float32)
    w[:2] = [3.0, 4.0]
    critic = linear_critic(w)
    x = tf.ones((2, 2, 2, 2))
    with tf.GradientTape() as tape:
        penalty = gradient_penalty(critic, x, x, tf.constant([0.5, 0.5]))
    grad = tape.gradient(penalty, critic.trainable_variables)[0].numpy().ravel()
    np.testing.assert_allclose(grad, 2 * 4.0 * w / 5.0, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("norm", ["batch", "layer", "none", "spectral"])
def test_discriminator_norms_build_train_and_serialize(norm, tmp_path):
    keras.utils.set_random_seed(0)
    d = Discriminator((8, 16), norm=norm)
    names = [layer.name for layer in d.layers]
    assert any(n.startswith("bn") for n in names) == (norm == "batch")
    assert any(n.startswith("ln") for n in names) == (norm == "layer")
    assert any(n.startswith("sn_") for n in names) == (norm == "spectral")
    x = tf.random.uniform((4, 16, 16, 16), seed=3)
    logits = d(x, training=True)
    assert logits.shape == (4,)
    if norm in ("layer", "none", "spectral"):  # no batch statistics: each sample's score is its own
        # (inference mode: a spectral training call also renormalises the kernel in place)
        np.testing.assert_allclose(d(x[:1], training=False), d(x, training=False)[:1], rtol=1e-4, atol=1e-5)
    d.save(tmp_path / "d.keras")
    loaded = keras.saving.load_model(tmp_path / "d.keras")
    assert loaded.norm == norm
    np.testing.assert_allclose(loaded(x, training=False), d(x, training=False), rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match="norm must be one of"):
        Discriminator((8, 16), norm="instance")


def test_spectral_norm_bounds_the_largest_singular_value():
    keras.utils.set_random_seed(0)
    d = Discriminator((8, 16), norm="spectral")
    x = tf.random.uniform((2, 16, 16, 16), seed=4)
    for _ in range(30):  # power iterations converge over training calls
        d(x, training=True)
    kernel = d.get_layer("sn_conv2").layer.kernel.numpy()
    sigma = np.linalg.svd(kernel.reshape(-1, kernel.shape[-1]), compute_uv=False)[0]
    assert sigma == pytest.approx(1.0, rel=0.05)


def test_config_refuses_wgan_gp_with_batch_norm_and_gate():
    with pytest.raises(ValueError, match="batch norm"):
        tiny_config(**{"train.loss": "wgan-gp", "train.d_acc_threshold": 1.0})
    with pytest.raises(ValueError, match="d_acc_threshold"):
        tiny_config(**{"train.loss": "wgan-gp", "model.d_norm": "layer"})
    with pytest.raises(ValueError, match="val_fraction"):
        tiny_config(**{"train.monitor_every_epochs": 1})


def test_wgan_gp_step_updates_d_every_step_and_g_every_n_critic():
    keras.utils.set_random_seed(0)
    gan = build_gan(
        tiny_config(
            **{"train.loss": "wgan-gp", "model.d_norm": "layer", "train.d_acc_threshold": 1.0, "train.n_critic": 3}
        )
    )
    g_vars = gan.generator.trainable_variables
    data = tf.data.Dataset.from_tensors(real_batch()).repeat()
    history = []
    for _ in range(6):
        g0 = [np.array(v) for v in g_vars]
        gan.fit(data, steps_per_epoch=1, epochs=1, verbose=0)
        history.append(any(not np.array_equal(a, np.array(v)) for a, v in zip(g0, g_vars)))
    assert history == [False, False, True, False, False, True]  # D alone twice, then D and G
    assert int(gan.d_optimizer.iterations) == 6 and int(gan.g_optimizer.iterations) == 2
    logs = gan.get_metrics_result()
    assert "gradient_penalty" in logs and np.isfinite(float(logs["gradient_penalty"]))


def test_separate_passes_score_real_and_fake_batches_apart():
    """With batch norm, "separate" sees all-real and all-fake batch statistics: its logits differ from the joint
    pass."""
    keras.utils.set_random_seed(0)
    gan = build_gan(tiny_config(**{"train.d_passes": "separate"}))
    x = tf.constant(real_batch())
    fake = gan.generator(gan.draw_z(8), training=True)
    real_l, fake_l, _, _ = gan.score_and_losses(x, fake)
    np.testing.assert_allclose(real_l, gan.discriminator(x, training=True), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(fake_l, gan.discriminator(fake, training=True), rtol=1e-5, atol=1e-5)
    joint = gan.discriminator(tf.concat([x, fake], 0), training=True)
    assert not np.allclose(joint[:8], real_l, atol=1e-4)


@pytest.mark.slow
def test_ema_follows_g_with_the_ramped_decay():
    keras.utils.set_random_seed(0)
    gan = build_gan(tiny_config(**{"train.ema_decay": 0.99, "train.d_acc_threshold": 1.0}))
    assert gan.sampling_generator is gan.ema_generator
    w0 = [np.array(v) for v in gan.generator.weights]
    np.testing.assert_array_equal(np.array(gan.ema_generator.weights[0]), w0[0])  # starts as a copy of G
    data = tf.data.Dataset.from_tensors(real_batch()).repeat()
    averages = w0
    for n in (1, 2, 3):
        gan.fit(data, steps_per_epoch=1, epochs=1, verbose=0)
        decay = min(0.99, (1 + n) / (10 + n))
        averages = [decay * a + (1 - decay) * np.array(v) for a, v in zip(averages, gan.generator.weights)]
        for a, e in zip(averages, gan.ema_generator.weights):
            np.testing.assert_allclose(np.array(e), a, rtol=1e-5, atol=1e-6, err_msg=e.path)
    assert not np.allclose(np.array(gan.ema_generator.weights[0]), np.array(gan.generator.weights[0]))


MIRRORED_RECIPES = textwrap.dedent(
    """
    import numpy as np, tensorflow as tf
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
    from conftest import real_batch, tiny_config
    from gan3d_tf.training import build_gan
    strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
    cases = [
        {{"train.loss": "wgan-gp", "model.d_norm": "layer", "train.d_acc_threshold": 1.0, "train.n_critic": 2,
          "train.ema_decay": 0.9}},
        {{"train.loss": "hinge", "model.d_norm": "spectral", "train.d_acc_threshold": 1.0,
          "train.d_passes": "separate", "train.ema_decay": 0.9}},
    ]
    for case in cases:
        with strategy.scope():
            gan = build_gan(tiny_config(**case))
        data = tf.data.Dataset.from_tensors(real_batch(16)).repeat().unbatch().batch(16)
        gan.fit(data, steps_per_epoch=4, epochs=1, verbose=0)
        for model in (gan.generator, gan.discriminator, gan.ema_generator):
            for v in model.weights:
                copies = [np.array(c) for c in v.value.values]
                assert len(copies) == 2, v.path
                np.testing.assert_array_equal(copies[0], copies[1], err_msg=v.path)
        n_g = 4 // case.get("train.n_critic", 1)
        assert int(gan.g_optimizer.iterations.numpy()) == n_g, (case, int(gan.g_optimizer.iterations.numpy()))
        assert int(gan.d_optimizer.iterations.numpy()) == 4
        assert int(gan.steps_done.numpy()) == 4
        assert not np.allclose(np.array(gan.ema_generator.weights[0]), np.array(gan.generator.weights[0]))
    print("MIRRORED_RECIPES_OK")
    """
)


@pytest.mark.slow
def test_recipes_under_two_replica_mirrored_strategy():
    """Critic schedule, penalty, spectral norm and EMA keep both replicas identical."""
    script = MIRRORED_RECIPES.format(root=str(ROOT), tests=str(ROOT / "tests"))
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=subprocess_env(), timeout=900
    )
    assert out.returncode == 0 and "MIRRORED_RECIPES_OK" in out.stdout, out.stderr[-4000:]


def test_minibatch_stddev_channel_by_hand_and_groups_never_mix_halves():
    from gan3d_tf.models.minibatch_stddev import MinibatchStddev

    layer = MinibatchStddev(2)
    # two groups of two samples, 1 x 1 x 1 x 2 features each
    x = np.array([[0.0, 0.0], [2.0, 4.0], [1.0, 1.0], [1.0, 1.0]], np.float32).reshape(4, 1, 1, 1, 2)
    out = layer(x).numpy()
    assert out.shape == (4, 1, 1, 1, 3)
    np.testing.assert_allclose(out[..., :2], x)  # the features pass through
    # group 1: per-feature population std over the 2 samples = (1, 2), mean 1.5; group 2: identical samples, 0
    np.testing.assert_allclose(out[:, 0, 0, 0, 2], [1.5, 1.5, 0.0, 0.0], atol=1e-3)
    # a batch not divisible by the group size uses the largest divisor (3 -> groups of 1: no spread)
    np.testing.assert_allclose(MinibatchStddev(2)(x[:3]).numpy()[..., 2].ravel(), 0.0, atol=1e-3)
    with pytest.raises(ValueError, match="group_size must be >= 1"):
        MinibatchStddev(0)


def test_discriminator_with_minibatch_stddev_sees_a_collapsed_batch_and_serializes(tmp_path):
    keras.utils.set_random_seed(0)
    d = Discriminator((8, 16), norm="layer", minibatch_std=4)
    assert "minibatch_std" in [layer.name for layer in d.layers]
    varied = tf.random.uniform((4, 16, 16, 16), seed=5)
    collapsed = tf.repeat(varied[:1], 4, axis=0)
    # the same first shape scores differently in a varied and in a collapsed batch (a plain D cannot tell)
    assert abs(float(d(varied)[0]) - float(d(collapsed)[0])) > 1e-4
    plain = Discriminator((8, 16), norm="layer")
    np.testing.assert_allclose(plain(varied)[0], plain(collapsed)[0], rtol=1e-5, atol=1e-6)
    d.save(tmp_path / "d.keras")
    loaded = keras.saving.load_model(tmp_path / "d.keras")
    assert loaded.minibatch_std == 4
    np.testing.assert_allclose(loaded(varied), d(varied), rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match="minibatch_std must be >= 0"):
        Discriminator((8, 16), minibatch_std=-1)
