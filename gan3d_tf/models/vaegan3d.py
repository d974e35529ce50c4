"""3D-VAE-GAN (Wu et al. 2016, Sec. 3.2): an image encoder in front of the 3D-GAN generator."""

from __future__ import annotations

import dataclasses

import keras
import tensorflow as tf

from gan3d_tf.config import LATENT_LOSSES, RECIPES, RECON_LOSSES, GANRecipe
from gan3d_tf.models.gan3d import GAN3D
from gan3d_tf.models.reparameterize import Reparameterize


def prior_moments(z_distribution: str) -> tuple[float, float]:
    """(mean, variance) of the Gaussian the KL term pulls q(z|y) towards, per dimension.

    "normal" is N(0, 1) itself. For the authors' "uniform" U[0, 1] prior the
    KL divergence of a Gaussian q from it is infinite (q has mass outside
    [0, 1]), so the term uses the moment-matched Gaussian N(1/2, 1/12).
    """
    if z_distribution == "normal":
        return 0.0, 1.0
    if z_distribution == "uniform":
        return 0.5, 1.0 / 12.0
    raise ValueError(f"unknown z distribution {z_distribution!r}")


def kl_divergence(mean, log_variance, prior_mean: float = 0.0, prior_variance: float = 1.0) -> tf.Tensor:
    """KL(N(mean, exp(log_variance)) || N(prior_mean, prior_variance)), summed over z, one value per example.

    Args:
        mean: [batch, z_dim].
        log_variance: [batch, z_dim].
        prior_mean: mean of each prior dimension.
        prior_variance: variance of each prior dimension.

    Returns:
        float32 [batch].
    """
    mean, log_variance = tf.cast(mean, tf.float32), tf.cast(log_variance, tf.float32)
    per_dim = 0.5 * (
        tf.exp(log_variance) / prior_variance
        + tf.square(mean - prior_mean) / prior_variance
        - 1.0
        + tf.math.log(prior_variance)
        - log_variance
    )
    return tf.reduce_sum(per_dim, axis=-1)


def reconstruction_error(predicted, target) -> tf.Tensor:
    """||predicted - target||^2 summed over the voxels, one value per example (float32 [batch])."""
    diff = tf.cast(predicted, tf.float32) - tf.cast(target, tf.float32)
    return tf.reduce_sum(tf.reshape(tf.square(diff), [tf.shape(diff)[0], -1]), axis=-1)


def reconstruction_cross_entropy(logits, target) -> tf.Tensor:
    """Binary cross-entropy of occupancy `logits` against `target`, summed over the voxels (float32 [batch])."""
    bce = tf.nn.sigmoid_cross_entropy_with_logits(tf.cast(target, tf.float32), tf.cast(logits, tf.float32))
    return tf.reduce_sum(tf.reshape(bce, [tf.shape(bce)[0], -1]), axis=-1)


