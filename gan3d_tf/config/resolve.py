"""From train.py's flags to a run's `Config`: presets, overrides, resume and fine-tuning rules.

A new run starts from a preset (`default_preset()` when none is named), the
flags and `--set SECTION.FIELD=VALUE` override its fields; a resumed run
keeps its saved config (only `RESUMABLE` fields may change); a run started
with `--init-from` keeps its source's architecture (`ARCHITECTURE`).
"""

from __future__ import annotations

import dataclasses
import os

from gan3d_tf.config.core import Config, TrainConfig, default_preset, get_preset, parse_set
from gan3d_tf.config.options import options


def option_flags() -> dict[str, str]:
    """{flag's dest: "train.FIELD"} of the training options that have a flag (`TrainConfig`'s field metadata)."""
    return {
        f.metadata["flag"].lstrip("-").replace("-", "_"): f"train.{f.name}"
        for f in options(TrainConfig)
        if f.metadata["flag"]
    }


# flag -> config field it sets (None defaults mean "not given"); the training options' flags come from their fields
OVERRIDES = {
    "category": "data.category",
    "data": "data.path",
    "builtin_size": "data.builtin_size",
    "val_fraction": "data.val_fraction",
    "z_prior": "model.z_distribution",
    "d_norm": "model.d_norm",
    "seed": "seed",
    "init_from": "train.init_from",
    "betas": ("train.beta_1", "train.beta_2"),
    **option_flags(),
    "model": "algorithm",
    "recipe": "vaegan.recipe",
    "gan_run": "vaegan.gan_run",
    "image_size": "vaegan.image_size",
    "e_lr": "vaegan.e_learning_rate",
    "kl_weight": "vaegan.kl_weight",
    "recon_weight": "vaegan.recon_weight",
    "recon_loss": "vaegan.recon_loss",
    "view_distance": "vaegan.view_distance",
    "scene": "vaegan.scene",
}
# fields a resumed run may change: they decide how long it trains and what it reports, not what it learns
RESUMABLE = (
    "train.epochs",
    "train.monitor_every_epochs",
    "train.monitor_samples",
    "train.sample_every_epochs",
    "train.checkpoint_every_steps",
    "train.checkpoint_every_minutes",
    "train.log_every_steps",
    "train.mesh_samples",
)


def resolve_config(args) -> tuple[Config, str]:
    """The run's config and directory from train.py's flags (and, on resume, the saved config).

    Args:
        args: the parsed flags (an `argparse.Namespace` or anything with the
            flags as attributes); None means "not given".

    Raises:
        ValueError / FileNotFoundError: naming the flag and the problem.
    """
    given = {}
    for flag, fields in OVERRIDES.items():
        value = getattr(args, flag)
        if value is not None:
            given.update(zip(fields, value) if isinstance(fields, tuple) else {fields: value})
    given.update(parse_set(args.set))
    if args.resume:
        out = args.out if args.out is not None else new_run_dir(args, given)
        path = os.path.join(out, "config.json")
        if not os.path.isfile(path):
            default = (
                ""
                if args.out is not None
                else ", the default run directory of these flags; name the run with --out RUN_DIR"
            )
            raise FileNotFoundError(f"--resume: {path} not found; is {out} a run directory{default}?")
        saved = Config.from_json(path)
        if args.preset is not None and args.preset != saved.preset:
            raise ValueError(f"--preset {args.preset} differs from the run's preset {saved.preset}")
        data = given.get("data.path")
        if data is not None and data != saved.data.path and data_set_file(data, saved) == saved.data.path:
            given["data.path"] = saved.data.path  # --data NAME names the file the run was given
        for field, old in changed_fields(saved, given).items():
            if field not in RESUMABLE:
                raise ValueError(
                    f"--{flag_of(field)} {given[field]} differs from the run's saved "
                    f"{field}={old}; a resumed run keeps its config (only --epochs, the "
                    f"monitoring and the checkpointing fields may change)"
                )
        return saved.replace(**given).validate(), out
    if args.init_from is not None:
        return init_config(args, given)
    check_vaegan_flags(args, args.model)
    preset = args.preset or default_preset()
    if args.preset is None:
        print(
            f"preset: {preset} (the default {'with a GPU' if preset == 'paper64' else 'on a machine without a GPU'}; "
            f"--preset paper64 for the paper's 64^3 recipe)",
            flush=True,
        )
    config = get_preset(preset).replace(**given)
    if config.vaegan.recipe == "separate" and config.vaegan.gan_run:
        path = os.path.join(config.vaegan.gan_run, "config.json")
        if not os.path.isfile(path):
            raise FileNotFoundError(f"--gan-run: {path} not found; is {config.vaegan.gan_run} a 3D-GAN run directory?")
        gan = Config.from_json(path)  # the separate recipe keeps the 3D-GAN's architecture
        config = dataclasses.replace(config, model=gan.model)
    if config.vaegan.recipe == "latent" and config.vaegan.gan_run:  # a run directory or a model folder
        from gan3d_tf.training.run_dir import trained_config

        config = dataclasses.replace(config, model=trained_config(config.vaegan.gan_run, "--gan-run").model)
    config = config.validate()
    return config, args.out or default_out(config)


