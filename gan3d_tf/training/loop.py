"""Fitting a 3D-GAN or 3D-VAE-GAN run: its data, model, checkpoints and callbacks (what `train.py` calls).

The run directory's layout is described in `gan3d_tf.training.run_dir`.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from gan3d_tf.config import Config, GANRecipe
from gan3d_tf.config.legacy import restore_checkpoint
from gan3d_tf.data.pipeline import steps_per_epoch, training_dataset, view_dataset
from gan3d_tf.data.voxel_npz import VoxelSet
from gan3d_tf.metrics.iou import mean_pairwise_iou
from gan3d_tf.models.gan3d import GAN3D, sample_z
from gan3d_tf.models.vaegan3d import VAEGAN3D
from gan3d_tf.training.builders import build_discriminator, build_encoder, build_generator, dtype_policy
from gan3d_tf.training.generation_monitor import GenerationMonitor
from gan3d_tf.training.multiworker import (
    any_worker,
    check_algorithm,
    make_multiworker_strategy,
    scratch_dir,
    worker_role,
)
from gan3d_tf.training.progress import RunProgress, plan_line
from gan3d_tf.training.run_dir import copy_trained, load_init_weights
from gan3d_tf.training.shapes import load_training_data, split_validation
from gan3d_tf.training.sample_grid import SampleGrid
from gan3d_tf.training.step_checkpoint import NonFiniteError, StepCheckpoint, first_non_finite
from gan3d_tf.training.step_scalars import StepScalars

N_FIXED_SAMPLES = 16  # shapes in the per-epoch sample grid


def make_strategy(name: str = "auto") -> tf.distribute.Strategy:
    """The distribution strategy for `name`.

    Args:
        name: "auto" (MirroredStrategy when more than one GPU is visible,
            else the default strategy), "mirrored" (MirroredStrategy over all
            visible GPUs, or the CPU), "default" (one device) or
            "multiworker" (MultiWorkerMirroredStrategy over the cluster in the
            `TF_CONFIG` environment variable; call this before TensorFlow
            runs any op, see `gan3d_tf.training.multiworker`).

    Raises:
        ValueError: an unknown name, or "multiworker" with a missing or malformed `TF_CONFIG`.
    """
    if name == "multiworker":  # first: listing the GPUs would start TensorFlow's runtime
        return make_multiworker_strategy(os.environ.get("TF_CONFIG"))
    gpus = tf.config.list_logical_devices("GPU")
    if name == "mirrored" or (name == "auto" and len(gpus) > 1):
        return tf.distribute.MirroredStrategy()
    if name in ("auto", "default"):
        return tf.distribute.get_strategy()
    raise ValueError(f"unknown strategy {name!r}; choose auto, mirrored, default or multiworker")


def build_gan(config: Config) -> GAN3D:
    """A compiled `GAN3D` (or `VAEGAN3D` when `config.algorithm` is "vaegan"); call inside `strategy.scope()`."""
    m, t = config.model, config.train
    policy = dtype_policy(t.mixed_precision)
    generator, discriminator = build_generator(m, policy), build_discriminator(m, policy)
    optimizers = {
        "g_optimizer": keras.optimizers.Adam(t.g_learning_rate, beta_1=t.beta_1, beta_2=t.beta_2),
        "d_optimizer": keras.optimizers.Adam(t.d_learning_rate, beta_1=t.beta_1, beta_2=t.beta_2),
    }
    if config.algorithm == "vaegan":
        v = config.vaegan
        if v.recipe == "separate" and not t.init_from:  # with init_from, open_run copies G and D from that run
            copy_trained(v.gan_run, {"generator": generator, "discriminator": discriminator}, "vaegan.gan_run")
        if v.recipe == "latent" and not t.init_from:  # G only: the latent recipe never uses D
            copy_trained(v.gan_run, {"generator": generator}, "vaegan.gan_run")
        gan = VAEGAN3D(
            build_encoder(config, policy),
            generator,
            discriminator,
            kl_weight=v.kl_weight,
            recon_weight=v.recon_weight,
            recon_loss=v.recon_loss,
            recipe=v.recipe,
            d_acc_threshold=t.d_acc_threshold,
            seed=config.seed,
            latent_loss=v.latent_loss,
        )
        optimizers["e_optimizer"] = keras.optimizers.Adam(v.e_learning_rate, beta_1=t.beta_1, beta_2=t.beta_2)
    else:
        gan = GAN3D(generator, discriminator, GANRecipe.of(t), seed=config.seed)
    if policy == "mixed_float16":
        optimizers = {k: keras.optimizers.LossScaleOptimizer(o) for k, o in optimizers.items()}
    gan.compile(**optimizers)
    gan.build_optimizers()
    return gan


@dataclass
class Run:
    """A built run: the model and its checkpoint state."""

    gan: GAN3D
    checkpoint: tf.train.Checkpoint
    manager: tf.train.CheckpointManager
    epoch: tf.Variable  # finished epochs, saved in the checkpoint
    step: tf.Variable  # finished steps over all epochs, saved in the checkpoint (0 in checkpoints older than it)


def open_run(
    config: Config, run_dir, strategy: tf.distribute.Strategy | None = None, restore: bool = False, checkpoint_dir=None
) -> Run:
    """Builds the model under `strategy` and (optionally) restores the latest checkpoint.

    Seeds the global Python/NumPy/TF/Keras generators with `config.seed` first,
    so a run's initial weights are a function of its seed.

    Args:
        config: the run's config.
        run_dir: the run directory; checkpoints are restored from its `checkpoints/`.
        strategy: the strategy to build under (default: the current one).
        restore: restore the latest checkpoint of `run_dir`.
        checkpoint_dir: where the returned manager saves (default:
            `run_dir/checkpoints`; a non-chief worker's scratch directory in
            multi-worker training).

    Raises:
        FileNotFoundError: `restore` but the run has no checkpoint.
    """
    strategy = strategy or tf.distribute.get_strategy()
    keras.utils.set_random_seed(config.seed)  # weight initialisation (Python, NumPy, TF, Keras seeds)
    with strategy.scope():
        gan = build_gan(config)
        epoch = tf.Variable(0, dtype=tf.int64, trainable=False, name="epoch")
        step = tf.Variable(0, dtype=tf.int64, trainable=False, name="step")
        parts = dict(
            generator=gan.generator,
            discriminator=gan.discriminator,
            g_optimizer=gan.g_optimizer,
            d_optimizer=gan.d_optimizer,
            z_rng=gan.z_rng,
            steps_done=gan.steps_done,
            epoch=epoch,
        )
        if gan.ema_generator is not None:
            parts["ema_generator"] = gan.ema_generator
        if isinstance(gan, VAEGAN3D):
            parts.update(
                encoder=gan.encoder, e_optimizer=gan.e_optimizer, sampler_state=gan.sampler.seed_generator.state
            )
        checkpoint = tf.train.Checkpoint(**parts, step=step)
    saved = Path(run_dir) / "checkpoints"
    manager = tf.train.CheckpointManager(checkpoint, str(checkpoint_dir or saved), max_to_keep=3)
    if not restore and config.train.init_from:
        with strategy.scope():
            load_init_weights(config.train.init_from, gan)
    if restore:
        latest = tf.train.latest_checkpoint(str(saved))  # the manager's own when it writes there
        if latest is None:
            raise FileNotFoundError(f"no checkpoint to resume from in {saved}")
        restore_checkpoint(checkpoint, parts, latest)
    return Run(gan, checkpoint, manager, epoch, step)


RUN_MARKERS = ("config.json", "commands.txt", "checkpoints")  # what makes a folder a run directory


def check_run_dir(run_dir, resume: bool) -> None:
    """Refuses to overwrite a run, to resume one that does not exist, or to write a run into a file or
    into a non-empty folder that is not a run (`RUN_MARKERS`), before anything is written.

    Args:
        run_dir: the run directory.
        resume: whether the run is to be resumed.

    Raises:
        FileNotFoundError / FileExistsError: naming the folder and the problem.
    """
    run_dir = Path(run_dir)
    existing = next((p for p in (run_dir, *run_dir.parents) if p.exists()), None)
    if existing is not None and not existing.is_dir():
        raise FileExistsError(f"{existing} is a file, not a run directory; choose a new folder with --out")
    if run_dir.is_dir() and any(run_dir.iterdir()) and not any((run_dir / m).exists() for m in RUN_MARKERS):
        raise FileExistsError(
            f"{run_dir} is a non-empty folder that is not a run (no {', '.join(RUN_MARKERS)}); "
            f"choose a new or empty folder with --out"
        )
    has_ckpt = (run_dir / "checkpoints" / "checkpoint").is_file()
    if resume and not (run_dir / "config.json").is_file():
        raise FileNotFoundError(f"cannot resume {run_dir}: {run_dir / 'config.json'} not found; is it a run directory?")
    if resume and not has_ckpt:
        raise FileNotFoundError(f"cannot resume {run_dir}: no checkpoint in {run_dir / 'checkpoints'}")
    if not resume and has_ckpt:
        raise FileExistsError(f"{run_dir} already holds a run; resume it or choose another run directory")


def batches(config: Config, voxels: np.ndarray, epoch: int, skip: int = 0, generator=None) -> tf.data.Dataset:
    """The training stream from epoch `epoch`, batch `skip` on (the batches an uninterrupted run sees there);
    the "latent" recipe draws its pairs from `generator`, the run's fixed G."""
    t = config.train
    if config.algorithm == "vaegan" and config.vaegan.recipe == "latent":
        from gan3d_tf.data.latent_pairs import latent_dataset

        v = config.vaegan
        dataset = latent_dataset(
            generator,
            t.batch_size,
            steps_per_epoch(len(voxels), t.batch_size),
            config.seed,
            epoch,
            v.image_size,
            v.render_size,
            v.view_distance,
            v.scene,
        )
    elif config.algorithm == "vaegan":
        v = config.vaegan
        dataset = view_dataset(
            voxels, t.batch_size, config.seed, epoch, v.image_size, v.render_size, v.view_distance, v.scene
        )
    else:
        dataset = training_dataset(voxels, t.batch_size, config.seed, epoch)
    return dataset.skip(skip)