def latent_regression_loss(mean, log_variance, z, kind: str = "direction", prior_mean: float = 0.0) -> tf.Tensor:
    """The "latent" recipe's loss on an exactly known z, one value per example (float32 [batch]).

    With u = z - prior_mean and m = mean - prior_mean (codes about the prior's centre):
      "squared":   0.5 * |u - m|^2, whose minimiser is the posterior mean
                   E[z | image]. Where the image leaves z uncertain that mean
                   shrinks towards the prior's centre, off the shell
                   |u| ~ sqrt(z_dim) where G was trained (a trained G can
                   draw nothing at the centre).
      "direction": 0.5 * |u - |u| m / |m||^2 + 0.5 * (|m| - |u|)^2: the
                   squared error of the mean's direction taken at z's norm,
                   plus that of its norm. Uncertainty then blurs the
                   direction only, and the code stays on G's shell.
    Both add the Gaussian negative log-likelihood of z under
    N(mean, exp(log_variance)) with the mean's error held fixed (`sg`),
    0.5 * sum_j (log_variance_j + sg[(z_j - mean_j)^2] * exp(-log_variance_j)),
    so that the log-variance learns the mean's own squared error and the
    posterior's KL to the prior stays meaningful.

    Args:
        mean, log_variance: the encoder's posterior, [batch, z_dim] each.
        z: the codes the images were drawn from, [batch, z_dim].
        kind: "direction" or "squared".
        prior_mean: the prior's mean per dimension (`prior_moments`).
    """
    if kind not in LATENT_LOSSES:
        raise ValueError(f"latent loss must be one of {LATENT_LOSSES}, got {kind!r}")
    mean, log_variance, z = (tf.cast(t, tf.float32) for t in (mean, log_variance, z))
    squared = tf.square(z - mean)
    nll = 0.5 * tf.reduce_sum(log_variance + tf.stop_gradient(squared) * tf.exp(-log_variance), axis=-1)
    if kind == "squared":
        return 0.5 * tf.reduce_sum(squared, axis=-1) + nll
    u, m = z - prior_mean, mean - prior_mean
    u_norm = tf.norm(u, axis=-1, keepdims=True)
    m_norm = tf.sqrt(tf.reduce_sum(tf.square(m), axis=-1, keepdims=True) + 1e-12)
    direction = 0.5 * tf.reduce_sum(tf.square(u - u_norm * m / m_norm), axis=-1)
    return direction + 0.5 * tf.square(m_norm[:, 0] - u_norm[:, 0]) + nll


def batch_iou(probabilities, target) -> tf.Tensor:
    """Mean over the batch of the IoU of `probabilities` > 0.5 with the {0, 1} grids `target` (a scalar)."""
    predicted = tf.cast(probabilities > 0.5, tf.float32)
    axes = tf.range(1, tf.rank(target))
    hit = tf.reduce_sum(predicted * target, axes)
    union = tf.reduce_sum(tf.cast((predicted + target) > 0, tf.float32), axes)
    return tf.reduce_mean(hit / tf.maximum(union, 1.0))


