"""Typed run configuration with named presets.

A run is fully described by one `Config` (model, optimisation, data). `train.py`
starts from a preset, applies command-line overrides, validates the result and
writes it to `RUN_DIR/config.json`; `--resume` reads it back from there.

Presets:
    paper64:    the paper's 3D-GAN at 64^3 (Wu et al. 2016, Sec. 3.1 and 4.1).
    modelnet32: the same pattern one stage shorter, for the 32^3 ModelNet data.
    smoke:      a narrow 32^3 model that trains in minutes on 2 CPU cores;
                used by the tests and for quick checks (VAE-GAN: 64^2 images).
    chair32:    a stabilised recipe beside the paper's (not the paper's), the
                default on a machine without a GPU: the paper's loss (BCE from
                logits) without its accuracy gate, at the smoke widths, with a
                layer-norm D that sees a minibatch-stddev channel (against
                mode collapse), Adam 2e-4 for both networks (DCGAN's), G's
                output bias started at the chairs' occupancy, and a moving
                average of G for samples and export. Held-out shapes (10 % of
                the training shapes) are scored every 5 epochs. (3D-IWGAN's
                WGAN-GP, its first definition, drew empty grids after 1,800
                steps: docs/experiments/2026-12-01-recipes.md.)
"""

from __future__ import annotations

import dataclasses
import json
import math
from dataclasses import dataclass, field
from pathlib import Path

from gan3d_tf.config.options import option
from gan3d_tf.config.recipe import VAEGAN_REFUSES, GANRecipe

Z_DISTRIBUTIONS = ("uniform", "normal")
D_NORMS = ("batch", "layer", "none", "spectral")  # normalisations of D's hidden convs (gan3d_tf.models.discriminator)
RUN_GROUP = "run directory, checkpoints and logs"  # train.py's --help group of the reporting flags
_POSITIVE = (lambda v: v > 0, "> 0")
_NON_NEGATIVE = (lambda v: v >= 0, ">= 0 (0: off)")
_UNIT = (lambda v: 0 <= v < 1, "in [0, 1)")


def _tuple_fields(config, names) -> None:
    """Stores the named fields of a frozen dataclass as tuples (JSON and argparse give lists)."""
    for name in names:
        object.__setattr__(config, name, tuple(getattr(config, name)))