def guarded_variables(gan: GAN3D) -> dict:
    """Everything a checkpoint saves that must be finite, by name ("generator_ema/deconv1/kernel"): the
    networks' weights and the optimizers' state."""
    owners = {
        "generator": gan.generator,
        "discriminator": gan.discriminator,
        "generator_ema": gan.ema_generator,
        "encoder": getattr(gan, "encoder", None),
        "g_optimizer": gan.g_optimizer,
        "d_optimizer": gan.d_optimizer,
        "e_optimizer": getattr(gan, "e_optimizer", None),
    }
    return {
        f"{label}/{v.path.split('/')[-1] if label.endswith('optimizer') else v.path}": v
        for label, owner in owners.items()
        if owner is not None
        for v in (owner.weights if isinstance(owner, keras.Model) else owner.variables)
        if "float" in str(v.dtype)
    }


def save_atomic(model: keras.Model, path: Path) -> None:
    """`model.save(path)` through a temporary file renamed into place: a kill leaves the old file or the new one."""
    tmp = path.with_name(f".{path.stem}.tmp.keras")
    model.save(tmp)
    os.replace(tmp, path)


def fixed_z(config: Config) -> np.ndarray:
    """The latent batch of the per-epoch sample grid (a function of the seed)."""
    rng = tf.random.Generator.from_seed(config.seed + 1)
    return sample_z(rng, N_FIXED_SAMPLES, config.model.z_dim, config.model.z_distribution).numpy()


