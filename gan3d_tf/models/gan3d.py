"""`GAN3D`: the 3D-GAN training model with the paper's conditional D update."""

from __future__ import annotations

import dataclasses

import keras
import tensorflow as tf

from gan3d_tf.config import Z_DISTRIBUTIONS, GANRecipe
from gan3d_tf.models.losses import gan_losses, gradient_penalty, occupancy_floor


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


def update_average_if(condition, averages, variables, decay) -> None:
    """averages <- decay * averages + (1 - decay) * variables, where `condition` holds.

    Like `apply_gradients_if`, the update runs in cross-replica context, so
    that every replica's copy of each average takes its own replica's value
    (equal after a synchronised step).

    Args:
        condition: scalar bool tensor, equal on every replica.
        averages: the moving-average variables.
        variables: the variables they follow, in the same order.
        decay: weight of the old average, in [0, 1) (a float or scalar tensor).
    """

    def lerp(average, value):
        return average.assign(average + (1.0 - decay) * (tf.cast(value, average.dtype) - average))

    def cross_replica(strategy, condition):
        take = strategy.experimental_local_results(condition)[0]

        def update():
            for average, variable in zip(averages, variables):
                strategy.extended.update(average.value, lerp, args=(variable.value,))
            return tf.constant(True)

        return tf.cond(take, update, lambda: tf.constant(False))

    tf.distribute.get_replica_context().merge_call(cross_replica, args=(condition,))


def step_logs(metrics) -> dict:
    """A train step's return value: {name: result} of `metrics`, reducible by Keras `fit` under any strategy.

    Under a multi-worker `MultiWorkerMirroredStrategy`, Keras 3's `fit`
    reduces every returned value with `strategy.reduce("MEAN", value, axis=0)`,
    which rejects scalars (keras-team/keras#20585); there each result is
    returned with shape [1], which that reduction turns into the scalar mean
    over the replicas. Elsewhere the scalars are returned as they are.

    Args:
        metrics: Keras metrics, read in the replica's context.
    """
    logs = {m.name: m.result() for m in metrics}
    strategy = tf.distribute.get_strategy()
    if isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy) and (
        strategy.num_replicas_in_sync > len(strategy.extended.worker_devices)
    ):  # replicas on other workers
        logs = {name: tf.reshape(value, [1]) for name, value in logs.items()}
    return logs


PENALTY_STREAM = 1  # stateless stream of WGAN-GP's interpolation weights: (seed, this, step, replica)