@dataclass(frozen=True)
class ModelConfig:
    """Architecture of G and D."""

    resolution: int = 64  # voxels per side of the occupancy grid (R^3)
    z_dim: int = 200  # size of the latent vector z
    z_distribution: str = "uniform"  # "uniform": i.i.d. U[0,1] (authors' release); "normal": N(0,1)
    g_widths: tuple[int, ...] = (512, 256, 128, 64)  # G channels at 4^3, 8^3, ... R/2^3 (then 1 channel at R^3)
    d_widths: tuple[int, ...] = (64, 128, 256, 512)  # D channels at R/2^3, ... 4^3 (then one logit)
    leaky_slope: float = 0.2  # negative slope of D's LeakyReLU
    bn_momentum: float = 0.9  # batch-norm moving-average momentum (Torch's 0.1 in Keras terms)
    g_output_bias: float | None = None  # None: no bias in G (paper); else the initial bias of G's last layer, a logit
    # (-3.4: G starts near 3.3 % occupancy, ModelNet10 chairs, instead of 0.5 everywhere)
    d_norm: str = "batch"  # D's normalisation after hidden convs 2..n: "batch" (paper), "layer", "none", "spectral"
    d_minibatch_std: int = 0  # 0: off (paper); else group size of D's minibatch-stddev channel (anti-collapse, ProGAN)

    def __post_init__(self):
        _tuple_fields(self, ("g_widths", "d_widths"))

    def validate(self) -> None:
        """Raises ValueError naming the first inconsistent field."""
        for name in ("g_widths", "d_widths"):
            widths = getattr(self, name)
            if not widths or any(int(w) <= 0 for w in widths):
                raise ValueError(f"{name} must be a non-empty list of positive ints, got {widths}")
            expected = 4 * 2 ** len(widths)
            if expected != self.resolution:
                valid = self.resolution >= 8 and self.resolution == 4 * 2 ** _log2(self.resolution // 4)
                fix = (
                    f"use {_log2(self.resolution // 4)} stages"
                    if valid
                    else f"resolution must be 4 * 2^k (8, 16, 32, 64, 128, ...), got {self.resolution}"
                )
                raise ValueError(
                    f"{name}={list(widths)} has {len(widths)} stages, which gives a "
                    f"{expected}^3 grid, but resolution={self.resolution}; {fix}"
                )
        if self.z_dim <= 0:
            raise ValueError(f"z_dim must be positive, got {self.z_dim}")
        if self.z_distribution not in Z_DISTRIBUTIONS:
            raise ValueError(f"z_distribution must be one of {Z_DISTRIBUTIONS}, got {self.z_distribution!r}")
        if self.d_minibatch_std < 0:
            raise ValueError(f"d_minibatch_std must be >= 0 (0: off), got {self.d_minibatch_std}")
        if self.d_norm not in D_NORMS:
            raise ValueError(f"d_norm must be one of {D_NORMS}, got {self.d_norm!r}")


@dataclass(frozen=True)
class TrainConfig(GANRecipe):
    """Optimisation: the train step's recipe (`GANRecipe`) and the run's length, optimisers and reporting.

    Defaults are the paper's (Sec. 4.1). Fields declared with `option` give train.py its flags and
    docs/design.md its table of training options.
    """

    g_learning_rate: float = option(0.0025, "Adam step size of G (paper 0.0025)", flag="--g-lr", check=_POSITIVE)
    d_learning_rate: float = option(1e-5, "Adam step size of D (paper 1e-5)", flag="--d-lr", check=_POSITIVE)
    beta_1: float = option(0.5, "Adam beta_1 of both optimizers", check=_UNIT, via="--betas")
    beta_2: float = option(0.999, "Adam beta_2 of both optimizers (3D-IWGAN: 0.9)", check=_UNIT, via="--betas")
    batch_size: int = option(
        100, "global batch size (split across replicas)", flag="--batch-size", check=(lambda v: v >= 1, ">= 1")
    )
    epochs: int = option(
        100,
        "total epochs to reach (a resumed run continues up to this)",
        flag="--epochs",
        check=(lambda v: v >= 1, ">= 1"),
    )
    monitor_every_epochs: int = option(
        0,
        "score fixed-z samples against the held-out shapes (COV, MMD, 1-NNA) every N epochs (TensorBoard and "
        "console; 0: off)",
        flag="--monitor-every",
        metavar="N",
        group=RUN_GROUP,
        check=_NON_NEGATIVE,
    )
    monitor_samples: int = option(
        64, "samples (fixed z) scored by the generation monitor", check=(lambda v: v >= 2, ">= 2")
    )
    stop_at_gate: bool = option(
        False,
        "stop at the first monitor reading that passes the quality gate "
        "(gan3d_tf.metrics.gate; needs the monitor); the time-to-gate benchmark sets it",
    )
    mixed_precision: bool = option(
        False, "bf16 compute on CPU, fp16 with loss scaling on GPU; variables stay float32", flag="--mixed-precision"
    )
    sample_every_epochs: int = option(
        1, "write the fixed-z sample grid (PNG + TensorBoard) every N epochs", check=(lambda v: v >= 1, ">= 1")
    )
    mesh_samples: int = option(
        4,
        "fixed-z samples also sent as 3D meshes to TensorBoard's Mesh dashboard with each sample grid (about "
        "70 kB each at 32^3; 0: off)",
        flag="--mesh-samples",
        metavar="N",
        group=RUN_GROUP,
        check=_NON_NEGATIVE,
    )
    log_every_steps: int = option(
        0,
        "also log the training scalars to TensorBoard every N steps (RUN_DIR/logs/steps, against the step "
        "count over all epochs; 0: per epoch only)",
        flag="--log-every-steps",
        metavar="N",
        group=RUN_GROUP,
        check=_NON_NEGATIVE,
    )
    checkpoint_every_steps: int = option(
        0,
        "also checkpoint every N steps within an epoch (0: off; epoch ends always)",
        flag="--checkpoint-every-steps",
        metavar="N",
        group=RUN_GROUP,
        check=_NON_NEGATIVE,
    )
    checkpoint_every_minutes: float = option(
        10.0,
        "also checkpoint when M minutes passed since the last save (0: off): a killed run loses at most "
        "this much; --resume continues from the last save, bit for bit",
        flag="--checkpoint-every-minutes",
        metavar="M",
        group=RUN_GROUP,
        check=_NON_NEGATIVE,
    )
    init_from: str | None = option(
        None,
        "fine-tune: the run directory whose trained networks (G, D and, between VAE-GANs, E) this run starts "
        "from; optimisers, epoch count and views start fresh",
        values="a run directory",
        via="--init-from",
    )

    def validate(self) -> None:
        """Raises ValueError naming the first out-of-range field."""
        self.check()
        if self.stop_at_gate and not self.monitor_every_epochs:
            raise ValueError("stop_at_gate needs the generation monitor: set monitor_every_epochs > 0")


@dataclass(frozen=True)
class DataConfig:
    """Where the training shapes come from."""

    category: str = "chair"  # class name to train on, several joined by commas, or "all" for every class
    path: str | None = None  # ModelNet-style .npz (X_train, y_train, ...); None = built-in procedural shapes
    builtin_size: int = 1000  # number of procedural shapes generated when path is None
    val_fraction: float = 0.0  # fraction of the training shapes held out (seeded) to score generation; never trained on

    def validate(self) -> None:
        """Raises ValueError for a non-positive builtin_size or a val_fraction outside [0, 0.5]."""
        if self.builtin_size < 1:
            raise ValueError(f"builtin_size must be >= 1, got {self.builtin_size}")
        if not 0 <= self.val_fraction <= 0.5:
            raise ValueError(f"val_fraction must be in [0, 0.5], got {self.val_fraction}")


ALGORITHMS = ("gan", "vaegan")
RECIPES = ("joint", "separate", "latent")  # 3D-VAE-GAN training recipes (VAEGANConfig.recipe)
FIXED_G_RECIPES = ("separate", "latent")  # recipes that keep the G of a trained 3D-GAN fixed
LATENT_LOSSES = ("direction", "squared")  # the "latent" recipe's loss on z (gan3d_tf.models.vaegan3d)
RECON_LOSSES = ("l2", "bce")  # the 3D-VAE-GAN's reconstruction term (VAEGANConfig.recon_loss)
SCENES = ("plain", "room", "photo")  # looks of the 3D-VAE-GAN's training views (gan3d_tf.data.views.SCENES)


@dataclass(frozen=True)
class VAEGANConfig:
    """The 3D-VAE-GAN's image encoder and loss (used when `Config.algorithm` is "vaegan")."""

    image_size: int = 256  # side of the square RGB input image, pixels (the paper's 256)
    e_widths: tuple[int, ...] = (64, 128, 256, 512)  # encoder channels of convs 1-4 (kernels 11,5,5,5; strides 4,2,2,2)
    e_learning_rate: float = 1e-4  # Adam step size of the encoder (not given in the paper)
    kl_weight: float = 5.0  # alpha_1: weight of KL(q(z|y) || p(z)) (paper: 5)
    recon_weight: float = 1e-4  # alpha_2: weight of ||G(E(y)) - x||^2 summed over voxels (paper: 1e-4)
    recon_loss: str = "l2"  # reconstruction term: "l2" (the paper's squared error) or "bce" (binary
    # cross-entropy from G's logits, summed over voxels; keeps a gradient where G's sigmoid saturates)
    recipe: str = "joint"  # "joint": E, G, D from scratch; "separate": G, D fixed (from gan_run, or from
    # train.init_from's run), E trained; "latent" (beyond the paper): G fixed, E regressed onto the z of G's own
    # rendered samples, (image, z) pairs drawn on the fly (gan3d_tf.data.latent_pairs); kl_weight, recon_weight and
    # recon_loss are then unused (fine-tune after with --init-from RUN --recipe separate)
    gan_run: str | None = None  # the trained 3D-GAN whose G (and D) the "separate" and "latent" recipes keep fixed:
    # a run directory, or a model folder with generator.keras and metadata.json (pretrained/<name>; "latent" only)
    latent_loss: str = "direction"  # "latent" recipe: "direction" (the squared error of the mean's direction, at z's
    # norm, plus that of its norm: codes stay on the prior's shell, where G draws shapes) or "squared" (plain squared
    # error: the mean shrinks towards the prior's mean as the image leaves z uncertain, and G draws nothing there)
    render_size: int | None = None  # side at which training views are ray-cast, then resized (None: image_size)
    view_distance: tuple[float, float] = (2.2, 2.8)  # (min, max) camera distance of training views, grid sides;
    # 40 deg field of view: at 2.5 a grid-filling shape spans ~55 % of the image, at 1.6 ~85 %
    scene: str = "plain"  # training views: "plain" (flat object, random background), "room" (textured object
    # on a floor before a wall, camera-like jitter; closer to photographs) or "photo" (a room whose wall and object
    # texture are crops of real photographs shipped with scikit-image/scikit-learn), see gan3d_tf.data.views.make_pair

    def __post_init__(self):
        _tuple_fields(self, ("e_widths", "view_distance"))

    def validate(self) -> None:
        """Raises ValueError naming the first inconsistent field."""
        if self.image_size % 32 or self.image_size < 64:
            raise ValueError(f"vaegan.image_size must be a multiple of 32 (>= 64), got {self.image_size}")
        if len(self.e_widths) != 4 or any(int(w) <= 0 for w in self.e_widths):
            raise ValueError(f"vaegan.e_widths must be 4 positive ints, got {list(self.e_widths)}")
        if not self.e_learning_rate > 0:
            raise ValueError(f"vaegan.e_learning_rate must be > 0, got {self.e_learning_rate}")
        for name in ("kl_weight", "recon_weight"):
            if getattr(self, name) < 0:
                raise ValueError(f"vaegan.{name} must be >= 0, got {getattr(self, name)}")
        if self.recon_loss not in RECON_LOSSES:
            raise ValueError(f"vaegan.recon_loss must be one of {RECON_LOSSES}, got {self.recon_loss!r}")
        if self.recipe not in RECIPES:
            raise ValueError(f"vaegan.recipe must be one of {RECIPES}, got {self.recipe!r}")
        if self.latent_loss not in LATENT_LOSSES:
            raise ValueError(f"vaegan.latent_loss must be one of {LATENT_LOSSES}, got {self.latent_loss!r}")
        if len(self.view_distance) != 2 or not math.sqrt(3.0) / 2.0 < self.view_distance[0] <= self.view_distance[1]:
            raise ValueError(
                f"vaegan.view_distance must be (min, max) with sqrt(3)/2 < min <= max, got {list(self.view_distance)}"
            )
        if self.scene not in SCENES:
            raise ValueError(f"vaegan.scene must be one of {SCENES}, got {self.scene!r}")
        if self.render_size is not None and not 8 <= self.render_size <= self.image_size:
            raise ValueError(f"vaegan.render_size must be in [8, image_size], got {self.render_size}")


@dataclass(frozen=True)
class Config:
    """Everything that defines a run."""

    preset: str = "paper64"  # name of the preset this config started from
    seed: int = 0  # seeds weights, z sampling, data order, training views and procedural shapes
    algorithm: str = "gan"  # "gan": 3D-GAN on voxels; "vaegan": 3D-VAE-GAN on (rendered image, voxels) pairs
    model: ModelConfig = field(default_factory=ModelConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    data: DataConfig = field(default_factory=DataConfig)
    vaegan: VAEGANConfig = field(default_factory=VAEGANConfig)

    def validate(self) -> "Config":
        """Validates every section; returns self for chaining."""
        if self.algorithm not in ALGORITHMS:
            raise ValueError(f"algorithm must be one of {ALGORITHMS}, got {self.algorithm!r}")
        self.model.validate()
        self.train.validate()
        self.data.validate()
        if self.train.loss == "wgan-gp" and self.train.gp_weight > 0 and self.model.d_norm == "batch":
            raise ValueError(
                "loss 'wgan-gp' penalises D's gradient per sample, which batch norm breaks: "
                "set model.d_norm to 'layer', 'none' or 'spectral'"
            )
        if self.train.monitor_every_epochs and not self.data.val_fraction:
            raise ValueError(
                "train.monitor_every_epochs scores samples against held-out training shapes: set data.val_fraction > 0"
            )
        if self.algorithm == "vaegan":
            self.vaegan.validate()
            unhonoured = [
                f"train.{name}={getattr(self.train, name)!r}"
                for name in VAEGAN_REFUSES
                if getattr(self.train, name) != getattr(GANRecipe, name)
            ]
            if unhonoured:
                raise ValueError(
                    f"{', '.join(unhonoured)} do not apply to the 3D-VAE-GAN (algorithm 'vaegan'), "
                    f"whose train step uses the paper's loss, one D pass per step and D's gate only "
                    f"(train.d_acc_threshold): leave them at their defaults"
                )
            v = self.vaegan
            if v.recipe in FIXED_G_RECIPES and not (v.gan_run or self.train.init_from):
                raise ValueError(
                    f"vaegan.recipe {v.recipe!r} needs vaegan.gan_run (a trained 3D-GAN run directory"
                    f"{' or model folder' if v.recipe == 'latent' else ''}) or train.init_from "
                    f"(a run whose G it keeps fixed)"
                )
            if v.gan_run and v.recipe not in FIXED_G_RECIPES:
                raise ValueError(
                    f"vaegan.gan_run ({v.gan_run}) applies to the recipes {FIXED_G_RECIPES} only, "
                    f"not to vaegan.recipe {v.recipe!r}, which trains its own G"
                )
        return self

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    def to_json(self, path: str | Path) -> None:
        Path(path).write_text(json.dumps(self.to_dict(), indent=2) + "\n")

    @classmethod
    def from_dict(cls, d: dict) -> "Config":
        """The config of `d` (a config.json's contents); fields removed since are dropped by `legacy.upgrade`."""
        from gan3d_tf.config.legacy import upgrade

        d = upgrade(d)
        try:
            return cls(
                model=ModelConfig(**d.pop("model", {})),
                train=TrainConfig(**d.pop("train", {})),
                data=DataConfig(**d.pop("data", {})),
                vaegan=VAEGANConfig(**d.pop("vaegan", {})),
                **d,
            )
        except TypeError as e:  # unknown field names
            raise ValueError(f"invalid config: {e}") from e

    @classmethod
    def from_json(cls, path: str | Path) -> "Config":
        return cls.from_dict(json.loads(Path(path).read_text()))

    def replace(self, **sections) -> "Config":
        """Returns a copy with fields replaced; keys are `section.field` or top-level fields."""
        top, parts = {}, {"model": {}, "train": {}, "data": {}, "vaegan": {}}
        for key, value in sections.items():
            if "." in key:
                section, name = key.split(".", 1)
                parts[section][name] = value
            else:
                top[key] = value
        return dataclasses.replace(
            self,
            model=dataclasses.replace(self.model, **parts["model"]),
            train=dataclasses.replace(self.train, **parts["train"]),
            data=dataclasses.replace(self.data, **parts["data"]),
            vaegan=dataclasses.replace(self.vaegan, **parts["vaegan"]),
            **top,
        )


def _log2(n: int) -> int:
    return n.bit_length() - 1


PRESETS: dict[str, Config] = {
    "paper64": Config(preset="paper64"),
    "modelnet32": Config(
        preset="modelnet32",
        model=ModelConfig(resolution=32, g_widths=(512, 256, 128), d_widths=(128, 256, 512)),
    ),
    "smoke": Config(
        preset="smoke",
        model=ModelConfig(resolution=32, z_dim=64, g_widths=(128, 64, 32), d_widths=(32, 64, 128)),
        train=TrainConfig(g_learning_rate=0.0025, d_learning_rate=1e-4, batch_size=32, epochs=5),
        data=DataConfig(builtin_size=512),
        vaegan=VAEGANConfig(image_size=64, e_widths=(16, 32, 64, 128)),
    ),
    "chair32": Config(
        preset="chair32",
        model=ModelConfig(
            resolution=32,
            z_dim=128,
            z_distribution="normal",
            g_widths=(128, 64, 32),
            d_widths=(32, 64, 128),
            g_output_bias=-3.4,
            d_norm="layer",
            d_minibatch_std=4,
        ),
        train=TrainConfig(
            loss="paper",
            g_learning_rate=2e-4,
            d_learning_rate=2e-4,
            beta_1=0.5,
            beta_2=0.999,
            batch_size=32,
            epochs=400,
            d_acc_threshold=1.0,
            d_passes="joint",
            ema_decay=0.999,
            sample_every_epochs=5,
            monitor_every_epochs=5,
        ),
        data=DataConfig(val_fraction=0.1),
    ),
}


def get_preset(name: str) -> Config:
    """Returns the named preset; ValueError lists the valid names."""
    if name not in PRESETS:
        raise ValueError(f"unknown preset {name!r}; choose one of {sorted(PRESETS)}")
    return PRESETS[name]


def parse_set(assignments) -> dict:
    """{"section.field": value} from `--set section.field=VALUE` strings; values are JSON, else plain strings.

    Raises:
        ValueError: an assignment without "=", or a field no section has.
    """
    known = {
        f"{section}.{f.name}"
        for section, cls in (
            ("model", ModelConfig),
            ("train", TrainConfig),
            ("data", DataConfig),
            ("vaegan", VAEGANConfig),
        )
        for f in dataclasses.fields(cls)
    } | {f.name for f in dataclasses.fields(Config) if f.type in ("int", "str")}
    out = {}
    for item in assignments:
        key, sep, text = item.partition("=")
        key = key.strip()
        if not sep:
            raise ValueError(f"--set {item!r}: expected SECTION.FIELD=VALUE")
        if key not in known:
            raise ValueError(f"--set {item!r}: unknown config field {key!r}; fields are {sorted(known)}")
        try:
            out[key] = json.loads(text)
        except json.JSONDecodeError:
            out[key] = text
    return out


def default_preset() -> str:
    """paper64 where TensorFlow sees a GPU, else chair32 (the recipe that learns on a CPU)."""
    import tensorflow as tf

    return "paper64" if tf.config.list_physical_devices("GPU") else "chair32"
