"""`GAN3D`: the 3D-GAN training model with the paper's conditional D update."""

from __future__ import annotations

import keras
import tensorflow as tf

from gan3d_tf.models.augment import diff_augment, parse_policy
from gan3d_tf.config import D_PASSES, LOSSES, Z_DISTRIBUTIONS
from gan3d_tf.models.losses import gan_losses, gradient_penalty, r1_penalty


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
            strategy.num_replicas_in_sync > len(strategy.extended.worker_devices)):  # replicas on other workers
        logs = {name: tf.reshape(value, [1]) for name, value in logs.items()}
    return logs


@keras.saving.register_keras_serializable(package="gan3d_tf")
class GAN3D(keras.Model):
    """3D-GAN (Wu et al. 2016) trained with `fit()`, with the paper's recipe or a stabilised one.

    Each step draws z from the generator's prior, generates a batch, scores
    real and generated shapes with D, and computes both losses from the
    logits of that one forward pass (`gan3d_tf.models.losses`): the paper's BCE
    (D: BCE(real, 1) + BCE(fake, 0), G: the non-saturating BCE(fake, 1)),
    hinge, or WGAN-GP (with the per-sample gradient penalty on random
    interpolates). D is updated when its accuracy on the batch (real logits
    > 0, fake logits < 0, summed over replicas, those of every worker under a
    `MultiWorkerMirroredStrategy`) is at most `d_acc_threshold`, as in the
    paper (1: every step); every replica takes the same decision. G is updated on every `n_critic`-th
    step (1: every step), from the same pass as D's update that step.

    With `ema_decay` > 0 the model also keeps `ema_generator`, an
    exponential moving average of G's weights (batch-norm statistics
    included), updated after each G step with decay min(ema_decay,
    (1 + n) / (10 + n)) after n G steps; `sampling_generator` is the one
    to draw samples from, to score and to export.

    Args:
        generator: a `Generator`.
        discriminator: a `Discriminator` of the same resolution.
        d_acc_threshold: D is updated only when its batch accuracy is <= this.
        seed: seed of the z sampler (a `tf.random.Generator`, checkpointed
            with the model, and split per replica under a strategy).
        loss: "paper", "hinge" or "wgan-gp" (`gan3d_tf.models.losses.LOSSES`).
        gp_weight: weight (lambda) of the gradient penalty; used by "wgan-gp".
        n_critic: D steps per G step.
        d_passes: "joint" scores concat(real, fake) in one D pass (one
            batch-norm batch, the paper's step as implemented here);
            "separate" scores the real and the generated batch in two passes
            (all-real and all-fake batch-norm batches, as public ports do).
        ema_decay: decay of the moving average of G's weights per G step
            (0: no average).
        instance_noise: std of the Gaussian noise added to every voxel of
            the real and the generated shapes D scores (Sonderby et al. 2017;
            Arjovsky & Bottou 2017): binary real grids and soft generated ones
            then overlap, so D cannot win on "every voxel is exactly 0 or 1"
            alone. 0: off (the paper).
        instance_noise_steps: steps over which that std falls linearly to 0
            (0: constant).
        r1_gamma: weight gamma of the R1 penalty on real shapes, added to D's
            loss as gamma / 2 * E||grad D(x_real)||^2 (Mescheder et al. 2018;
            StyleGAN). 0: off (the paper).
        d_augment: augmentations applied to every grid D scores, real and
            generated ("none" or a comma-separated subset of "flip",
            "translate"; `gan3d_tf.models.augment`). Penalties are taken on the
            augmented grids.
        binarize_fake: D scores G's grids thresholded at 0.5, with the
            straight-through gradient (Bengio et al. 2013: the backward pass
            treats the threshold as the identity). The data are binary and
            G's sigmoid never is: without this, D separates every generated
            grid by its soft values alone (empty space at 0.03 instead of
            0) and wins every batch whatever G draws.
        **kwargs: passed to `keras.Model`.
    """

    def __init__(self, generator, discriminator, d_acc_threshold=0.8, seed=0, loss="paper", gp_weight=10.0,
                 n_critic=1, d_passes="joint", ema_decay=0.0, instance_noise=0.0, instance_noise_steps=0,
                 r1_gamma=0.0, d_augment="none", binarize_fake=False,
                 **kwargs):
        super().__init__(**kwargs)
        if generator.resolution != discriminator.resolution:
            raise ValueError(
                f"generator makes {generator.resolution}^3 grids but the discriminator "
                f"takes {discriminator.resolution}^3"
            )
        if loss not in LOSSES:
            raise ValueError(f"loss must be one of {LOSSES}, got {loss!r}")
        if d_passes not in D_PASSES:
            raise ValueError(f"d_passes must be one of {D_PASSES}, got {d_passes!r}")
        if int(n_critic) < 1:
            raise ValueError(f"n_critic must be >= 1, got {n_critic}")
        if float(instance_noise) < 0 or int(instance_noise_steps) < 0:
            raise ValueError(f"instance_noise and instance_noise_steps must be >= 0, got {instance_noise} and "
                             f"{instance_noise_steps}")
        if float(r1_gamma) < 0:
            raise ValueError(f"r1_gamma must be >= 0, got {r1_gamma}")
        if not 0 <= float(ema_decay) < 1:
            raise ValueError(f"ema_decay must be in [0, 1), got {ema_decay}")
        self.generator = generator
        self.discriminator = discriminator
        self.d_acc_threshold = float(d_acc_threshold)
        self.seed = int(seed)
        self.loss = loss
        self.gp_weight = float(gp_weight)
        self.n_critic = int(n_critic)
        self.d_passes = d_passes
        self.ema_decay = float(ema_decay)
        self.instance_noise = float(instance_noise)
        self.instance_noise_steps = int(instance_noise_steps)
        self.r1_gamma = float(r1_gamma)
        parse_policy(d_augment)  # raises on an unknown name
        self.d_augment = d_augment
        self.binarize_fake = bool(binarize_fake)
        self.z_rng = tf.random.Generator.from_seed(self.seed)
        # steps taken (drives the critic schedule; checkpointed); replicas keep equal copies
        self.steps_done = tf.Variable(0, dtype=tf.int64, trainable=False, name="steps_done",
                                      aggregation=tf.VariableAggregation.ONLY_FIRST_REPLICA)
        self.ema_generator = None
        if self.ema_decay > 0:
            self.ema_generator = generator.__class__.from_config({**generator.get_config(), "name": "generator_ema"})
            self.ema_generator.set_weights(generator.get_weights())
        self.d_loss_tracker = keras.metrics.Mean(name="d_loss")
        self.g_loss_tracker = keras.metrics.Mean(name="g_loss")
        self.d_acc_tracker = keras.metrics.Mean(name="d_acc")
        self.d_update_tracker = keras.metrics.Mean(name="d_updated")
        self.occupancy_tracker = keras.metrics.Mean(name="fake_occupancy")
        self.diversity_tracker = keras.metrics.Mean(name="fake_diversity")
        self.gp_tracker = keras.metrics.Mean(name="gradient_penalty")
        self.r1_tracker = keras.metrics.Mean(name="r1_penalty")
        self.built = True  # G and D are built functional models; call() maps z to voxels

    @property
    def uses_penalty(self) -> bool:
        return self.loss == "wgan-gp" and self.gp_weight > 0

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
        return trackers + [self.gp_tracker] * self.uses_penalty + [self.r1_tracker] * (self.r1_gamma > 0)

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

    def sample_z(self, batch_size) -> tf.Tensor:
        """Draws a latent batch from the model's own (checkpointed) sampler."""
        return sample_z(self.z_rng, batch_size, self.generator.z_dim, self.generator.z_distribution)

    def g_step_now(self) -> tf.Tensor:
        """True on the steps that update G: every `n_critic`-th, after D's n_critic - 1 steps alone."""
        return tf.equal(self.steps_done % self.n_critic, self.n_critic - 1)

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
        g_vars = self.generator.trainable_variables
        if self.n_critic == 1 or replicas > 1:
            # (several replicas: G's synchronised batch norm all-reduces in its backward pass, which cannot
            # sit inside a tf.cond, so G's gradients are computed every step and applied on G steps only)
            g_grads = g_tape.gradient(g_scaled, g_vars)
        else:  # G's backward pass only on the steps that use it
            g_grads = tf.cond(self.g_step_now(), lambda: g_tape.gradient(g_scaled, g_vars),
                              lambda: [tf.zeros_like(v) for v in g_vars])

        self.apply_gan_update(real_logits, fake_logits, g_grads, d_grads, d_loss, g_loss, fake)
        return step_logs(self.metrics)

    def gan_losses(self, real, fake):
        """D's scores and both losses: (real_logits, fake_logits, d_loss, g_loss), all from logits.

        One D pass over concat(real, fake) (`d_passes="joint"`) or one per
        batch ("separate"); the loss is `self.loss`, and D's includes
        gp_weight times the gradient penalty for "wgan-gp".
        """
        batch = tf.shape(real)[0]
        if self.binarize_fake:  # forward: the grid at 0.5; backward: the identity
            fake = fake + tf.stop_gradient(tf.cast(fake > 0.5, fake.dtype) - fake)
        if parse_policy(self.d_augment):
            real = diff_augment(real, self.d_augment, self.z_rng)
            fake = diff_augment(fake, self.d_augment, self.z_rng)
        if self.instance_noise > 0:
            std = self.instance_noise_std()
            real = real + std * self.z_rng.normal(tf.shape(real), dtype=tf.float32)
            fake = fake + std * self.z_rng.normal(tf.shape(fake), dtype=fake.dtype)
        if self.d_passes == "joint":
            logits = tf.cast(self.discriminator(tf.concat([real, fake], 0), training=True), tf.float32)
            real_logits, fake_logits = logits[:batch], logits[batch:]
        else:
            real_logits = tf.cast(self.discriminator(real, training=True), tf.float32)
            fake_logits = tf.cast(self.discriminator(fake, training=True), tf.float32)
        d_loss, g_loss = gan_losses(self.loss, real_logits, fake_logits)
        if self.uses_penalty:
            alpha = self.z_rng.uniform((batch,), 0.0, 1.0, dtype=tf.float32)
            penalty = gradient_penalty(self.discriminator, real, fake, alpha)
            self.gp_tracker.update_state(penalty)
            d_loss = d_loss + self.gp_weight * penalty
        if self.r1_gamma > 0:
            r1 = r1_penalty(self.discriminator, real)
            self.r1_tracker.update_state(r1)
            d_loss = d_loss + 0.5 * self.r1_gamma * r1
        return real_logits, fake_logits, d_loss, g_loss

    def instance_noise_std(self) -> tf.Tensor:
        """This step's instance-noise std: `instance_noise`, falling linearly to 0 over `instance_noise_steps`."""
        if self.instance_noise_steps == 0:
            return tf.constant(self.instance_noise, tf.float32)
        left = 1.0 - tf.cast(self.steps_done, tf.float32) / float(self.instance_noise_steps)
        return self.instance_noise * tf.maximum(left, 0.0)

    def apply_gan_update(self, real_logits, fake_logits, g_grads, d_grads, d_loss, g_loss, fake) -> None:
        """Updates D when its batch accuracy is <= d_acc_threshold and G on G steps; updates the GAN metrics.

        D's accuracy (real logits > 0, fake logits < 0) is summed over
        replicas so that every replica takes the same decision; the critic
        schedule reads the step counter, equal on every replica.
        """
        correct = tf.reduce_sum(tf.cast(real_logits > 0, tf.float32)) + tf.reduce_sum(
            tf.cast(fake_logits < 0, tf.float32)
        )
        total = tf.cast(tf.shape(real_logits)[0] + tf.shape(fake_logits)[0], tf.float32)
        counts = tf.distribute.get_replica_context().all_reduce("sum", tf.stack([correct, total]))
        d_acc = counts[0] / counts[1]

        g_vars = self.generator.trainable_variables
        if self.n_critic == 1:
            self.g_optimizer.apply(g_grads, g_vars)
            g_updated = tf.constant(True)
        else:
            g_updated = apply_gradients_if(self.g_optimizer, self.g_step_now(), g_grads, g_vars)
        if self.ema_generator is not None:
            # decay ramped up as in tf.train.ExponentialMovingAverage(num_updates=G steps taken): early on the
            # average follows G instead of keeping its random start for ~1 / (1 - decay) steps
            n = tf.cast(self.g_optimizer.iterations, tf.float32)
            decay = tf.minimum(self.ema_decay, (1.0 + n) / (10.0 + n))
            update_average_if(g_updated, self.ema_generator.weights, self.generator.weights, decay)
        updated = apply_gradients_if(
            self.d_optimizer, d_acc <= self.d_acc_threshold, d_grads, self.discriminator.trainable_variables
        )
        self.steps_done.assign_add(1)

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
                "loss": self.loss,
                "gp_weight": self.gp_weight,
                "n_critic": self.n_critic,
                "d_passes": self.d_passes,
                "ema_decay": self.ema_decay,
                "instance_noise": self.instance_noise,
                "instance_noise_steps": self.instance_noise_steps,
                "r1_gamma": self.r1_gamma,
                "d_augment": self.d_augment,
                "binarize_fake": self.binarize_fake,
            }
        )
        return config

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config["generator"] = keras.saving.deserialize_keras_object(config["generator"])
        config["discriminator"] = keras.saving.deserialize_keras_object(config["discriminator"])
        return cls(**config)
