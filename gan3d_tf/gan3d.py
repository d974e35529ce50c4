"""`GAN3D`: the 3D-GAN training model with the paper's conditional D update."""

from __future__ import annotations

import keras
import tensorflow as tf

from gan3d_tf.config import Z_DISTRIBUTIONS


def sample_z(rng: tf.random.Generator, batch_size, z_dim: int, distribution: str) -> tf.Tensor:
    """Draws a [batch_size, z_dim] float32 latent batch from `rng`.

    Args:
        rng: the stateful generator to draw from (its state advances).
        batch_size: number of vectors (int or scalar tensor).
        z_dim: size of each vector.
        distribution: "uniform" (i.i.d. U[0, 1]) or "normal" (N(0, 1)).
    """
    if distribution == "uniform":
        return rng.uniform((batch_size, z_dim), 0.0, 1.0, dtype=tf.float32)
    if distribution == "normal":
        return rng.normal((batch_size, z_dim), dtype=tf.float32)
    raise ValueError(f"z distribution must be one of {Z_DISTRIBUTIONS}, got {distribution!r}")


def apply_gradients_if(optimizer, condition, grads, variables) -> tf.Tensor:
    """Applies `grads` with `optimizer` only where `condition` holds.

    The condition must have the same value on every replica (reduce it across
    replicas first). The branch is taken in cross-replica context, because a
    distribution strategy cannot synchronise (all-reduce the gradients) inside
    a replica-context `tf.cond`; this is the pattern Keras' own
    `LossScaleOptimizer` uses to skip non-finite steps. When skipped, neither
    the variables nor the optimizer's state (moments, iteration count) change.

    Args:
        optimizer: a Keras optimizer.
        condition: scalar bool tensor.
        grads: gradients, one per variable.
        variables: the variables to update.

    Returns:
        The condition, as a scalar bool tensor.
    """

    def cross_replica(strategy, condition, grads):
        take = strategy.experimental_local_results(condition)[0]

        def apply():
            strategy.extended.call_for_each_replica(optimizer.apply, args=(grads, variables))
            return tf.constant(True)

        return tf.cond(take, apply, lambda: tf.constant(False))

    return tf.distribute.get_replica_context().merge_call(cross_replica, args=(condition, grads))


