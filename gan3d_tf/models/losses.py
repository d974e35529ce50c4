"""GAN losses from discriminator logits, and the WGAN-GP gradient penalty.

paper:   the paper's BCE from logits; D: BCE(real, 1) + BCE(fake, 0),
         G: the non-saturating BCE(fake, 1) (Wu et al. 2016, Goodfellow et al. 2014)
hinge:   D: mean(relu(1 - real)) + mean(relu(1 + fake)), G: -mean(fake)
         (Lim & Ye 2017; Miyato et al. 2018)
wgan-gp: D: mean(fake) - mean(real) (+ the gradient penalty), G: -mean(fake)
         (Gulrajani et al. 2017; 3D-IWGAN, Smith & Meger 2017)
"""

from __future__ import annotations

import tensorflow as tf

from gan3d_tf.config import LOSSES


def gan_losses(loss: str, real_logits, fake_logits) -> tuple[tf.Tensor, tf.Tensor]:
    """(d_loss, g_loss), each the mean over this replica's batch.

    Args:
        loss: one of `LOSSES`.
        real_logits: D's float32 scores of real shapes, [batch].
        fake_logits: D's float32 scores of generated shapes, [batch].
    """
    if loss == "paper":
        bce = tf.nn.sigmoid_cross_entropy_with_logits
        d_loss = tf.reduce_mean(bce(tf.ones_like(real_logits), real_logits)) + tf.reduce_mean(
            bce(tf.zeros_like(fake_logits), fake_logits)
        )
        return d_loss, tf.reduce_mean(bce(tf.ones_like(fake_logits), fake_logits))
    if loss == "hinge":
        d_loss = tf.reduce_mean(tf.nn.relu(1.0 - real_logits)) + tf.reduce_mean(tf.nn.relu(1.0 + fake_logits))
        return d_loss, -tf.reduce_mean(fake_logits)
    if loss == "wgan-gp":
        return tf.reduce_mean(fake_logits) - tf.reduce_mean(real_logits), -tf.reduce_mean(fake_logits)
    raise ValueError(f"loss must be one of {LOSSES}, got {loss!r}")


def input_gradients(discriminator, x) -> tf.Tensor:
    """d D(x_i) / d x_i for every sample, float32 [batch, R, R, R] (D must score each sample on its own:
    the gradient of the summed scores). Call it inside a tape to differentiate it again (double backprop)."""
    with tf.GradientTape() as tape:
        tape.watch(x)
        total = tf.reduce_sum(tf.cast(discriminator(x, training=True), tf.float32))
    return tf.cast(tape.gradient(total, x), tf.float32)


def gradient_penalty(discriminator, real, fake, alpha) -> tf.Tensor:
    """WGAN-GP's penalty: mean over samples of (||grad_x D(x_hat)||_2 - 1)^2.

    x_hat = alpha * real + (1 - alpha) * fake, one alpha per sample; the
    gradient is taken per sample (D must not mix samples: no batch norm).
    Call it inside the tape that differentiates D's loss (double backprop).

    Args:
        discriminator: D, called with `training=True`.
        real: [batch, R, R, R] float32 real shapes.
        fake: [batch, R, R, R] float32 generated shapes (treated as constants).
        alpha: [batch] float32 in [0, 1].
    """
    alpha = tf.reshape(alpha, (-1, 1, 1, 1))
    x_hat = alpha * real + (1.0 - alpha) * tf.stop_gradient(fake)
    grads = input_gradients(discriminator, x_hat)
    norms = tf.sqrt(tf.reduce_sum(tf.square(grads), axis=[1, 2, 3]) + 1e-12)
    return tf.reduce_mean(tf.square(norms - 1.0))


def occupancy_floor(logits, k: int) -> tf.Tensor:
    """The mean of relu(-logit) over the k largest logits of each grid, over the batch.

    Zero for a grid with at least k voxels of positive logit (filled at 0.5);
    for a near-empty one it pulls its k most likely voxels up with a gradient
    of 1/(batch k) each, however saturated their sigmoid is.

    Args:
        logits: [batch, R, R, R] occupancy logits.
        k: voxels each grid should fill (>= 1).
    """
    flat = tf.reshape(tf.cast(logits, tf.float32), [tf.shape(logits)[0], -1])
    return tf.reduce_mean(tf.nn.relu(-tf.math.top_k(flat, k=k).values))