def new_run_dir(args, given: dict) -> str:
    """The run directory a new run of these flags would get (`--resume` without `--out` resumes it).

    Args:
        args: the parsed flags.
        given: the config fields they set.
    """
    if args.init_from is not None:
        return init_config(args, given)[1]
    return default_out(get_preset(args.preset or default_preset()).replace(**given))


def data_set_file(value: str, config: Config) -> str | None:
    """The cached file a data set name (`gan3d_tf.datasets`) stands for in a run of `config`, else None.

    Args:
        value: `--data`'s value.
        config: the run's config (its resolution picks the file).
    """
    from gan3d_tf.datasets import cache_resolution, data_set_name, npz_path

    name = data_set_name(value)
    return None if name is None else str(npz_path(name, cache_resolution(config.model.resolution)))


def default_out(config: Config, tag: str = "") -> str:
    """runs/<category>-<preset>[-vaegan]<tag>, the run directory when --out is not given."""
    suffix = "-vaegan" if config.algorithm == "vaegan" else ""
    return os.path.join("runs", f"{config.data.category.replace(',', '+')}-{config.preset}{suffix}{tag}")


# fields a run started with --init-from keeps from its source: the trained weights fix them
ARCHITECTURE = ("model.", "vaegan.image_size", "vaegan.e_widths")


def flag_of(field: str) -> str:
    """The command-line flag (without "--") that sets config `field`."""
    for flag, f in OVERRIDES.items():
        if field == f or (isinstance(f, tuple) and field in f):
            return flag.replace("_", "-")
    return f"set {field}="


def changed_fields(saved: Config, given: dict) -> dict:
    """{field: saved value} of the `given` overrides that would change `saved` (compared as stored)."""
    current, asked = saved.to_dict(), saved.replace(**given).to_dict()
    changed = {}
    for field in given:
        section, _, name = field.rpartition(".")
        old, new = (current[section][name], asked[section][name]) if section else (current[name], asked[name])
        if new != old:
            changed[field] = old
    return changed


def check_vaegan_flags(args, algorithm: str | None) -> None:
    """Refuses 3D-VAE-GAN flags for a run that is not one, and --ema-decay for one (they would be ignored)."""
    if algorithm == "vaegan" and getattr(args, "ema_decay", None) is not None:
        raise ValueError("--ema-decay does not apply to --model vaegan: the 3D-VAE-GAN keeps no average of G")
    if algorithm != "vaegan":
        for flag in (flag for flag, field in OVERRIDES.items() if str(field).startswith("vaegan.")):
            if getattr(args, flag) is not None:
                raise ValueError(f"--{flag.replace('_', '-')} applies to --model vaegan only")


def init_config(args, given: dict) -> tuple[Config, str]:
    """The config of a run started from `--init-from RUN`: RUN's config with the given flags applied."""
    path = os.path.join(args.init_from, "config.json")
    if not os.path.isfile(path):
        raise FileNotFoundError(f"--init-from: {path} not found; is {args.init_from} a run directory?")
    if args.preset is not None:
        raise ValueError(
            f"--preset does not apply with --init-from: the run keeps the architecture of {args.init_from}"
        )
    source = Config.from_json(path)
    check_vaegan_flags(args, given.get("algorithm", source.algorithm))
    if args.gan_run is not None:
        raise ValueError(f"--gan-run does not apply with --init-from: G and D come from {args.init_from}")
    for field, old in changed_fields(source, given).items():
        if field.startswith(ARCHITECTURE):
            raise ValueError(
                f"--{flag_of(field)} {given[field]} differs from {args.init_from}'s {field}={old}; "
                f"its trained weights fix the architecture"
            )
    config = source.replace(**given).validate()
    return config, args.out or default_out(config, "-ft")
