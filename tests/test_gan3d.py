"""GAN3D.train_step: losses from logits and the paper's conditional D update."""

import subprocess
import sys
import textwrap

import keras
import numpy as np
import pytest
import tensorflow as tf

from conftest import ROOT, real_batch, subprocess_env, tiny_config
from gan3d_tf.training import build_gan


def snapshot(variables):
    return [np.array(v) for v in variables]


def changed(before, variables):
    return [not np.array_equal(b, np.array(v)) for b, v in zip(before, variables)]


@pytest.mark.parametrize("threshold,d_should_change", [(-0.01, False), (1.0, True)])
def test_conditional_discriminator_update(threshold, d_should_change):
    gan = build_gan(tiny_config(**{"train.d_acc_threshold": threshold}))
    d_vars, g_vars = gan.discriminator.trainable_variables, gan.generator.trainable_variables
    d0, g0 = snapshot(d_vars), snapshot(g_vars)
    data = tf.data.Dataset.from_tensors(real_batch()).repeat()
    history = gan.fit(data, steps_per_epoch=3, epochs=1, verbose=0).history

    assert all(changed(g0, g_vars)), "G must be updated every step"
    assert int(gan.g_optimizer.iterations) == 3
    if d_should_change:
        assert all(changed(d0, d_vars))
        assert int(gan.d_optimizer.iterations) == 3
        assert history["d_updated"] == [1.0]
    else:
        assert not any(changed(d0, d_vars)), "D changed although its accuracy was above the threshold"
        assert int(gan.d_optimizer.iterations) == 0  # Adam's state is untouched too
        assert history["d_updated"] == [0.0]


def test_metrics_match_a_hand_computation():
    """One step's d_loss, g_loss and d_acc equal BCE / accuracy computed by hand
    from the same z (the sampler's state is copied) and the pre-step weights."""
    gan = build_gan(tiny_config(**{"train.d_acc_threshold": 1.0}))
    x = real_batch()
    rng_copy = tf.random.Generator.from_state(gan.z_rng.state.numpy(), gan.z_rng.algorithm)
    z = rng_copy.uniform((8, 16), 0.0, 1.0)
    # training-mode batch norm uses batch statistics, so this forward pass sees what the step sees
    fake = gan.generator(z, training=True)
    logits = gan.discriminator(tf.concat([x, fake], 0), training=True).numpy()
    real_l, fake_l = logits[:8], logits[8:]

    def bce(label, logit):
        return np.mean(np.maximum(logit, 0) - logit * label + np.log1p(np.exp(-np.abs(logit))))

    expected = {
        "d_loss": bce(1, real_l) + bce(0, fake_l),
        "g_loss": bce(1, fake_l),
        "d_acc": (np.sum(real_l > 0) + np.sum(fake_l < 0)) / 16,
        "fake_occupancy": np.mean(fake.numpy() > 0.5),
        "fake_diversity": np.mean(np.std(fake.numpy(), axis=0)),
    }
    logs = gan.train_on_batch(x, return_dict=True)
    for key, value in expected.items():
        assert logs[key] == pytest.approx(value, rel=1e-4, abs=1e-5), key


def test_diversity_is_zero_for_a_collapsed_generator():
    """fake_diversity measures variation across z, not across space: a G that ignores z scores 0."""
    gan = build_gan(tiny_config(**{"train.d_acc_threshold": 1.0}))
    x = real_batch()
    assert gan.train_on_batch(x, return_dict=True)["fake_diversity"] > 1e-3
    gan.reset_metrics()
    first = gan.generator.get_layer("deconv1")
    first.kernel.assign(tf.zeros_like(first.kernel))  # z no longer reaches the output
    bn = gan.generator.get_layer("bn1")
    bn.beta.assign(tf.random.normal(bn.beta.shape, seed=1))  # but the output still varies in space
    fake = gan.generator(tf.random.uniform((8, 16), seed=2), training=True).numpy()
    assert np.std(fake[0]) > 1e-3
    # the metric is taken from the step's forward pass, before its update
    assert gan.train_on_batch(x, return_dict=True)["fake_diversity"] == pytest.approx(0.0, abs=1e-6)


MIRRORED = textwrap.dedent(
    """
    import numpy as np, tensorflow as tf
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
    from conftest import real_batch, tiny_config
    from gan3d_tf.training import build_gan
    strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
    assert strategy.num_replicas_in_sync == 2
    for threshold, expect_d in ((1.0, True), (-0.01, False)):
        with strategy.scope():
            gan = build_gan(tiny_config(**{{"train.d_acc_threshold": threshold}}))
        d0 = [np.array(v) for v in gan.discriminator.trainable_variables]
        data = tf.data.Dataset.from_tensors(real_batch(16)).repeat().unbatch().batch(16)
        hist = gan.fit(data, steps_per_epoch=2, epochs=1, verbose=0).history
        for model in (gan.generator, gan.discriminator):
            for v in model.weights:
                copies = [np.array(c) for c in v.value.values]
                assert len(copies) == 2, v.path
                np.testing.assert_array_equal(copies[0], copies[1], err_msg=v.path)
        d_changed = any(not np.array_equal(a, np.array(v)) for a, v in zip(d0, gan.discriminator.trainable_variables))
        assert d_changed == expect_d, (threshold, d_changed)
        assert hist["d_updated"] == [1.0 if expect_d else 0.0], hist
        assert int(gan.g_optimizer.iterations.numpy()) == 2
    print("MIRRORED_OK")
    """
)