@keras.saving.register_keras_serializable(package="gan3d_tf")
class GAN3D(keras.Model):
    """3D-GAN (Wu et al. 2016) trained with `fit()`, with the paper's recipe or a stabilised one.

    A train step, top to bottom (`train_step`):
      1. D loss: z from the prior, one G pass, D's scores of the real and
         the generated batch, both losses from those logits
         (`gan3d_tf.models.losses`: the paper's BCE, hinge, or WGAN-GP with
         its per-sample gradient penalty on random interpolates).
      2. Gated D update: D is updated when its accuracy on the batch (real
         logits > 0, fake logits < 0, summed over replicas and workers) is
         at most `d_acc_threshold`, as in the paper (1: every step); every
         replica takes the same decision.
      3. G update, on every `n_critic`-th step (1: every step), from the
         same pass.
      4. EMA: with `ema_decay` > 0, `ema_generator`, a moving average of G's
         weights (batch-norm statistics included), follows G after each G
         step with decay min(ema_decay, (1 + n) / (10 + n)) after n G steps;
         `sampling_generator` is the one to draw samples from, to score and
         to export.
      5. Metrics, and the step counter `steps_done`.

    Random numbers come from one named stream per use, so turning one use on
    does not shift another: `z_rng` (a checkpointed `tf.random.Generator`)
    draws z, and the penalty's interpolation weights are a stateless function
    of (seed, `PENALTY_STREAM`, step, replica).

    Args:
        generator: a `Generator`.
        discriminator: a `Discriminator` of the same resolution.
        recipe: the train step's options (`GANRecipe`, checked here).
        seed: seed of the random streams (z's generator is checkpointed with
            the model, and split per replica under a strategy).
        **kwargs: passed to `keras.Model`.
    """

    def __init__(self, generator, discriminator, recipe: GANRecipe | None = None, seed=0, **kwargs):
        super().__init__(**kwargs)
        if generator.resolution != discriminator.resolution:
            raise ValueError(
                f"generator makes {generator.resolution}^3 grids but the discriminator "
                f"takes {discriminator.resolution}^3"
            )
        self.gan_recipe = (recipe or GANRecipe()).check()
        self.generator = generator
        self.discriminator = discriminator
        self.seed = int(seed)
        self.z_rng = tf.random.Generator.from_seed(self.seed)
        # the step counter: drives the critic schedule and the penalty's stream (checkpointed); replicas keep
        # equal copies
        self.steps_done = tf.Variable(
            0, dtype=tf.int64, trainable=False, name="steps_done", aggregation=tf.VariableAggregation.ONLY_FIRST_REPLICA
        )
        self.ema_generator = None
        if self.gan_recipe.ema_decay > 0:
            self.ema_generator = generator.__class__.from_config({**generator.get_config(), "name": "generator_ema"})
            self.ema_generator.set_weights(generator.get_weights())
        self.d_loss_tracker = keras.metrics.Mean(name="d_loss")
        self.g_loss_tracker = keras.metrics.Mean(name="g_loss")
        self.d_acc_tracker = keras.metrics.Mean(name="d_acc")
        self.d_update_tracker = keras.metrics.Mean(name="d_updated")
        self.occupancy_tracker = keras.metrics.Mean(name="fake_occupancy")
        self.diversity_tracker = keras.metrics.Mean(name="fake_diversity")
        self.gp_tracker = keras.metrics.Mean(name="gradient_penalty")
        self.floor_tracker = keras.metrics.Mean(name="occupancy_floor")
        self.built = True  # G and D are built functional models; call() maps z to voxels

    @property
    def sampling_generator(self):
        """The generator to draw samples from: the moving average of G when kept, else G."""
        return self.ema_generator if self.ema_generator is not None else self.generator

    @property
    def metrics(self):
        trackers = [
            self.d_loss_tracker,
            self.g_loss_tracker,
            self.d_acc_tracker,
            self.d_update_tracker,
            self.occupancy_tracker,
            self.diversity_tracker,
        ]
        return (
            trackers
            + [self.gp_tracker] * self.gan_recipe.uses_penalty
            + [self.floor_tracker] * bool(self.gan_recipe.min_voxels)
        )

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
        return (self.generator if training else self.sampling_generator)(z, training=training)

    def draw_z(self, batch_size) -> tf.Tensor:
        """Draws a latent batch from the model's own (checkpointed) z stream."""
        return sample_z(self.z_rng, batch_size, self.generator.z_dim, self.generator.z_distribution)

    def g_step_now(self) -> tf.Tensor:
        """True on the steps that update G: every `n_critic`-th, after D's n_critic - 1 steps alone."""
        n_critic = self.gan_recipe.n_critic
        return tf.equal(self.steps_done % n_critic, n_critic - 1)

    def train_step(self, data):
        real, _, _ = keras.utils.unpack_x_y_sample_weight(data)  # labels, if any, are not used
        real = tf.cast(real, tf.float32)
        replicas = tf.distribute.get_strategy().num_replicas_in_sync

        # 1. D loss (and G's, from the same logits)
        with tf.GradientTape() as g_tape, tf.GradientTape() as d_tape:
            z = self.draw_z(tf.shape(real)[0])
            if self.gan_recipe.min_voxels:  # G's logits too (the same single forward pass), for the floor
                g_logits = self.generator.logits(z, training=True)
                fake = tf.sigmoid(g_logits)
            else:
                fake = self.generator(z, training=True)
            real_logits, fake_logits, d_loss, g_loss = self.score_and_losses(real, fake)
            if self.gan_recipe.min_voxels:
                floor = occupancy_floor(g_logits, self.gan_recipe.min_voxels)
                self.floor_tracker.update_state(floor)
                g_loss = g_loss + floor
            # optimizers sum gradients over replicas: scale each replica's mean
            d_scaled = self.d_optimizer.scale_loss(d_loss / replicas)
            g_scaled = self.g_optimizer.scale_loss(g_loss / replicas)
        d_grads = d_tape.gradient(d_scaled, self.discriminator.trainable_variables)
        g_vars = self.generator.trainable_variables
        if self.gan_recipe.n_critic == 1 or replicas > 1:
            # (several replicas: G's synchronised batch norm all-reduces in its backward pass, which cannot
            # sit inside a tf.cond, so G's gradients are computed every step and applied on G steps only)
            g_grads = g_tape.gradient(g_scaled, g_vars)
        else:  # G's backward pass only on the steps that use it
            g_grads = tf.cond(
                self.g_step_now(), lambda: g_tape.gradient(g_scaled, g_vars), lambda: [tf.zeros_like(v) for v in g_vars]
            )

        # 2.-5. gated D update, G update, EMA, step counter and metrics
        self.apply_gan_update(real_logits, fake_logits, g_grads, d_grads, d_loss, g_loss, fake)
        return step_logs(self.metrics)

    def score_and_losses(self, real, fake):
        """D's scores and both losses: (real_logits, fake_logits, d_loss, g_loss), all from logits.

        One D pass over concat(real, fake) (`d_passes="joint"`) or one per
        batch ("separate"); D's loss includes gp_weight times the gradient
        penalty for "wgan-gp".
        """
        recipe, batch = self.gan_recipe, tf.shape(real)[0]
        if recipe.d_passes == "joint":
            logits = tf.cast(self.discriminator(tf.concat([real, fake], 0), training=True), tf.float32)
            real_logits, fake_logits = logits[:batch], logits[batch:]
        else:
            real_logits = tf.cast(self.discriminator(real, training=True), tf.float32)
            fake_logits = tf.cast(self.discriminator(fake, training=True), tf.float32)
        d_loss, g_loss = gan_losses(recipe.loss, real_logits, fake_logits)
        if recipe.uses_penalty:
            penalty = gradient_penalty(self.discriminator, real, fake, self.penalty_alpha(batch))
            self.gp_tracker.update_state(penalty)
            d_loss = d_loss + recipe.gp_weight * penalty
        return real_logits, fake_logits, d_loss, g_loss

    def penalty_alpha(self, batch) -> tf.Tensor:
        """This step's interpolation weights of the gradient penalty, U[0, 1) per sample, from their own stream."""
        replica = tf.cast(tf.distribute.get_replica_context().replica_id_in_sync_group, tf.int64)
        replicas = tf.distribute.get_strategy().num_replicas_in_sync
        seed = tf.stack(
            [
                tf.constant(self.seed * 1000 + PENALTY_STREAM, tf.int64),
                tf.cast(self.steps_done, tf.int64) * replicas + replica,
            ]
        )
        return tf.random.stateless_uniform((batch,), seed, dtype=tf.float32)

    def apply_gan_update(self, real_logits, fake_logits, g_grads, d_grads, d_loss, g_loss, fake) -> None:
        """Phases 2-5 of a train step: the gated D update, the G update, the EMA of G, the counter, the metrics.

        D's accuracy (real logits > 0, fake logits < 0) is summed over
        replicas so that every replica takes the same decision; the critic
        schedule reads the step counter, equal on every replica.
        """
        recipe = self.gan_recipe
        # 2. gated D update
        correct = tf.reduce_sum(tf.cast(real_logits > 0, tf.float32)) + tf.reduce_sum(
            tf.cast(fake_logits < 0, tf.float32)
        )
        total = tf.cast(tf.shape(real_logits)[0] + tf.shape(fake_logits)[0], tf.float32)
        counts = tf.distribute.get_replica_context().all_reduce("sum", tf.stack([correct, total]))
        d_acc = counts[0] / counts[1]
        d_updated = apply_gradients_if(
            self.d_optimizer, d_acc <= recipe.d_acc_threshold, d_grads, self.discriminator.trainable_variables
        )

        # 3. G update, on G steps
        g_vars = self.generator.trainable_variables
        if recipe.n_critic == 1:
            self.g_optimizer.apply(g_grads, g_vars)
            g_updated = tf.constant(True)
        else:
            g_updated = apply_gradients_if(self.g_optimizer, self.g_step_now(), g_grads, g_vars)

        # 4. EMA of G, after each G step
        if self.ema_generator is not None:
            # decay ramped up as in tf.train.ExponentialMovingAverage(num_updates=G steps taken): early on the
            # average follows G instead of keeping its random start for ~1 / (1 - decay) steps
            n = tf.cast(self.g_optimizer.iterations, tf.float32)
            decay = tf.minimum(recipe.ema_decay, (1.0 + n) / (10.0 + n))
            update_average_if(g_updated, self.ema_generator.weights, self.generator.weights, decay)

        # 5. step counter and metrics
        self.steps_done.assign_add(1)
        self.d_loss_tracker.update_state(d_loss)
        self.g_loss_tracker.update_state(g_loss)
        self.d_acc_tracker.update_state(d_acc)
        self.d_update_tracker.update_state(tf.cast(d_updated, tf.float32))
        self.occupancy_tracker.update_state(tf.reduce_mean(tf.cast(fake > 0.5, tf.float32)))
        # mode-collapse monitor: per-voxel std of G's outputs over the batch, averaged (0: every z, one shape)
        self.diversity_tracker.update_state(tf.reduce_mean(tf.math.reduce_std(tf.cast(fake, tf.float32), axis=0)))

    def get_config(self):
        return {
            **super().get_config(),
            "generator": keras.saving.serialize_keras_object(self.generator),
            "discriminator": keras.saving.serialize_keras_object(self.discriminator),
            "recipe": dataclasses.asdict(self.gan_recipe),
            "seed": self.seed,
        }

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config["generator"] = keras.saving.deserialize_keras_object(config["generator"])
        config["discriminator"] = keras.saving.deserialize_keras_object(config["discriminator"])
        config["recipe"] = GANRecipe(**config["recipe"])
        return cls(**config)
