"""Train a 3D-GAN.

    python train.py --category chair                       # paper 64^3 model, built-in chairs
    python train.py --category chair --preset smoke --epochs 3 --out runs/smoke
    python train.py --category chair --data ../shared/data/modelnet10_vox32.npz --preset modelnet32
    python train.py --out runs/smoke --resume --epochs 6   # continue a run
    python train.py --model vaegan --category chair          # 3D-VAE-GAN on rendered views of built-in chairs
    python train.py --model vaegan --recipe separate --gan-run runs/chair-paper64 --category chair
    python train.py --init-from runs/smoke --g-lr 1e-3 --epochs 3 --seed 1 --out runs/smoke-ft   # fine-tune a run
    TF_CONFIG='{"cluster": {"worker": ["node1:12345", "node2:12345"]}, "task": {"type": "worker", "index": 0}}' \
        python train.py --strategy multiworker --out /shared/runs/x   # on every machine, each with its own index

Writes RUN_DIR (default runs/<category>-<preset>) with config.json,
checkpoints/, logs/ (TensorBoard: `tensorboard --logdir RUN_DIR/logs`),
samples/ and, at the end, generator.keras and discriminator.keras.
"""

from __future__ import annotations

import argparse
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "1")

from gan3d_tf.config import D_NORMS, D_PASSES, LOSSES, PRESETS, RECON_LOSSES, SCENES, Z_DISTRIBUTIONS  # noqa: E402
from gan3d_tf.config.resolve import resolve_config  # noqa: E402, F401  (train.resolve_config, for the tests)

def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", choices=("gan", "vaegan"),
                   help="gan: 3D-GAN on voxels (default); vaegan: 3D-VAE-GAN on rendered (image, voxels) pairs")
    p.add_argument("--recipe", choices=("joint", "separate"),
                   help="vaegan: train E, G, D jointly (default) or E only, on the fixed G and D of a trained "
                        "3D-GAN (--gan-run) or of the --init-from run")
    p.add_argument("--gan-run", metavar="RUN_DIR", help="vaegan --recipe separate: the 3D-GAN run to start from")
    p.add_argument("--image-size", type=int, help="vaegan: side of the input images in pixels (paper: 256)")
    p.add_argument("--e-lr", type=float, help="vaegan: Adam step size of the encoder (default: 1e-4)")
    p.add_argument("--kl-weight", type=float, help="vaegan: alpha_1, weight of the KL term (paper: 5)")
    p.add_argument("--recon-weight", type=float, help="vaegan: alpha_2, weight of the reconstruction term (paper: 1e-4)")
    p.add_argument("--recon-loss", choices=RECON_LOSSES,
                   help="vaegan: reconstruction term, l2 (the paper's squared error, default) or bce (cross-entropy "
                        "from G's logits)")
    p.add_argument("--view-distance", type=float, nargs=2, metavar=("MIN", "MAX"),
                   help="vaegan: camera distance range of training views, in grid sides (default: 2.2 2.8)")
    p.add_argument("--scene", choices=SCENES,
                   help="vaegan: look of the training views: plain (default), room (floor, wall, texture, jitter) or "
                        "photo (room with real-photograph wall and object textures)")
    p.add_argument("--category", help="class to train on, several joined by commas (bed,chair), or 'all' (default: chair)")
    p.add_argument("--data", metavar="FILE.npz", help="ModelNet-style voxel .npz (default: built-in procedural shapes)")
    p.add_argument("--builtin-size", type=int, help="procedural shapes per category when --data is not given")
    p.add_argument("--preset", choices=sorted(PRESETS),
                   help="model/optimiser preset (default: paper64 with a GPU, chair32 without: the recipe that "
                        "learns on a CPU)")
    p.add_argument("--epochs", type=int, help="total epochs to reach (a resumed run continues up to this)")
    p.add_argument("--batch-size", type=int, help="global batch size (split across replicas)")
    p.add_argument("--g-lr", type=float, help="Adam step size of G (default: the preset's; paper 0.0025)")
    p.add_argument("--d-lr", type=float, help="Adam step size of D (default: the preset's; paper 1e-5)")
    p.add_argument("--d-acc-threshold", type=float,
                   help="D is updated only when its batch accuracy is <= this (paper: 0.8; 1: every step; < 0: never)")
    p.add_argument("--z-prior", choices=Z_DISTRIBUTIONS,
                   help="distribution of z: uniform on [0, 1] (paper, authors' release) or N(0, 1)")
    p.add_argument("--loss", choices=LOSSES,
                   help="paper: BCE from logits with D's accuracy gate (default of paper64/modelnet32); "
                        "hinge; wgan-gp: Wasserstein loss with a per-sample gradient penalty (3D-IWGAN)")
    p.add_argument("--d-norm", choices=D_NORMS, help="normalisation of D's hidden convs (paper: batch)")
    p.add_argument("--n-critic", type=int, help="D steps per G step (3D-IWGAN: 5)")
    p.add_argument("--gp-weight", type=float, help="wgan-gp: weight lambda of the gradient penalty (default 10)")
    p.add_argument("--d-passes", choices=D_PASSES,
                   help="joint: one D pass over concat(real, fake); separate: all-real and all-fake passes")
    p.add_argument("--ema-decay", type=float,
                   help="moving average of G's weights per G step, used for samples, metrics and export (0: off)")
    p.add_argument("--betas", type=float, nargs=2, metavar=("BETA1", "BETA2"), help="Adam betas of G and D")
    p.add_argument("--val-fraction", type=float,
                   help="fraction of the training shapes held out (seeded) for the generation monitor")
    p.add_argument("--monitor-every", type=int, metavar="N",
                   help="score 64 fixed-z samples against the held-out shapes (COV, MMD, 1-NNA) every N epochs "
                        "(TensorBoard and console; 0: off)")
    p.add_argument("--checkpoint-every-steps", type=int, metavar="N",
                   help="also checkpoint every N steps within an epoch (default 0: off; epoch ends always)")
    p.add_argument("--checkpoint-every-minutes", type=float, metavar="M",
                   help="also checkpoint when M minutes passed since the last save (default 10; 0: off); "
                        "--resume continues from the last save, bit for bit")
    p.add_argument("--log-every-steps", type=int, metavar="N",
                   help="also log the training scalars to TensorBoard every N steps (RUN_DIR/logs/steps, against "
                        "the step count over all epochs; default 0: per epoch only)")
    p.add_argument("--mesh-samples", type=int, metavar="N",
                   help="fixed-z samples also sent as 3D meshes to TensorBoard's Mesh dashboard with each sample "
                        "grid (default 4; 0: off)")
    p.add_argument("--set", action="append", default=[], metavar="SECTION.FIELD=VALUE",
                   help="set any config field, e.g. --set train.beta_2=0.9 --set model.g_widths=[256,128,64] "
                        "(JSON values; repeatable)")
    p.add_argument("--out", metavar="RUN_DIR", help="run directory (default: runs/<category>-<preset>)")
    p.add_argument("--resume", action="store_true", help="continue RUN_DIR from its last checkpoint")
    p.add_argument("--init-from", metavar="RUN_DIR",
                   help="fine-tune: start from RUN_DIR's config and trained networks, fresh optimisers; "
                        "other flags override its config, except the architecture")
    p.add_argument("--seed", type=int, help="seed of weights, z, data order and built-in shapes (default: 0)")
    p.add_argument("--mixed-precision", action="store_true", default=None,
                   help="bf16 compute on CPU, fp16 with loss scaling on GPU")
    p.add_argument("--strategy", choices=("auto", "mirrored", "default", "multiworker"), default="auto",
                   help="auto: MirroredStrategy over all GPUs when there are several; multiworker: "
                        "MultiWorkerMirroredStrategy over the cluster in the TF_CONFIG environment variable (the "
                        "same command on every worker, RUN_DIR on a shared filesystem; only the chief writes it)")
    p.add_argument("--quiet", action="store_true", help="no per-epoch progress lines")
    return p.parse_args(argv)