@keras.saving.register_keras_serializable(package="gan3d_tf")
class GAN3D(keras.Model):
    """3D-GAN (Wu et al. 2016) trained with `fit()`.

    Each step draws z from the generator's prior, generates a batch, scores
    real and generated shapes with one discriminator pass, and computes both
    losses from logits:
    D minimises BCE(real, 1) + BCE(fake, 0); G minimises BCE(fake, 1) (the
    non-saturating loss). G is updated every step; D only when its accuracy
    on the batch (real and fake together, summed over replicas) is at most
    `d_acc_threshold`, as in the paper. The losses and the accuracy come from
    the same forward pass, before either network is updated.

    Args:
        generator: a `Generator`.
        discriminator: a `Discriminator` of the same resolution.
        d_acc_threshold: D is updated only when its batch accuracy is <= this.
        seed: seed of the z sampler (a `tf.random.Generator`, checkpointed
            with the model, and split per replica under a strategy).
        **kwargs: passed to `keras.Model`.
    """

    def __init__(self, generator, discriminator, d_acc_threshold=0.8, seed=0, **kwargs):
        super().__init__(**kwargs)
        if generator.resolution != discriminator.resolution:
            raise ValueError(
                f"generator makes {generator.resolution}^3 grids but the discriminator "
                f"takes {discriminator.resolution}^3"
            )
        self.generator = generator
        self.discriminator = discriminator
        self.d_acc_threshold = float(d_acc_threshold)
        self.seed = int(seed)
        self.z_rng = tf.random.Generator.from_seed(self.seed)
        self.d_loss_tracker = keras.metrics.Mean(name="d_loss")
        self.g_loss_tracker = keras.metrics.Mean(name="g_loss")
        self.d_acc_tracker = keras.metrics.Mean(name="d_acc")
        self.d_update_tracker = keras.metrics.Mean(name="d_updated")
        self.occupancy_tracker = keras.metrics.Mean(name="fake_occupancy")
        self.diversity_tracker = keras.metrics.Mean(name="fake_diversity")
        self.built = True  # G and D are built functional models; call() maps z to voxels

    @property
    def metrics(self):
        return [
            self.d_loss_tracker,
            self.g_loss_tracker,
            self.d_acc_tracker,
            self.d_update_tracker,
            self.occupancy_tracker,
            self.diversity_tracker,
        ]

    def compile(self, g_optimizer, d_optimizer, **kwargs):
        """Sets the two optimizers.

        Args:
            g_optimizer: Keras optimizer of the generator.
            d_optimizer: Keras optimizer of the discriminator.
            **kwargs: passed to `keras.Model.compile`.
        """
        super().compile(**kwargs)
        self.g_optimizer = g_optimizer
        self.d_optimizer = d_optimizer

    def build_optimizers(self) -> None:
        """Creates the optimizers' slot variables now, so a checkpoint can be
        restored into them before the first step."""
        self.g_optimizer.build(self.generator.trainable_variables)
        self.d_optimizer.build(self.discriminator.trainable_variables)

    def call(self, z, training=False):
        return self.generator(z, training=training)

    def sample_z(self, batch_size) -> tf.Tensor:
        """Draws a latent batch from the model's own (checkpointed) sampler."""
        return sample_z(self.z_rng, batch_size, self.generator.z_dim, self.generator.z_distribution)

    def train_step(self, data):
        real, _, _ = keras.utils.unpack_x_y_sample_weight(data)  # labels, if any, are not used
        real = tf.cast(real, tf.float32)
        batch = tf.shape(real)[0]
        z = self.sample_z(batch)
        replicas = tf.distribute.get_strategy().num_replicas_in_sync

        with tf.GradientTape() as g_tape, tf.GradientTape() as d_tape:
            fake = self.generator(z, training=True)
            real_logits, fake_logits, d_loss, g_loss = self.gan_losses(real, fake)
            # Optimizers sum gradients over replicas: scale each replica's mean.
            d_scaled = self.d_optimizer.scale_loss(d_loss / replicas)
            g_scaled = self.g_optimizer.scale_loss(g_loss / replicas)

        d_grads = d_tape.gradient(d_scaled, self.discriminator.trainable_variables)
        g_grads = g_tape.gradient(g_scaled, self.generator.trainable_variables)

        self.apply_gan_update(real_logits, fake_logits, g_grads, d_grads, d_loss, g_loss, fake)
        return {m.name: m.result() for m in self.metrics}

    def gan_losses(self, real, fake):
        """One D pass over concat(real, fake): (real_logits, fake_logits, d_loss, g_loss), all from logits.

        D minimises BCE(real, 1) + BCE(fake, 0); G the non-saturating BCE(fake, 1).
        """
        bce = tf.nn.sigmoid_cross_entropy_with_logits
        batch = tf.shape(real)[0]
        logits = tf.cast(self.discriminator(tf.concat([real, fake], 0), training=True), tf.float32)
        real_logits, fake_logits = logits[:batch], logits[batch:]
        d_loss = tf.reduce_mean(bce(tf.ones_like(real_logits), real_logits)) + tf.reduce_mean(
            bce(tf.zeros_like(fake_logits), fake_logits)
        )
        g_loss = tf.reduce_mean(bce(tf.ones_like(fake_logits), fake_logits))
        return real_logits, fake_logits, d_loss, g_loss

    def apply_gan_update(self, real_logits, fake_logits, g_grads, d_grads, d_loss, g_loss, fake) -> None:
        """Updates G always and D only when its batch accuracy is <= d_acc_threshold; updates the GAN metrics.

        D's accuracy (real logits > 0, fake logits < 0) is summed over
        replicas so that every replica takes the same decision.
        """
        correct = tf.reduce_sum(tf.cast(real_logits > 0, tf.float32)) + tf.reduce_sum(
            tf.cast(fake_logits < 0, tf.float32)
        )
        total = tf.cast(tf.shape(real_logits)[0] + tf.shape(fake_logits)[0], tf.float32)
        counts = tf.distribute.get_replica_context().all_reduce("sum", tf.stack([correct, total]))
        d_acc = counts[0] / counts[1]

        self.g_optimizer.apply(g_grads, self.generator.trainable_variables)
        updated = apply_gradients_if(
            self.d_optimizer, d_acc <= self.d_acc_threshold, d_grads, self.discriminator.trainable_variables
        )

        self.d_loss_tracker.update_state(d_loss)
        self.g_loss_tracker.update_state(g_loss)
        self.d_acc_tracker.update_state(d_acc)
        self.d_update_tracker.update_state(tf.cast(updated, tf.float32))
        self.occupancy_tracker.update_state(tf.reduce_mean(tf.cast(fake > 0.5, tf.float32)))
        # Mode-collapse monitor: per-voxel std of G's outputs over the batch, averaged (0: every z, one shape).
        self.diversity_tracker.update_state(tf.reduce_mean(tf.math.reduce_std(tf.cast(fake, tf.float32), axis=0)))

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "generator": keras.saving.serialize_keras_object(self.generator),
                "discriminator": keras.saving.serialize_keras_object(self.discriminator),
                "d_acc_threshold": self.d_acc_threshold,
                "seed": self.seed,
            }
        )
        return config

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config["generator"] = keras.saving.deserialize_keras_object(config["generator"])
        config["discriminator"] = keras.saving.deserialize_keras_object(config["discriminator"])
        return cls(**config)