def train(
    config: Config,
    run_dir,
    resume: bool = False,
    strategy=None,
    data: VoxelSet | None = None,
    verbose: int = 2,
    callbacks_extra: list | None = None,
) -> Run:
    """Trains (or resumes) a run to `config.train.epochs` epochs.

    Args:
        config: the resolved, validated config (written to the run directory).
        run_dir: the run directory (created if missing).
        resume: continue from the latest checkpoint in `run_dir`.
        strategy: a tf.distribute strategy (default: the current one).
        data: training grids; loaded from `config` when None.
        verbose: Keras `fit` verbosity.
        callbacks_extra: more Keras callbacks, run after the run's own (checkpoint, TensorBoard, samples, monitor);
            under a multi-worker strategy they run on every worker, so that
            any collective op in them runs everywhere.

    Under a `MultiWorkerMirroredStrategy` every worker calls this with the
    same arguments and `run_dir` on a filesystem they share: all restore from
    `run_dir`, only the chief writes to it (`gan3d_tf.training.multiworker`);
    the others save their checkpoints, config and `.keras` files into a
    temporary directory, removed when training ends, and run neither the
    TensorBoard, sample nor monitor callbacks (which only write).

    Returns:
        The trained `Run`.

    Raises:
        NonFiniteError: a loss or a weight became NaN or infinite; the step is
            named, and nothing from that step on was saved.
        ValueError: a 3D-VAE-GAN under a multi-worker strategy (not supported).
    """
    strategy = strategy or tf.distribute.get_strategy()
    role = worker_role(strategy)
    check_algorithm(config.algorithm, role)
    with scratch_dir(role) as scratch:  # None on the chief, and outside multi-worker training
        return _train(config, run_dir, resume, strategy, data, verbose, callbacks_extra, scratch)


