"""Train a 3D-GAN or a 3D-VAE-GAN.

    python train.py --category chair                       # chair32 on a CPU (paper64 on a GPU), built-in chairs
    python train.py --category chair --preset smoke --epochs 3 --out runs/smoke
    python train.py --category chair --data modelnet10 --preset modelnet32   # ModelNet10, downloaded once
    python train.py --out runs/smoke --resume --epochs 6   # continue a run (Ctrl-C is safe)
    python train.py --model vaegan --category chair          # 3D-VAE-GAN on rendered views of built-in chairs
    python train.py --model vaegan --recipe separate --gan-run runs/chair-paper64 --category chair
    python train.py --init-from runs/smoke --g-lr 1e-3 --epochs 3 --seed 1 --out runs/smoke-ft   # fine-tune a run
    TF_CONFIG='{"cluster": {"worker": ["node1:12345", "node2:12345"]}, "task": {"type": "worker", "index": 0}}' \
        python train.py --strategy multiworker --out /shared/runs/x   # on every machine, each with its own index

Writes RUN_DIR (default runs/<category>-<preset>) with config.json,
checkpoints/, logs/ (TensorBoard: `tensorboard --logdir RUN_DIR/logs`),
samples/ and, at the end, generator.keras and discriminator.keras.
Exit codes: 0 done, 2 bad input (nothing written), 3 a non-finite loss or
weight, 130 interrupted (Ctrl-C; the message gives the resume command).
"""

from __future__ import annotations

import argparse
import os
import shlex
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "1")

from gan3d_tf.config import (  # noqa: E402
    ALGORITHMS,
    D_NORMS,
    PRESETS,
    RECIPES,
    RECON_LOSSES,
    SCENES,
    Z_DISTRIBUTIONS,
    Config,
    TrainConfig,
)
from gan3d_tf.config.options import options  # noqa: E402
from gan3d_tf.config.resolve import OVERRIDES, resolve_config  # noqa: E402, F401  (train.resolve_config, for the tests)
from gan3d_tf.datasets import VOXEL_DATASETS  # noqa: E402

STRATEGIES = ("auto", "mirrored", "default", "multiworker")  # gan3d_tf.training.make_strategy
EXAMPLES = """examples:
  python train.py --category chair                 # built-in chairs, chair32 on a CPU -> runs/chair-chair32
  python train.py --data modelnet10 --category chair --preset chair32 --out runs/chair32-mn10  # ModelNet10
  python train.py --resume                         # continue runs/chair-chair32 after Ctrl-C"""


def preset_default(field: str | tuple[str, ...]) -> str:
    """The default of config `field` ("train.epochs") as help text: one value, or each preset's.

    Args:
        field: "section.name" or a top-level field of `Config`, or several fields one flag sets (their values
            are joined by spaces).
    """

    def value(config: Config):
        values = []
        for f in (field,) if isinstance(field, str) else field:
            section, _, name = f.rpartition(".")
            v = getattr(getattr(config, section) if section else config, name)
            values.append("none" if v is None else (" ".join(map(str, v)) if isinstance(v, tuple) else str(v)))
        return " ".join(values)

    values = {name: value(config) for name, config in sorted(PRESETS.items())}
    if len(set(map(str, values.values()))) == 1:
        return f"default: {next(iter(values.values()))}"
    return "default: the preset's: " + ", ".join(f"{name} {v}" for name, v in values.items())


def parse_args(argv=None) -> argparse.Namespace:
    """train.py's flags (see `build_parser`).

    Args:
        argv: the flags (default: `sys.argv[1:]`).
    """
    return build_parser().parse_args(argv)


