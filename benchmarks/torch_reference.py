"""A same-work PyTorch reference of the 3D-GAN train step and generator, for `python -m gan3d_tf.bench --vs-torch`.

    python benchmarks/torch_reference.py --config CONFIG_JSON --batch-size 32 --steps 5

prints one JSON line: training samples/s, generator shapes/s, the float32
matmul peak measured in the same process, torch's version and thread count.
CONFIG_JSON is a `gan3d_tf.config.Config.to_dict()` as a JSON string; only its
"model" and "train" sections are read, so this file never imports gan3d_tf
(nor TensorFlow) and the process holds torch alone.

The networks have the Keras models' architecture, parameter counts, batch-norm
momentum and epsilon (not their initialisation, which does not change speed),
channels-first. The train step does what `gan3d_tf.models.gan3d.GAN3D.train_step`
does with `d_acc_threshold` 1: z ~ U[0, 1], G forward in training mode, one D
pass over cat(real, fake), BCE-with-logits losses (D: real -> 1, fake -> 0;
G: fake -> 1), D's gradients from D's loss and G's from G's loss (two
`torch.autograd.grad` calls over the one graph, like TF's two tapes), then
Adam on both networks; D is always updated.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import sys
import time

import torch
from torch import nn

BN_EPSILON = 1e-3  # Keras' BatchNormalization default (torch's is 1e-5)
ADAM_EPSILON = 1e-7  # Keras' Adam default (torch's is 1e-8)


class TorchGenerator(nn.Module):
    """z -> widths[0] x 4^3 -> ... -> 1 x R^3, the Keras `Generator`'s layers in channels-first order.

    Args:
        z_dim: size of the latent vector.
        widths: channels of the hidden volumes from 4^3 upwards (R = 4 * 2**len(widths)).
        bn_momentum: Keras-style batch-norm momentum (torch's momentum is 1 - this).
    """

    def __init__(self, z_dim: int, widths, bn_momentum: float = 0.9):
        super().__init__()
        layers, channels = [], z_dim
        for i, width in enumerate(widths):
            stride, padding = (1, 0) if i == 0 else (2, 1)  # k4 s1 valid: 1 -> 4; k4 s2 p1 ("same"): n -> 2n
            layers += [nn.ConvTranspose3d(channels, width, 4, stride, padding, bias=False),
                       nn.BatchNorm3d(width, eps=BN_EPSILON, momentum=1 - bn_momentum), nn.ReLU()]
            channels = width
        layers += [nn.ConvTranspose3d(channels, 1, 4, 2, 1, bias=False), nn.Sigmoid()]
        self.net = nn.Sequential(*layers)
        self.z_dim = z_dim

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        """[batch, z_dim] -> occupancy probabilities [batch, R, R, R]."""
        return self.net(z.view(-1, self.z_dim, 1, 1, 1)).squeeze(1)


class TorchDiscriminator(nn.Module):
    """1 x R^3 -> widths[0] x (R/2)^3 -> ... -> widths[-1] x 4^3 -> one logit, like the Keras `Discriminator`.

    Args:
        widths: channels of the hidden volumes from (R/2)^3 down to 4^3.
        leaky_slope: negative slope of the LeakyReLUs.
        bn_momentum: Keras-style batch-norm momentum (torch's momentum is 1 - this).
    """

    def __init__(self, widths, leaky_slope: float = 0.2, bn_momentum: float = 0.9):
        super().__init__()
        layers, channels = [], 1
        for i, width in enumerate(widths):
            layers.append(nn.Conv3d(channels, width, 4, 2, 1, bias=i == 0))  # k4 s2 p1 ("same"): n -> n/2
            if i > 0:
                layers.append(nn.BatchNorm3d(width, eps=BN_EPSILON, momentum=1 - bn_momentum))
            layers.append(nn.LeakyReLU(leaky_slope))
            channels = width
        layers.append(nn.Conv3d(channels, 1, 4))  # valid: 4^3 -> 1
        self.net = nn.Sequential(*layers)

    def forward(self, voxels: torch.Tensor) -> torch.Tensor:
        """[batch, R, R, R] occupancies -> logits [batch]."""
        return self.net(voxels.unsqueeze(1)).flatten()


def build(config: dict) -> tuple[TorchGenerator, TorchDiscriminator]:
    """G and D described by the "model" section of a `Config.to_dict()`.

    Args:
        config: the dict of a `gan3d_tf.config.Config`.
    """
    m = config["model"]
    return (TorchGenerator(m["z_dim"], m["g_widths"], m["bn_momentum"]),
            TorchDiscriminator(m["d_widths"], m["leaky_slope"], m["bn_momentum"]))


def make_train_step(g: TorchGenerator, d: TorchDiscriminator, g_lr: float, d_lr: float, beta_1: float):
    """A function `step(real)` running one GAN train step (see the module docstring) and returning (d_loss, g_loss).

    Args:
        g: the generator (updated every step).
        d: the discriminator (updated every step).
        g_lr: G's Adam step size.
        d_lr: D's Adam step size.
        beta_1: Adam's beta_1 of both optimizers.
    """
    g_opt = torch.optim.Adam(g.parameters(), lr=g_lr, betas=(beta_1, 0.999), eps=ADAM_EPSILON)
    d_opt = torch.optim.Adam(d.parameters(), lr=d_lr, betas=(beta_1, 0.999), eps=ADAM_EPSILON)
    g_params, d_params = list(g.parameters()), list(d.parameters())
    bce = nn.functional.binary_cross_entropy_with_logits

    def step(real: torch.Tensor) -> tuple[float, float]:
        g.train()
        d.train()
        batch = real.shape[0]
        fake = g(torch.rand(batch, g.z_dim))
        logits = d(torch.cat([real, fake]))
        real_logits, fake_logits = logits[:batch], logits[batch:]
        d_loss = bce(real_logits, torch.ones_like(real_logits)) + bce(fake_logits, torch.zeros_like(fake_logits))
        g_loss = bce(fake_logits, torch.ones_like(fake_logits))
        d_grads = torch.autograd.grad(d_loss, d_params, retain_graph=True)
        g_grads = torch.autograd.grad(g_loss, g_params)
        for params, grads, opt in ((g_params, g_grads, g_opt), (d_params, d_grads, d_opt)):
            for p, grad in zip(params, grads):
                p.grad = grad
            opt.step()
        return d_loss.item(), g_loss.item()

    return step


def median_seconds(fn, repeats: int, warmup: int) -> float:
    """Median wall time of `repeats` calls of `fn` after `warmup` untimed calls.

    Args:
        fn: the function to time (no arguments).
        repeats: timed calls.
        warmup: untimed calls first.
    """
    for _ in range(warmup):
        fn()
    seconds = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        seconds.append(time.perf_counter() - start)
    return statistics.median(seconds)


def matmul_peak_gflops(n: int, repeats: int) -> float:
    """float32 n x n torch.matmul GFLOP/s (2 n^3 per product), median of `repeats` after one warm-up.

    Args:
        n: matrix side.
        repeats: timed products.
    """
    a, b = torch.rand(n, n), torch.rand(n, n)
    return 2 * n**3 / median_seconds(lambda: torch.matmul(a, b), repeats, warmup=1) / 1e9


def measure(config: dict, batch_size: int, steps: int, peak_n: int, peak_repeats: int) -> dict:
    """Times train steps (2 warm-up, median of `steps`) and generator inference (1 warm-up, median of `steps`).

    Args:
        config: the dict of a `gan3d_tf.config.Config` (its "model" and "train" sections are used).
        batch_size: shapes per train step and per generator batch.
        steps: timed train steps and generator batches.
        peak_n: side of the matmul of the peak measurement.
        peak_repeats: timed products of the peak measurement.
    """
    torch.set_num_threads(os.cpu_count())
    torch.manual_seed(0)
    peak = matmul_peak_gflops(peak_n, peak_repeats)
    g, d = build(config)
    t = config["train"]
    step = make_train_step(g, d, t["g_learning_rate"], t["d_learning_rate"], t["beta_1"])
    r = config["model"]["resolution"]
    real = (torch.rand(batch_size, r, r, r) < 0.1).float()
    train_s = median_seconds(lambda: step(real), steps, warmup=2)

    g.eval()
    z = torch.rand(batch_size, g.z_dim)

    def infer():
        with torch.no_grad():
            g(z)

    gen_s = median_seconds(infer, steps, warmup=1)
    return {
        "framework": "torch",
        "preset": config["preset"],
        "resolution": r,
        "precision": "float32",
        "batch_size": batch_size,
        "steps": steps,
        "train_step_s": round(train_s, 4),
        "generator_batch_s": round(gen_s, 4),
        "train_samples_per_s": round(batch_size / train_s, 3),
        "generator_shapes_per_s": round(batch_size / gen_s, 3),
        "matmul_peak_gflops": round(peak, 1),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "torch": torch.__version__,
        "torch_threads": torch.get_num_threads(),
        "torch_interop_threads": torch.get_num_interop_threads(),
        "torch_cpu_capability": torch.backends.cpu.get_cpu_capability(),
    }


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--config", required=True, help="a gan3d_tf Config.to_dict() as a JSON string")
    p.add_argument("--batch-size", type=int, required=True)
    p.add_argument("--steps", type=int, default=5, help="timed steps per measurement")
    p.add_argument("--peak-n", type=int, default=4096, help="side of the float32 matmul of the peak measurement")
    p.add_argument("--peak-repeats", type=int, default=3, help="timed matmuls of the peak measurement")
    args = p.parse_args(argv)
    print(json.dumps(measure(json.loads(args.config), args.batch_size, args.steps, args.peak_n, args.peak_repeats)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