@keras.saving.register_keras_serializable(package="gan3d_tf")
class VAEGAN3D(GAN3D):
    """3D-VAE-GAN trained with `fit()` on (image, voxels) pairs.

    L = L_GAN + kl_weight * KL(q(z|y) || p(z)) + recon_weight * ||G(E(y)) - x||^2
    (paper: kl_weight 5, recon_weight 1e-4). L_GAN is the 3D-GAN loss on z
    drawn from the prior, with the same conditional discriminator update
    (D only when its batch accuracy is <= d_acc_threshold). G minimises its
    non-saturating GAN loss plus the reconstruction term, E the KL plus the
    reconstruction term. Per-example terms are averaged over the global batch.
    With recon_loss "bce" the reconstruction term is instead the binary
    cross-entropy from G's logits summed over voxels (beyond the paper): the
    squared error of a sigmoid has almost no gradient where G is confidently
    wrong, which stalls an encoder on a trained, fixed G.

    Recipes:
        joint:    E, G and D are all trained (the paper's "jointly trained").
        separate: G and D come from a trained 3D-GAN and stay fixed; only E
                  learns, from the KL and reconstruction terms (the paper's
                  "separately trained": 3D-GAN first, then the encoder).
        latent:   (beyond the paper) G stays fixed and E learns from
                  (image, z, voxels) triples, images rendered from G(z)
                  (`gan3d_tf.data.latent_pairs`), with
                  `latent_regression_loss`; kl_weight, recon_weight and
                  recon_loss are unused. Metrics: "z_error" (mean squared
                  error of the posterior mean per z dimension; predicting the
                  prior's mean scores the prior's variance), "kl" and
                  "recon_iou" (G(posterior mean) against G(z) > 0.5).

    Args:
        encoder: an `Encoder` with the generator's z_dim.
        generator: a `Generator`.
        discriminator: a `Discriminator` of the generator's resolution.
        kl_weight: alpha_1 of the loss.
        recon_weight: alpha_2 of the loss.
        recipe: "joint", "separate" or "latent".
        d_acc_threshold: D is updated only when its batch accuracy is <= this.
        seed: seed of the prior z sampler and of the reparameterisation noise.
        recon_loss: "l2" (the paper's squared error) or "bce" (cross-entropy from G's logits).
        latent_loss: the "latent" recipe's loss on z, "direction" or "squared" (`latent_regression_loss`).
        **kwargs: passed to `keras.Model`.
    """

    def __init__(
        self,
        encoder,
        generator,
        discriminator,
        kl_weight=5.0,
        recon_weight=1e-4,
        recipe="joint",
        d_acc_threshold=0.8,
        seed=0,
        recon_loss="l2",
        latent_loss="direction",
        **kwargs,
    ):
        # the train step below honours D's gate only: the other GAN options would be silently ignored
        unhonoured = sorted(set(kwargs) & {f.name for f in dataclasses.fields(GANRecipe)})
        if unhonoured:
            raise ValueError(
                f"VAEGAN3D does not take {', '.join(unhonoured)}: the 3D-VAE-GAN trains with the "
                f"paper's loss, one D pass per step and no average of G; only d_acc_threshold applies"
            )
        super().__init__(generator, discriminator, GANRecipe(d_acc_threshold=d_acc_threshold), seed=seed, **kwargs)
        if encoder.z_dim != generator.z_dim:
            raise ValueError(f"encoder gives z of size {encoder.z_dim} but the generator takes {generator.z_dim}")
        if recipe not in RECIPES:
            raise ValueError(f"recipe must be one of {RECIPES}, got {recipe!r}")
        if recon_loss not in RECON_LOSSES:
            raise ValueError(f"recon_loss must be one of {RECON_LOSSES}, got {recon_loss!r}")
        if latent_loss not in LATENT_LOSSES:
            raise ValueError(f"latent_loss must be one of {LATENT_LOSSES}, got {latent_loss!r}")
        self.recon_loss = recon_loss
        self.latent_loss = latent_loss
        self.encoder = encoder
        self.kl_weight = float(kl_weight)
        self.recon_weight = float(recon_weight)
        self.recipe = recipe
        self.sampler = Reparameterize(seed=seed, name="reparameterize")
        self.prior_mean, self.prior_variance = prior_moments(generator.z_distribution)
        self.kl_tracker = keras.metrics.Mean(name="kl")
        self.recon_tracker = keras.metrics.Mean(name="recon")
        self.recon_iou_tracker = keras.metrics.Mean(name="recon_iou")
        self.z_error_tracker = keras.metrics.Mean(name="z_error")

    @property
    def metrics(self):
        if self.recipe == "latent":
            return [self.z_error_tracker, self.kl_tracker, self.recon_iou_tracker]
        own = [self.kl_tracker, self.recon_tracker, self.recon_iou_tracker]
        return [*super().metrics, *own] if self.recipe == "joint" else own  # "separate" trains no GAN

    def compile(self, g_optimizer, d_optimizer, e_optimizer, **kwargs):
        """Sets the three optimizers (G's and D's are unused by the "separate" and "latent" recipes).

        Args:
            g_optimizer: Keras optimizer of the generator.
            d_optimizer: Keras optimizer of the discriminator.
            e_optimizer: Keras optimizer of the encoder.
            **kwargs: passed to `keras.Model.compile`.
        """
        super().compile(g_optimizer, d_optimizer, **kwargs)
        self.e_optimizer = e_optimizer

    def build_optimizers(self) -> None:
        super().build_optimizers()
        self.e_optimizer.build(self.encoder.trainable_variables)

    def call(self, images, training=False):
        """Images [batch, S, S, 3] -> occupancy probabilities [batch, R, R, R] (z = the posterior mean)."""
        mean, log_variance = self.encoder(images, training=training)
        return self.generator(self.sampler((mean, log_variance), training=training), training=training)

    def train_step(self, data):
        if self.recipe == "latent":
            return self._latent_step(data)
        (images, real), _, _ = keras.utils.unpack_x_y_sample_weight(data)
        real = tf.cast(real, tf.float32)
        batch = tf.shape(real)[0]
        replicas = tf.distribute.get_strategy().num_replicas_in_sync
        joint = self.recipe == "joint"

        with tf.GradientTape(persistent=True) as tape:
            mean, log_variance = self.encoder(images, training=True)
            z = self.sampler((mean, log_variance), training=True)
            if self.recon_loss == "bce":
                logits = self.generator.logits(z, training=joint)
                recon = tf.sigmoid(logits)
                recon_err = tf.reduce_mean(reconstruction_cross_entropy(logits, real))
            else:
                recon = self.generator(z, training=joint)
                recon_err = tf.reduce_mean(reconstruction_error(recon, real))
            kl = tf.reduce_mean(kl_divergence(mean, log_variance, self.prior_mean, self.prior_variance))
            e_loss = self.kl_weight * kl + self.recon_weight * recon_err
            if joint:
                fake = self.generator(self.draw_z(batch), training=True)
                real_logits, fake_logits, d_loss, gan_g_loss = self.score_and_losses(real, fake)
                g_loss = gan_g_loss + self.recon_weight * recon_err
                g_scaled = self.g_optimizer.scale_loss(g_loss / replicas)
                d_scaled = self.d_optimizer.scale_loss(d_loss / replicas)
            e_scaled = self.e_optimizer.scale_loss(e_loss / replicas)

        e_grads = tape.gradient(e_scaled, self.encoder.trainable_variables)
        self.e_optimizer.apply(e_grads, self.encoder.trainable_variables)
        if joint:
            g_grads = tape.gradient(g_scaled, self.generator.trainable_variables)
            d_grads = tape.gradient(d_scaled, self.discriminator.trainable_variables)
            self.apply_gan_update(real_logits, fake_logits, g_grads, d_grads, d_loss, gan_g_loss, fake)
        del tape
        self.kl_tracker.update_state(kl)
        self.recon_tracker.update_state(recon_err)
        self.recon_iou_tracker.update_state(batch_iou(recon, real))
        return {m.name: m.result() for m in self.metrics}

    def _latent_step(self, data):
        """The "latent" recipe: E regressed onto the known z of rendered samples of the fixed G."""
        (images, z, grids), _, _ = keras.utils.unpack_x_y_sample_weight(data)
        replicas = tf.distribute.get_strategy().num_replicas_in_sync
        z = tf.cast(z, tf.float32)
        with tf.GradientTape() as tape:
            mean, log_variance = self.encoder(images, training=True)
            loss = tf.reduce_mean(latent_regression_loss(mean, log_variance, z, self.latent_loss, self.prior_mean))
            scaled = self.e_optimizer.scale_loss(loss / replicas)
        grads = tape.gradient(scaled, self.encoder.trainable_variables)
        self.e_optimizer.apply(grads, self.encoder.trainable_variables)
        mean = tf.cast(mean, tf.float32)
        self.z_error_tracker.update_state(tf.reduce_mean(tf.square(z - mean)))
        self.kl_tracker.update_state(
            tf.reduce_mean(kl_divergence(mean, log_variance, self.prior_mean, self.prior_variance))
        )
        self.recon_iou_tracker.update_state(batch_iou(self.generator(mean, training=False), tf.cast(grids, tf.float32)))
        return {m.name: m.result() for m in self.metrics}

    def get_config(self):
        config = super().get_config()
        config.pop("recipe")  # the GAN recipe: d_acc_threshold only
        config.update(
            {
                "d_acc_threshold": self.gan_recipe.d_acc_threshold,
                "encoder": keras.saving.serialize_keras_object(self.encoder),
                "kl_weight": self.kl_weight,
                "recon_weight": self.recon_weight,
                "recon_loss": self.recon_loss,
                "latent_loss": self.latent_loss,
                "recipe": self.recipe,
            }
        )
        return config

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        for part in ("encoder", "generator", "discriminator"):
            config[part] = keras.saving.deserialize_keras_object(config[part])
        return cls(**config)