def build_parser() -> argparse.ArgumentParser:
    """train.py's parser: flags in groups (data, model, training, run directory, 3D-VAE-GAN), each help ending
    with its default, and three examples at the end."""
    p = argparse.ArgumentParser(
        prog="train.py",
        description=__doc__.split("\n\n")[0],
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )

    def add(group, flag, help, **kw):
        """A flag whose help ends with its default, taken from the presets when it sets a config field."""
        field = OVERRIDES.get(flag.lstrip("-").replace("-", "_"))
        default = kw.pop("default_text", None) or (preset_default(field) if field else None)
        group.add_argument(flag, help=f"{help} ({default})" if default else help, **kw)

    d = p.add_argument_group("data")
    add(d, "--category", "class to train on, several joined by commas (bed,chair), or 'all'")
    add(
        d,
        "--data",
        "a ModelNet-style voxel .npz, or a data set name, downloaded once to ~/.keras/datasets: "
        f"{', '.join(VOXEL_DATASETS)}",
        metavar="FILE.npz|NAME",
        default_text="default: built-in procedural shapes",
    )
    add(d, "--builtin-size", "procedural shapes per category when --data is not given", type=int)
    add(d, "--val-fraction", "fraction of the training shapes held out (seeded) for the generation monitor", type=float)

    m = p.add_argument_group("model")
    add(
        m,
        "--preset",
        "model and optimiser preset",
        choices=sorted(PRESETS),
        default_text="default: chair32 without a GPU, the recipe that learns on a CPU; paper64 with one",
    )
    add(
        m,
        "--z-prior",
        "distribution of z: uniform on [0, 1] (paper, authors' release) or N(0, 1)",
        choices=Z_DISTRIBUTIONS,
    )
    add(m, "--d-norm", "normalisation of D's hidden convs (paper: batch)", choices=D_NORMS)

    t = p.add_argument_group("training")
    add(t, "--betas", "Adam betas of G and D", type=float, nargs=2, metavar=("BETA1", "BETA2"))
    add(t, "--seed", "seed of weights, z, data order and built-in shapes", type=int)
    add(
        t,
        "--strategy",
        "auto: MirroredStrategy over all GPUs when there are several; multiworker: "
        "MultiWorkerMirroredStrategy over the cluster in the TF_CONFIG environment variable (the same command on "
        "every worker, RUN_DIR on a shared filesystem; only the chief writes it)",
        choices=STRATEGIES,
        default="auto",
        default_text="default: auto",
    )
    add(
        t,
        "--set",
        "set any config field, e.g. --set train.beta_2=0.9 --set model.g_widths=[256,128,64] (JSON values; repeatable)",
        action="append",
        default=[],
        metavar="SECTION.FIELD=VALUE",
        default_text="default: none",
    )

    r = p.add_argument_group("run directory, checkpoints and logs")
    add(
        r,
        "--out",
        "run directory; an existing run is never overwritten, a file or a non-empty folder that is not "
        "a run is refused",
        metavar="RUN_DIR",
        default_text="default: runs/<category>-<preset>",
    )
    add(
        r,
        "--resume",
        "continue RUN_DIR (--out, or the default run directory of the other flags) from its last "
        "checkpoint; Ctrl-C prints the command",
        action="store_true",
        default_text="default: off",
    )
    add(
        r,
        "--init-from",
        "fine-tune: start from RUN_DIR's config and trained networks, fresh optimisers; other "
        "flags override its config, except the architecture",
        metavar="RUN_DIR",
        default_text="default: none",
    )
    add(r, "--quiet", "no per-epoch progress lines", action="store_true", default_text="default: off")
    add(r, "--verbose", "also show TensorFlow's start-up log lines", action="store_true", default_text="default: off")

    v = p.add_argument_group("3D-VAE-GAN (--model vaegan)")
    add(
        v,
        "--model",
        "gan: 3D-GAN on voxels; vaegan: 3D-VAE-GAN on rendered (image, voxels) pairs",
        choices=ALGORITHMS,
        default_text="default: gan",
    )
    add(
        v,
        "--recipe",
        "joint: train E, G, D together; separate: E only, on the fixed G and D of a trained 3D-GAN "
        "(--gan-run) or of the --init-from run; latent: E only, regressed onto the z of rendered samples of that "
        "fixed G (beyond the paper)",
        choices=RECIPES,
    )
    add(
        v,
        "--gan-run",
        "--recipe separate or latent: the trained 3D-GAN run directory whose G it keeps fixed "
        "(latent: also a model folder such as pretrained/chair32)",
        metavar="RUN_DIR",
    )
    add(v, "--image-size", "side of the input images in pixels (paper: 256)", type=int)
    add(v, "--e-lr", "Adam step size of the encoder", type=float)
    add(v, "--kl-weight", "alpha_1, weight of the KL term (paper: 5)", type=float)
    add(v, "--recon-weight", "alpha_2, weight of the reconstruction term (paper: 1e-4)", type=float)
    add(
        v, "--recon-loss", "l2 (the paper's squared error) or bce (cross-entropy from G's logits)", choices=RECON_LOSSES
    )
    add(
        v,
        "--view-distance",
        "camera distance range of training views, in grid sides",
        type=float,
        nargs=2,
        metavar=("MIN", "MAX"),
    )
    add(
        v,
        "--scene",
        "look of the training views: plain, room (floor, wall, texture, jitter) or photo (room with "
        "real-photograph wall and object textures)",
        choices=SCENES,
    )
    groups = {g.title: g for g in (d, m, t, r, v)}
    for f in options(TrainConfig):  # the training options' flags, from their fields
        meta = f.metadata
        if meta["flag"]:
            if isinstance(f.default, bool):
                kind = {"action": "store_true", "default": None}
            else:
                kind = {"choices": meta["choices"]} if meta["choices"] else {"type": type(f.default)}
                kind["metavar"] = meta["metavar"]
            add(
                groups[meta["group"]], meta["flag"], meta["help"].replace("%", "%%"), **kind
            )  # argparse formats help with %
    return p