def main(argv=None, callbacks_extra=None) -> int:
    """Runs train.py; returns its exit code (2: bad input, 3: a non-finite loss or weight).

    Args:
        argv: the flags (default: `sys.argv[1:]`).
        callbacks_extra: more Keras callbacks, passed to `training.train` (for programs that embed train.py).
    """
    args = parse_args(argv)
    try:
        from gan3d_tf import training

        # first: a multi-worker strategy configures TensorFlow's collective ops, which it refuses once an op has run
        strategy = training.make_strategy("multiworker") if args.strategy == "multiworker" else None
        config, run_dir = resolve_config(args)
        training.check_run_dir(run_dir, args.resume)
        data = training.load_training_data(config)
        print(f"training on {len(data.voxels)} {config.data.category} shapes from {data.source} "
              f"at {config.model.resolution}^3 (skipped {data.n_empty_skipped} empty grids, "
              f"{data.n_nonfinite_skipped} holding NaN or inf) -> {run_dir}",
              flush=True)
        strategy = strategy or training.make_strategy(args.strategy)
        role = training.worker_role(strategy)
        training.check_algorithm(config.algorithm, role)
    except (ValueError, FileNotFoundError, FileExistsError) as e:
        print(f"train.py: error: {e}", file=sys.stderr)
        return 2
    where = "" if role.task_type is None else (f"; this is {role.task_type} {role.task_id} of {role.n_workers} "
                                               f"workers, {'the chief' if role.is_chief else 'not the chief'}")
    print(f"strategy: {type(strategy).__name__} with {strategy.num_replicas_in_sync} replica(s){where}", flush=True)
    if role.is_chief:  # the other workers of a multi-worker run write nothing into the run directory
        os.makedirs(run_dir, exist_ok=True)
        with open(os.path.join(run_dir, "commands.txt"), "a") as log:  # every invocation, for a shipped model's metadata
            log.write(" ".join(["python", "train.py", *(sys.argv[1:] if argv is None else argv)]) + "\n")
    verbose = 0 if args.quiet else (1 if sys.stdout.isatty() else 2)  # progress bar on a terminal, epoch lines in logs
    try:
        training.train(config, run_dir, resume=args.resume, strategy=strategy, data=data, verbose=verbose,
                       callbacks_extra=callbacks_extra)
    except training.NonFiniteError as e:
        print(f"train.py: error: {e}\n(lower the learning rates, or resume: python train.py --resume --out {run_dir})",
              file=sys.stderr)
        return 3
    if not role.is_chief:
        print(f"done: {role.task_type} {role.task_id}; the chief wrote {run_dir}", flush=True)
        return 0
    print(f"done: {run_dir}/{'encoder' if config.algorithm == 'vaegan' else 'generator'}.keras", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
