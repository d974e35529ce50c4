"""`SampleGrid`: a callback that renders a fixed-z sample grid every few epochs, and sends the first
samples as 3D meshes to TensorBoard's Mesh dashboard."""

from __future__ import annotations

from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from gan3d_tf.visual.mesh import voxels_to_mesh
from gan3d_tf.visual.render import render_grid, save_png


def mesh_summary(name: str, grid: np.ndarray, step: int, threshold: float = 0.5) -> bool:
    """Writes the marching-cubes surface of one grid as a TensorBoard mesh summary (default writer).

    The mesh is centred on the origin, in voxel units, and turned from the
    grids' z-up to the viewer's y-up (a rotation: (x, y, z) -> (x, z, -y)).

    Returns:
        False (and writes nothing) for an empty grid.
    """
    from tensorboard.plugins.mesh import summary_v2 as mesh_v2

    mesh = voxels_to_mesh(grid, threshold)
    if mesh is None:
        return False
    v = np.asarray(mesh.vertices, np.float32) - grid.shape[0] / 2
    vertices = np.stack([v[:, 0], v[:, 2], -v[:, 1]], axis=1)
    mesh_v2.mesh(
        name,
        vertices=vertices[None],
        faces=np.asarray(mesh.faces, np.int32)[None],
        step=step,
        description=f"G(z) at occupancy {threshold} (marching cubes), {len(mesh.faces)} triangles",
    )
    return True


class SampleGrid(keras.callbacks.Callback):
    """Renders G(z) for a fixed z to `out_dir/epoch_NNNN.png` and TensorBoard.

    Args:
        z: fixed latent batch [n, z_dim] (the same every epoch, so the images
            show how the same latent points evolve).
        out_dir: directory of the PNG files.
        log_dir: TensorBoard directory of the image summaries.
        every: render every this many epochs (and always after the last).
        size: pixels per rendered shape.
        meshes: the first this many samples also go to TensorBoard's Mesh
            dashboard as `mesh/sample_NN` (0: none; an empty sample is skipped).
    """

    def __init__(self, z, out_dir, log_dir, every=1, size=96, meshes=0):
        super().__init__()
        self.z = np.asarray(z, np.float32)
        self.meshes = min(int(meshes), len(self.z))
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
            for i in range(self.meshes):
                mesh_summary(f"mesh/sample_{i:02d}", voxels[i], epoch + 1)
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