def checkpoint_text(run_dir, full_path: bool = True) -> str | None:
    """'RUN/checkpoints/ckpt-N (epoch E, step S)' of a run's latest checkpoint, or None without one.

    Args:
        run_dir: the run directory.
        full_path: name the checkpoint by its path (else by its name, 'ckpt-N').
    """
    from gan3d_tf.training import RunDir

    run = RunDir(run_dir)
    if run.latest_checkpoint() is None:
        return None
    c = run.counters()
    step = f", step {c['steps']:,}" if "steps" in c else ""
    name = run.checkpoints / c["checkpoint"] if full_path else c["checkpoint"]
    return f"{name} (epoch {c['epochs']}{step})"


def interrupted(run_dir, argv) -> str:
    """The one line train.py prints on Ctrl-C: the last checkpoint and the command that goes on from it.

    Args:
        run_dir: the run directory (None: interrupted before it was known).
        argv: the flags of this command.
    """
    again = shlex.join(["python", "train.py", *argv])
    if run_dir is None:
        return f"train.py: interrupted before training started; nothing to resume; start again with: {again}"
    last = checkpoint_text(run_dir)
    if last is None:
        return f"train.py: interrupted before the first checkpoint of {run_dir}; start again with: {again}"
    return (
        f"train.py: interrupted; last checkpoint {last}; resume with: "
        f"{shlex.join(['python', 'train.py', '--resume', '--out', str(run_dir)])}"
    )


def main(argv=None, callbacks_extra=None) -> int:
    """Runs train.py; returns its exit code (2: bad input, 3: a non-finite loss or weight, 130: Ctrl-C).

    Args:
        argv: the flags (default: `sys.argv[1:]`).
        callbacks_extra: more Keras callbacks, passed to `training.train` (for programs that embed train.py).
    """
    args = parse_args(argv)
    argv = sys.argv[1:] if argv is None else list(argv)
    if args.verbose:
        from gan3d_tf.tf_startup import print_startup_log

        print_startup_log()
    known = {}  # the run directory, once resolved
    try:
        prepared = prepare_run(args, known)
        if isinstance(prepared, int):
            return prepared
        return run_training(args, argv, prepared, callbacks_extra)
    except KeyboardInterrupt:
        print(interrupted(known.get("run_dir"), argv), file=sys.stderr, flush=True)
        return 130


