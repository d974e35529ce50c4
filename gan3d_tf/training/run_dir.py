"""`RunDir`: the layout of a run directory, and every part of a run loaded from it.

A run directory holds:
    config.json          the resolved `Config`
    data.json            what was trained on (source, counts, skipped grids)
    commands.txt         every train.py invocation that wrote to it
    checkpoints/         tf.train checkpoints ckpt-<step>, the last 3 of those
                         saved at epoch ends and every N steps / M minutes
                         (G, D, the moving average of G when kept,
                         optimizers, z-sampler state, epoch and step counters)
    logs/train/          TensorBoard scalars (Keras TensorBoard callback)
    logs/samples/        TensorBoard images of the fixed-z sample grid
    logs/generation/     TensorBoard generation metrics (when monitored)
    samples/             the same grids as PNG
    generator.keras      the trained networks, written when training ends
    discriminator.keras  (the generator is the moving average of G when kept)
    encoder.keras        (3D-VAE-GAN runs) the image encoder

A network is read from its `.keras` file when that is at least as new as the
latest checkpoint, else from the checkpoint: a finished run gives the file
written at its end, a run that was resumed and is training again gives its
newest checkpoint.
"""

from __future__ import annotations

from pathlib import Path

import keras
import tensorflow as tf

from gan3d_tf.config import Config
from gan3d_tf.models.gan3d import GAN3D
from gan3d_tf.models.vaegan3d import VAEGAN3D
from gan3d_tf.training.builders import build_discriminator, build_encoder, build_generator

PARTS = ("generator", "discriminator", "encoder")


class RunDir:
    """A run directory: its paths, its config and its trained networks.

    Args:
        path: the run directory.
    """

    def __init__(self, path):
        self.path = Path(path)

    config_file = property(lambda self: self.path / "config.json")
    data_file = property(lambda self: self.path / "data.json")
    commands_file = property(lambda self: self.path / "commands.txt")
    checkpoints = property(lambda self: self.path / "checkpoints")
    logs = property(lambda self: self.path / "logs")
    samples = property(lambda self: self.path / "samples")

    def keras_file(self, part: str) -> Path:
        """`<part>.keras` in the run directory."""
        return self.path / f"{part}.keras"

    def config(self) -> Config:
        """The run's resolved config.

        Raises:
            FileNotFoundError: no config.json (not a run directory).
        """
        if not self.config_file.is_file():
            raise FileNotFoundError(f"{self.path}: not a run directory (no config.json)")
        return Config.from_json(self.config_file)

    def latest_checkpoint(self) -> str | None:
        """Prefix of the newest checkpoint, or None."""
        return tf.train.latest_checkpoint(str(self.checkpoints))

    def counters(self, checkpoint: str | None = None) -> dict:
        """{"checkpoint", "epochs", "steps", "g_steps"} stored in a checkpoint (default: the latest);
        "steps" and "g_steps" only when the checkpoint holds them (3D-GAN runs).

        Raises:
            FileNotFoundError: no checkpoint.
        """
        latest = checkpoint or self.latest_checkpoint()
        if latest is None:
            raise FileNotFoundError(f"{self.path}: no checkpoint in {self.checkpoints}")
        stored = dict(tf.train.list_variables(latest))
        keys = {
            "epochs": "epoch/.ATTRIBUTES/VARIABLE_VALUE",
            "steps": "steps_done/.ATTRIBUTES/VARIABLE_VALUE",
            "g_steps": "g_optimizer/_iterations/.ATTRIBUTES/VARIABLE_VALUE",
        }
        return {
            "checkpoint": Path(latest).name,
            **{name: int(tf.train.load_variable(latest, key)) for name, key in keys.items() if key in stored},
        }

    def load(self, part: str, checkpoint: str | None = None):
        """One trained network of the run: "generator" (the moving average of G when the run keeps one),
        "discriminator" or "encoder" (3D-VAE-GAN runs).

        Args:
            part: one of `PARTS`.
            checkpoint: read this checkpoint prefix (default: the `.keras`
                file or the latest checkpoint, whichever is newer).

        Raises:
            FileNotFoundError: neither a `.keras` file nor a checkpoint.
            ValueError: an unknown part, or an encoder asked of a 3D-GAN run.
        """
        if part not in PARTS:
            raise ValueError(f"part must be one of {PARTS}, got {part!r}")
        if part == "encoder" and self.config().algorithm != "vaegan":
            raise ValueError(
                f"{self.path} is a {self.config().algorithm!r} run; it has no encoder: "
                f"reconstruction needs a 3D-VAE-GAN run (algorithm 'vaegan')"
            )
        saved = self.keras_file(part)
        latest = checkpoint or self.latest_checkpoint()
        if saved.is_file() and (checkpoint is None and (latest is None or self._not_older(saved, latest))):
            return keras.saving.load_model(saved)
        if latest is None:
            raise FileNotFoundError(
                f"{self.path}: neither {saved.name} nor a checkpoint in {self.checkpoints} (and config.json)"
            )
        config = self.config()
        if part == "generator":
            ema = config.algorithm == "gan" and config.train.ema_decay > 0  # a VAE-GAN keeps no moving average
            net, key = build_generator(config.model), "ema_generator" if ema else "generator"
        elif part == "discriminator":
            net, key = build_discriminator(config.model), "discriminator"
        else:
            net, key = build_encoder(config), "encoder"
        tf.train.Checkpoint(**{key: net}).restore(latest).expect_partial().assert_existing_objects_matched()
        return net

    @staticmethod
    def _not_older(saved: Path, checkpoint: str) -> bool:
        index = Path(checkpoint + ".index")
        return not index.is_file() or saved.stat().st_mtime >= index.stat().st_mtime


