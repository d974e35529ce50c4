"""The benchmark's FLOP counter, CPU report, torch reference and --vs-torch without torch (nothing is timed)."""

import json

import pytest

from gan3d_tf import bench
from gan3d_tf.config import ModelConfig, get_preset


def test_flops_one_stage_by_hand():
    # 8^3 model: G 2 -> 3x4^3 -> 1x8^3, D 1x8^3 -> 5x4^3 -> logit. Kernels are 4^3 = 64 taps.
    m = ModelConfig(resolution=8, z_dim=2, g_widths=(3,), d_widths=(5,))
    g = [
        1 * 2 * 64 * 3,  # deconv1: 1 input voxel x 2 ch x 64 taps x 3 ch
        4**3 * 3 * 64 * 1,
    ]  # deconv2: 4^3 input voxels x 3 ch x 64 taps x 1 ch
    d = [
        4**3 * 5 * 64 * 1,  # conv1: 4^3 output voxels x 5 ch x 64 taps x 1 ch
        1 * 1 * 64 * 5,
    ]  # conv2 (valid): 1 output x 1 ch x 64 taps x 5 ch
    assert bench.conv_macs(m) == (g, d)
    assert bench.generator_flops(m) == 2 * (384 + 12288)
    assert bench.discriminator_flops(m, 3) == 3 * 2 * (20480 + 320)
    # G fwd (B) + D fwd (2B) + D bwd (2 x 2B) + D input grads (B) + G bwd (2 x B) = 3 F_G + 7 F_D per sample
    assert bench.train_step_flops(m, 4) == 4 * (3 * 2 * 12672 + 7 * 2 * 20800)


def test_flops_smoke_preset_by_hand():
    m = get_preset("smoke").model  # 32^3, z 64, G (128, 64, 32), D (32, 64, 128)
    g_macs = [
        1 * 64 * 64 * 128,  # z (1^3 x 64) -> 128 x 4^3
        4**3 * 128 * 64 * 64,  # -> 64 x 8^3
        8**3 * 64 * 64 * 32,  # -> 32 x 16^3
        16**3 * 32 * 64 * 1,
    ]  # -> 1 x 32^3
    d_macs = [
        16**3 * 32 * 64 * 1,  # 1 x 32^3 -> 32 x 16^3
        8**3 * 64 * 64 * 32,  # -> 64 x 8^3
        4**3 * 128 * 64 * 64,  # -> 128 x 4^3
        1 * 1 * 64 * 128,
    ]  # -> logit
    assert sum(g_macs) == 109_576_192 and sum(d_macs) == 109_060_096
    assert bench.conv_macs(m) == (g_macs, d_macs)
    assert bench.generator_flops(m) == 219_152_384
    assert bench.train_step_flops(m, 32) == 32 * (3 * 219_152_384 + 7 * 218_120_192)


CPUINFO = """processor\t: 0
vendor_id\t: GenuineIntel
model name\t: Intel(R) Xeon(R) Platinum 8480+
flags\t\t: fpu vme sse sse2 avx avx2 fma avx512f avx512bw avx512_bf16 amx_bf16 amx_tile amx_int8

processor\t: 1
model name\t: Intel(R) Xeon(R) Platinum 8480+
flags\t\t: fpu vme sse sse2 avx avx2 fma avx512f avx512bw avx512_bf16 amx_bf16 amx_tile amx_int8
"""


def test_cpu_info_parses_model_and_isa_flags():
    info = bench.cpu_info(CPUINFO)
    assert info["model"] == "Intel(R) Xeon(R) Platinum 8480+"
    assert info["isa"] == {"avx2": True, "avx512f": True, "avx512_bf16": True, "amx_bf16": True, "amx_tile": True}
    avx2_only = bench.cpu_info(CPUINFO.replace(" avx512f avx512bw avx512_bf16 amx_bf16 amx_tile amx_int8", ""))
    assert avx2_only["isa"] == {
        "avx2": True,
        "avx512f": False,
        "avx512_bf16": False,
        "amx_bf16": False,
        "amx_tile": False,
    }
    assert bench.cpu_info("processor\t: 0\n")["isa"] is None


def test_torch_reference_matches_keras_parameter_counts():
    torch = pytest.importorskip("torch")
    from benchmarks.torch_reference import build
    from gan3d_tf.training import build_discriminator, build_generator

    config = get_preset("smoke")
    m = config.model
    for keras_net, torch_net in zip((build_generator(m), build_discriminator(m)), build(config.to_dict())):
        trainable = sum(int(w.numpy().size) for w in keras_net.trainable_weights)
        moving = sum(int(w.numpy().size) for w in keras_net.non_trainable_weights)  # batch-norm statistics
        assert trainable == sum(p.numel() for p in torch_net.parameters())
        assert moving == sum(b.numel() for name, b in torch_net.named_buffers() if name.endswith(("_mean", "_var")))
    g, d = build(config.to_dict())
    z = torch.rand(2, m.z_dim)
    assert g(z).shape == (2, 32, 32, 32) and d(g(z)).shape == (2,)


def fake_tf_run(cmd):
    """A TensorFlow measurement result (as `--one` prints) without measuring."""
    assert "--one" in cmd, f"only TF subprocesses expected, got {cmd}"
    return {
        "framework": "tensorflow",
        "preset": cmd[cmd.index("--one") + 1],
        "resolution": 32,
        "precision": "float32",
        "batch_size": 32,
        "steps": 1,
        "train_step_s": 2.0,
        "generator_batch_s": 0.5,
        "train_samples_per_s": 16.0,
        "generator_shapes_per_s": 64.0,
        "matmul_peak_gflops": 100.0,
        "peak_rss_mb": 1000.0,
    }


def test_vs_torch_without_torch_says_so_and_reports_tf_only(capsys):
    code = bench.main(
        ["--vs-torch", "--presets", "smoke", "--steps", "1"], run=fake_tf_run, torch_present=lambda: False
    )
    out = capsys.readouterr()
    assert code == 0
    assert "torch is not installed; pip install torch==2.13.0 for the CPU wheel" in out.err
    report = json.loads(out.out)
    assert report["torch"] is None
    (entry,) = report["results"]
    assert entry["torch"] is None and entry["tf_over_torch"] is None
    assert len(entry["tensorflow"]["runs"]) == 2  # two rounds by default
    flops = bench.train_step_flops(get_preset("smoke").model, 32)
    assert entry["tensorflow"]["train_gflops"] == round(flops / 2.0 / 1e9, 2)
    assert entry["tensorflow"]["train_fraction_of_peak"] == round(flops / 2.0 / 1e9 / 100.0, 3)
    assert set(report["system"]["isa"] or {}) <= set(bench.ISA_FLAGS)
    assert {"onednn_enabled", "TF_ENABLE_ONEDNN_OPTS", "intra_op_threads", "inter_op_threads"} <= set(
        report["tensorflow"]
    )