def prepare_run(args, known: dict) -> tuple | int:
    """Everything before training: the config, the run directory's checks, the data, the strategy.

    Args:
        args: the parsed flags.
        known: gets "run_dir" as soon as it is resolved (for the message on Ctrl-C).

    Returns:
        (config, run_dir, data, strategy, role), or exit code 2 after printing the problem.
    """
    from gan3d_tf import training
    from gan3d_tf.datasets import resolve_data_path

    try:
        # first: a multi-worker strategy configures TensorFlow's collective ops, which it refuses once an op has run
        strategy = training.make_strategy("multiworker") if args.strategy == "multiworker" else None
        config, run_dir = resolve_config(args)
        training.check_run_dir(run_dir, args.resume)
        known["run_dir"] = run_dir
        if args.resume:
            print(f"resuming {run_dir} from {checkpoint_text(run_dir, full_path=False)}", flush=True)
        path = resolve_data_path(config.data.path, config.model.resolution)  # a data set name: fetched once
        if path != config.data.path:
            config = config.replace(**{"data.path": path}).validate()
        data = training.load_training_data(config)
        n_val = training.n_held_out(len(data.voxels), config.data.val_fraction)
        held = f" (+ {n_val} held out, never trained on)" if n_val else ""
        print(
            f"training on {len(data.voxels) - n_val} {config.data.category} shapes{held} from {data.source} "
            f"at {config.model.resolution}^3 (skipped {data.n_empty_skipped} empty grids, "
            f"{data.n_nonfinite_skipped} holding NaN or inf) -> {run_dir}",
            flush=True,
        )
        strategy = strategy or training.make_strategy(args.strategy)
        role = training.worker_role(strategy)
        training.check_algorithm(config.algorithm, role)
    except (ValueError, FileNotFoundError, FileExistsError) as e:
        print(f"train.py: error: {e}", file=sys.stderr)
        return 2
    return config, run_dir, data, strategy, role


def run_training(args, argv, prepared, callbacks_extra) -> int:
    """Trains the prepared run; returns the exit code (0, or 3 for a non-finite loss or weight).

    Args:
        args: the parsed flags.
        argv: the flags as given (written to commands.txt).
        prepared: `prepare_run`'s (config, run_dir, data, strategy, role).
        callbacks_extra: more Keras callbacks for `training.train`.
    """
    from gan3d_tf import training

    config, run_dir, data, strategy, role = prepared
    where = (
        ""
        if role.task_type is None
        else (
            f"; this is {role.task_type} {role.task_id} of {role.n_workers} "
            f"workers, {'the chief' if role.is_chief else 'not the chief'}"
        )
    )
    print(f"strategy: {type(strategy).__name__} with {strategy.num_replicas_in_sync} replica(s){where}", flush=True)
    if role.is_chief:  # the other workers of a multi-worker run write nothing into the run directory
        os.makedirs(run_dir, exist_ok=True)
        with open(os.path.join(run_dir, "commands.txt"), "a") as log:  # every invocation, for a model's metadata
            log.write(" ".join(["python", "train.py", *argv]) + "\n")
    verbose = 0 if args.quiet else (1 if sys.stdout.isatty() else 2)  # progress bar on a terminal, epoch lines in logs
    try:
        training.train(
            config,
            run_dir,
            resume=args.resume,
            strategy=strategy,
            data=data,
            verbose=verbose,
            callbacks_extra=callbacks_extra,
        )
    except training.NonFiniteError as e:
        print(
            f"train.py: error: {e}\n(lower the learning rates, or resume: python train.py --resume --out {run_dir})",
            file=sys.stderr,
        )
        return 3
    if not role.is_chief:
        print(f"done: {role.task_type} {role.task_id}; the chief wrote {run_dir}", flush=True)
        return 0
    print(f"done: {run_dir}/{'encoder' if config.algorithm == 'vaegan' else 'generator'}.keras", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