def model_parts(path) -> list[str]:
    """The networks a model folder holds, in `PARTS` order: a run directory's (generator and discriminator, and
    encoder for a 3D-VAE-GAN) or, for a folder without config.json (`pretrained/<name>`), its `<part>.keras` files.

    Raises:
        FileNotFoundError: neither a run directory nor a folder with a `.keras` network.
    """
    path = Path(path)
    if (path / "config.json").is_file():
        vaegan = RunDir(path).config().algorithm == "vaegan"
        return list(PARTS) if vaegan else ["generator", "discriminator"]
    parts = [part for part in PARTS if (path / f"{part}.keras").is_file()]
    if not parts:
        raise FileNotFoundError(
            f"{path}: neither a run directory (config.json) nor a model folder with "
            f"{', '.join(p + '.keras' for p in PARTS)}"
        )
    return parts


def load_network(path, part: str = "generator", checkpoint: str | None = None):
    """A trained network from a `.keras` file or a run directory (see `RunDir.load`).

    Args:
        path: a `.keras` file or a run directory.
        part: "generator", "discriminator" or "encoder" (run directories only).
        checkpoint: checkpoint prefix to read instead of the newest source.

    Raises:
        FileNotFoundError: nothing loadable at `path`.
    """
    path = Path(path)
    if path.is_file():
        return keras.saving.load_model(path)
    if not path.is_dir():
        raise FileNotFoundError(f"{path}: no such .keras file or run directory")
    if not (path / "config.json").is_file():
        if (path / f"{part}.keras").is_file():  # a folder of .keras files (e.g. pretrained/chair32)
            return keras.saving.load_model(path / f"{part}.keras")
        raise FileNotFoundError(f"{path}: neither a run directory (config.json) nor a folder with {part}.keras")
    return RunDir(path).load(part, checkpoint)


def trained_config(path, field: str = "vaegan.gan_run") -> Config:
    """The config a trained model was made with: a run directory's config.json, or a model folder's
    metadata.json "config" (`pretrained/<name>`, written by `evaluate.py` ship/export), checked to hold a generator.

    Args:
        path: the run directory or model folder.
        field: the config field or flag that named it, for the error messages.

    Raises:
        FileNotFoundError / ValueError: neither, no generator in it, or a metadata.json without a config.
    """
    path = Path(path)
    if (path / "config.json").is_file():
        return Config.from_json(path / "config.json")
    meta = path / "metadata.json"
    if not meta.is_file() or not (path / "generator.keras").is_file():
        raise FileNotFoundError(
            f"{field} = {path}: neither a run directory (config.json) nor a model folder with "
            f"generator.keras and metadata.json"
        )
    import json

    config = json.loads(meta.read_text()).get("config")
    if not isinstance(config, dict):
        raise ValueError(f'{field} = {path}: {meta} holds no "config" of the model')
    return Config.from_dict(config)


def copy_trained(run_dir, nets: dict, field: str) -> None:
    """Copies the trained networks of run `run_dir` into `nets` ({"generator" | "discriminator" | "encoder": net}).

    Raises:
        FileNotFoundError: `run_dir` has neither `.keras` files nor a checkpoint.
        ValueError: a network has another architecture than its counterpart in `nets`.
    """
    for part, net in nets.items():
        trained = load_network(run_dir, part)
        if [w.shape for w in trained.weights] != [w.shape for w in net.weights]:
            raise ValueError(f"{field} = {run_dir}: its {part} has another architecture than this run's")
        net.set_weights(trained.get_weights())


def load_init_weights(init_from, gan: GAN3D) -> None:
    """Copies run `init_from`'s G and D into `gan`, and its encoder when both are VAE-GANs."""
    nets = {"generator": gan.generator, "discriminator": gan.discriminator}
    if isinstance(gan, VAEGAN3D) and Config.from_json(Path(init_from) / "config.json").algorithm == "vaegan":
        nets["encoder"] = gan.encoder
    copy_trained(init_from, nets, "train.init_from")
