"""`SampleGrid`: a callback that renders a fixed-z sample grid every few epochs."""

from __future__ import annotations

from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from gan3d_tf.visual.render import render_grid, save_png


class SampleGrid(keras.callbacks.Callback):
    """Renders G(z) for a fixed z to `out_dir/epoch_NNNN.png` and TensorBoard.

    Args:
        z: fixed latent batch [n, z_dim] (the same every epoch, so the images
            show how the same latent points evolve).
        out_dir: directory of the PNG files.
        log_dir: TensorBoard directory of the image summaries.
        every: render every this many epochs (and always after the last).
        size: pixels per rendered shape.
    """

    def __init__(self, z, out_dir, log_dir, every=1, size=96):
        super().__init__()
        self.z = np.asarray(z, np.float32)
        self.out_dir = Path(out_dir)
        self.every = every
        self.size = size
        self.writer = tf.summary.create_file_writer(str(log_dir))
        self._last_epoch = None

    def render(self, epoch: int) -> np.ndarray:
        voxels = np.asarray(self.model.sampling_generator(self.z, training=False))  # the moving average of G when kept
        image = render_grid(voxels, size=self.size)
        save_png(image, self.out_dir / f"epoch_{epoch + 1:04d}.png")
        with self.writer.as_default():
            tf.summary.image("samples", image[None], step=epoch + 1)
        self.writer.flush()
        self._last_epoch = epoch
        return image

    def on_epoch_end(self, epoch, logs=None):
        if (epoch + 1) % self.every == 0:
            self.render(epoch)

    def on_train_end(self, logs=None):
        epoch = self.params.get("epochs", 0) - 1 if self.params else None
        if epoch is not None and epoch >= 0 and self._last_epoch != epoch:
            self.render(epoch)
        self.writer.close()
