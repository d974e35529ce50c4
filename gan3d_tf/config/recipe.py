"""`GANRecipe`: the options of the 3D-GAN's train step, each declared once (`gan3d_tf.config.options.option`).

`GAN3D(generator, discriminator, recipe)` takes a recipe whole; the run
config's `train` section (`TrainConfig`) is a recipe plus the run's length,
batch, optimisers and reporting. Adding an option to the train step is one
field here and its use in `GAN3D.train_step`: its check, its train.py flag,
its `--set train.NAME` and its row in docs/design.md follow from the field.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from gan3d_tf.config.options import check_options, option

LOSSES = ("paper", "hinge", "wgan-gp")  # GAN losses (gan3d_tf.models.losses)
D_PASSES = ("joint", "separate")  # D passes of a train step (gan3d_tf.models.gan3d)


@dataclass(frozen=True)
class GANRecipe:
    """How `GAN3D` trains G and D. Defaults are the paper's (Sec. 4.1)."""

    d_acc_threshold: float = option(
        0.8,
        "D is updated only when its batch accuracy (real and fake) is <= this (paper: 0.8; 1: every step; < 0: never)",
        flag="--d-acc-threshold",
        check=(lambda v: v <= 1, "<= 1 (an accuracy)"),
    )
    loss: str = option(
        "paper",
        "paper: BCE from logits; hinge; wgan-gp: Wasserstein loss with a per-sample gradient penalty on "
        "random interpolates (3D-IWGAN; needs a D without batch norm and the gate off)",
        flag="--loss",
        choices=LOSSES,
    )
    gp_weight: float = option(
        10.0,
        "weight lambda of WGAN-GP's gradient penalty (loss wgan-gp only)",
        flag="--gp-weight",
        check=(lambda v: v >= 0, ">= 0"),
    )
    n_critic: int = option(
        1,
        "D steps per G step (3D-IWGAN: 5); G's backward pass runs on its own steps only",
        flag="--n-critic",
        check=(lambda v: v >= 1, ">= 1"),
    )
    d_passes: str = option(
        "joint",
        "joint: one D pass over concat(real, fake); separate: all-real and all-fake passes (matters with "
        "batch norm in D only)",
        flag="--d-passes",
        choices=D_PASSES,
    )
    ema_decay: float = option(
        0.0,
        "moving average of G's weights per G step, used for samples, metrics and export; its decay ramps as "
        "min(decay, (1+n)/(10+n)) after n G steps (0: off)",
        flag="--ema-decay",
        check=(lambda v: 0 <= v < 1, "in [0, 1)"),
    )

    min_voxels: int = option(
        0,
        "G's loss adds the mean of relu(-logit) over each sample's min_voxels largest logits: a sample with fewer "
        "filled voxels (p > 0.5) is pushed to fill that many, one with enough is not touched; against G's "
        "near-empty samples, whose saturated sigmoid passes D's gradient no more (0: off; chairs: 55, 5 % of a "
        "train chair's 1,094)",
        flag="--min-voxels",
        check=(lambda v: v >= 0, ">= 0"),
    )

    def check(self) -> GANRecipe:
        """Raises ValueError naming the first field out of range, or two that do not go together; returns self."""
        check_options(self)
        if self.loss == "wgan-gp" and self.d_acc_threshold < 1:
            raise ValueError(
                f"loss 'wgan-gp' scores have no real/fake sign, so D's accuracy gate does not apply: "
                f"set d_acc_threshold to 1, got {self.d_acc_threshold}"
            )
        return self

    @property
    def uses_penalty(self) -> bool:
        """Whether D's loss includes WGAN-GP's gradient penalty."""
        return self.loss == "wgan-gp" and self.gp_weight > 0

    @classmethod
    def of(cls, config) -> GANRecipe:
        """The recipe part of `config` (a `TrainConfig`, or any object with the recipe's fields)."""
        return cls(**{f.name: getattr(config, f.name) for f in dataclasses.fields(cls)})


# The 3D-VAE-GAN's train step honours D's gate only; these fields must keep their defaults there
# (ema_decay is left out: presets set it, and a VAE-GAN run keeps no average whatever it says)
VAEGAN_REFUSES = ("loss", "gp_weight", "n_critic", "d_passes")