def _train(
    config: Config,
    run_dir,
    resume: bool,
    strategy,
    data: VoxelSet | None,
    verbose: int,
    callbacks_extra: list | None,
    scratch: Path | None,
) -> Run:
    """`train`, writing into `scratch` instead of `run_dir` when it is not None (a non-chief worker)."""
    run_dir = Path(run_dir)
    check_run_dir(run_dir, resume)
    config.validate()
    data = data if data is not None else load_training_data(config)
    data, held_out = split_validation(data, config.data.val_fraction, config.seed)
    t = config.train
    steps = steps_per_epoch(len(data.voxels), t.batch_size)
    if steps == 0:
        raise ValueError(f"batch_size {t.batch_size} is larger than the {len(data.voxels)} training shapes")

    out = scratch or run_dir  # where this process writes (TensorFlow's multi-worker `write_filepath` pattern)
    out.mkdir(parents=True, exist_ok=True)
    run = open_run(
        config, run_dir, strategy, restore=resume, checkpoint_dir=None if scratch is None else scratch / "checkpoints"
    )
    epochs_done = int(run.epoch.numpy())
    done = int(run.step.numpy()) or epochs_done * steps  # 0 in checkpoints saved before step counting
    if divmod(done, steps)[0] != epochs_done:
        raise ValueError(
            f"{run_dir}: the checkpoint's {done} steps are not {epochs_done} epochs of {steps} steps; "
            f"was the data or the batch size changed?"
        )
    run.step.assign(done)
    # written after the restore, so that a failed resume leaves the saved config and data record as they were
    config.to_json(out / "config.json")
    (out / "data.json").write_text(
        json.dumps(
            {
                "source": data.source,
                "classes": list(data.classes),
                "category": config.data.category,
                "n_train": int(len(data.voxels)),
                "n_held_out": int(len(held_out.voxels)) if held_out is not None else 0,
                "n_empty_skipped": data.n_empty_skipped,
                "n_nonfinite_skipped": data.n_nonfinite_skipped,
                "resolution": int(data.voxels.shape[1]),
                "mean_occupancy": float(data.voxels.mean()),
                "mean_pairwise_iou_first64": mean_pairwise_iou(data.voxels) if len(data.voxels) > 1 else None,
            },
            indent=2,
        )
        + "\n"
    )
    agree = any_worker(strategy) if worker_role(strategy).n_workers > 1 else None  # timed saves: all or none

    def callbacks():  # new ones for each fit (their summary writers close at the end of a fit)
        checkpoint = StepCheckpoint(
            run.manager,
            run.epoch,
            run.step,
            steps,
            guarded_variables(run.gan),
            every_steps=t.checkpoint_every_steps,
            every_minutes=t.checkpoint_every_minutes,
            agree=agree,
            discard_saves=scratch is not None,
        )
        if scratch is not None:  # a non-chief worker saves (saves are collective), the chief alone writes the rest
            return [checkpoint] + list(callbacks_extra or [])
        made = [
            checkpoint,
            keras.callbacks.TensorBoard(log_dir=str(run_dir / "logs"), write_graph=False),
            SampleGrid(
                fixed_z(config),
                run_dir / "samples",
                run_dir / "logs" / "samples",
                every=t.sample_every_epochs,
                meshes=t.mesh_samples,
            ),
        ]
        if t.log_every_steps:
            made.append(StepScalars(run_dir / "logs" / "steps", run.step, t.log_every_steps))  # after the step count
        if t.monitor_every_epochs and held_out is not None:
            z = sample_z(
                tf.random.Generator.from_seed(config.seed + 2),
                t.monitor_samples,
                config.model.z_dim,
                config.model.z_distribution,
            ).numpy()
            made.append(
                GenerationMonitor(
                    held_out.voxels,
                    z,
                    run_dir / "logs" / "generation",
                    every=t.monitor_every_epochs,
                    stop_at_gate=t.stop_at_gate,
                )
            )
        return made + list(callbacks_extra or [])

    # a run saved mid-epoch first finishes that epoch (its remaining batches, in the same order), then goes on
    epoch, batch, fits = *divmod(done, steps), []
    if batch and epoch < t.epochs:
        fits, epoch = [(epoch, batch, steps - batch)], epoch + 1
    if epoch < t.epochs:
        fits.append((epoch, 0, steps))
    progress = []  # the whole run's plan and time estimate, on the chief's console (after Keras's epoch line)
    if verbose and scratch is None and fits:
        print(plan_line(t.epochs, steps, t.batch_size, len(data.voxels), done), flush=True)
        progress = [keras.callbacks.ProgbarLogger(), RunProgress(t.epochs, steps, done, every_epoch=verbose == 2)]
    for first_epoch, skip, n_steps in fits:
        run.gan.fit(
            batches(config, data.voxels, first_epoch, skip, run.gan.generator),
            epochs=first_epoch + 1 if skip else t.epochs,
            initial_epoch=first_epoch,
            steps_per_epoch=n_steps,
            callbacks=callbacks() + progress,
            verbose=verbose,
            shuffle=False,
        )
    bad = first_non_finite(guarded_variables(run.gan))  # the same check as before every checkpoint
    if bad is not None:
        raise NonFiniteError(f"{run_dir}: variable {bad} is not finite; no .keras file written")
    nets = {"generator": run.gan.sampling_generator, "discriminator": run.gan.discriminator}  # G: its average if kept
    if isinstance(run.gan, VAEGAN3D):
        nets["encoder"] = run.gan.encoder
    for part, net in nets.items():
        save_atomic(net, out / f"{part}.keras")
    return run