@pytest.mark.slow
def test_two_replica_mirrored_strategy_keeps_replicas_identical():
    script = MIRRORED.format(root=str(ROOT), tests=str(ROOT / "tests"))
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=subprocess_env(), timeout=600
    )
    assert out.returncode == 0 and "MIRRORED_OK" in out.stdout, out.stderr[-4000:]


def test_mixed_precision_train_step():
    gan = build_gan(tiny_config(**{"train.mixed_precision": True, "train.d_acc_threshold": 1.0}))
    on_gpu = bool(tf.config.list_physical_devices("GPU"))  # fp16 with loss scaling on a GPU, bf16 on a CPU
    assert gan.generator.dtype_policy.name == ("mixed_float16" if on_gpu else "mixed_bfloat16")
    assert isinstance(gan.g_optimizer, keras.optimizers.LossScaleOptimizer) == on_gpu
    g0 = snapshot(gan.generator.trainable_variables)
    logs = gan.train_on_batch(real_batch(), return_dict=True)
    assert all(np.isfinite(v) for v in logs.values())
    assert all(changed(g0, gan.generator.trainable_variables))
    assert all(v.dtype == "float32" for v in gan.generator.weights + gan.discriminator.weights)


@pytest.mark.parametrize("gpus,policy", [([], "mixed_bfloat16"), (["/device:GPU:0"], "mixed_float16")])
def test_mixed_precision_policy_follows_the_device(monkeypatch, gpus, policy):
    """bf16 without a GPU, fp16 with loss scaling on one; a GPU is faked, so that both branches run on any host."""
    from gan3d_tf.training.builders import dtype_policy

    list_devices = tf.config.list_logical_devices
    monkeypatch.setattr(
        tf.config, "list_logical_devices", lambda kind=None: list(gpus) if kind == "GPU" else list_devices(kind)
    )
    assert dtype_policy(False) is None and dtype_policy(True) == policy
    gan = build_gan(tiny_config(**{"train.mixed_precision": True}))
    assert gan.generator.dtype_policy.name == gan.discriminator.dtype_policy.name == policy
    for optimizer in (gan.g_optimizer, gan.d_optimizer):
        assert isinstance(optimizer, keras.optimizers.LossScaleOptimizer) == (policy == "mixed_float16")


LOSS_SCALE = textwrap.dedent(
    """
    import numpy as np, tensorflow as tf, keras
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
    from gan3d_tf.models.gan3d import apply_gradients_if
    strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
    with strategy.scope():
        model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])
        opt = keras.optimizers.LossScaleOptimizer(keras.optimizers.Adam(0.1))
        opt.build(model.trainable_variables)

    @tf.function
    def step(x, take):
        def replica_fn(x):
            with tf.GradientTape() as tape:
                loss = opt.scale_loss(tf.reduce_mean(model(x) ** 2))
            grads = tape.gradient(loss, model.trainable_variables)
            return apply_gradients_if(opt, take, grads, model.trainable_variables)
        return strategy.run(replica_fn, args=(x,))

    x = next(iter(strategy.experimental_distribute_dataset(
        tf.data.Dataset.from_tensors(tf.ones((8, 4))).unbatch().batch(8))))
    w0 = [np.array(v) for v in model.trainable_variables]
    step(x, tf.constant(False))
    assert all(np.array_equal(a, np.array(v)) for a, v in zip(w0, model.trainable_variables))
    step(x, tf.constant(True))
    assert all(not np.array_equal(a, np.array(v)) for a, v in zip(w0, model.trainable_variables))
    for v in model.trainable_variables:
        a, b = [np.array(c) for c in v.value.values]
        np.testing.assert_array_equal(a, b)
    print("LOSS_SCALE_OK")
    """
)


@pytest.mark.slow
def test_gated_update_with_loss_scale_optimizer_under_mirrored_strategy():
    """The fp16 (GPU) path wraps Adam in a LossScaleOptimizer, which has its own
    cross-replica cond; the gated apply must compose with it."""
    out = subprocess.run(
        [sys.executable, "-c", LOSS_SCALE.format(root=str(ROOT))],
        env=subprocess_env(),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 0 and "LOSS_SCALE_OK" in out.stdout, out.stderr[-4000:]
