"""FLOP counts of a GAN3D train step and of generator inference, and the GFLOP/s they give a measured run."""

from __future__ import annotations

FLOP_CONVENTION = (
    "2 FLOPs per multiply-add of every conv / transposed conv (padding zeros included, BN and activations "
    "ignored); train step = G forward (B) + D forward (2B) + D weight and input grads (2 x D forward on 2B) "
    "+ D input grads on the fake half (D forward on B) + G weight and input grads (2 x G forward on B)"
)


def conv_macs(m) -> tuple[list[int], list[int]]:
    """Multiply-adds per sample of every conv of G and of D, layer by layer in forward order.

    A conv with kernel k^3 costs (output voxels) x c_out x k^3 x c_in; a
    transposed conv, which scatters each input voxel onto k^3 outputs,
    (input voxels) x c_in x k^3 x c_out. Padding zeros count (the kernels
    compute them).

    Args:
        m: a `ModelConfig` (z_dim, g_widths, d_widths, resolution).
    """
    k3 = 4**3
    g, side, channels = [], 1, m.z_dim  # z is a 1^3 volume with z_dim channels
    for width in (*m.g_widths, 1):
        g.append(side**3 * channels * k3 * width)
        side, channels = (4 if side == 1 else 2 * side), width
    d, side, channels = [], m.resolution, 1
    for width in m.d_widths:
        side //= 2
        d.append(side**3 * width * k3 * channels)
        channels = width
    d.append(k3 * channels)  # valid 4^3 conv to one logit
    return g, d


def generator_flops(m, batch_size: int = 1) -> int:
    """FLOPs of one generator forward pass over `batch_size` latents (2 per multiply-add, see `conv_macs`).

    Args:
        m: a `ModelConfig`.
        batch_size: shapes generated.
    """
    return 2 * sum(conv_macs(m)[0]) * batch_size


def discriminator_flops(m, batch_size: int = 1) -> int:
    """FLOPs of one discriminator forward pass over `batch_size` grids (2 per multiply-add, see `conv_macs`).

    Args:
        m: a `ModelConfig`.
        batch_size: grids scored.
    """
    return 2 * sum(conv_macs(m)[1]) * batch_size


def train_step_flops(m, batch_size: int) -> int:
    """FLOPs of one GAN3D train step on `batch_size` real shapes, counted from the architecture.

    Convention (B = batch_size; F_G(n), F_D(n) = forward FLOPs of G, D on n
    samples, 2 per multiply-add of every conv and transposed conv including
    padding zeros; batch norm, activations, losses and Adam are ignored; a
    layer's backward counts 2x its forward, one for the weight gradient and
    one for the input gradient, and an input-gradient-only pass 1x):

        G forward on B                                      F_G(B)
        D forward on 2B = concat(real, fake)                F_D(2B)
        D backward of D's loss, weight + input grads, 2B    2 F_D(2B)
        G's loss back through D to the fake half: D input
        grads on B (D's weights need no grad here)          F_D(B)
        G backward of G's loss, weight + input grads, B     2 F_G(B)
        total                                               3 F_G(B) + 7 F_D(B)

    Against what the frameworks execute, this convention counts two input
    gradients that neither computes (w.r.t. z through G's first layer, and
    through D's first conv in D's own backward: 1.6 % of the total for
    smoke, under 1 % for modelnet32 and paper64), and leaves out that both
    run the input-gradient pass of G's loss through D over all 2B samples
    (the real half gets zero gradients), F_D(B) more.

    Args:
        m: a `ModelConfig`.
        batch_size: real shapes per step (B).
    """
    return 3 * generator_flops(m, batch_size) + 7 * discriminator_flops(m, batch_size)


def efficiency(run: dict, m) -> dict:
    """Achieved GFLOP/s of a measured run and their fraction of its matmul peak.

    Args:
        run: a result of `measure` or of the torch reference (train_step_s,
            generator_batch_s, batch_size, matmul_peak_gflops).
        m: the run's `ModelConfig`.
    """
    train = train_step_flops(m, run["batch_size"]) / run["train_step_s"] / 1e9
    gen = generator_flops(m, run["batch_size"]) / run["generator_batch_s"] / 1e9
    return {
        "train_gflops": round(train, 2),
        "train_fraction_of_peak": round(train / run["matmul_peak_gflops"], 3),
        "generator_gflops": round(gen, 2),
        "generator_fraction_of_peak": round(gen / run["matmul_peak_gflops"], 3),
    }
