"""Throughput benchmark (`python -m gan3d_tf.bench ...`, prints one JSON object; see `gan3d_tf.bench.cli`).

Layout (dependencies point down the list, never up):
    cli.py            the command line (`main`); __main__.py runs it
    torch_compare.py  fresh measurement subprocesses, TF alternated with `benchmarks/torch_reference.py`
    measurements.py   timings in this process: train steps, generator, `profile`, views, built-in shapes, SVMs
    flops.py          FLOP counts of a train step and of the generator, GFLOP/s of a run (`efficiency`)
    system.py         CPU model and ISA flags, TensorFlow's settings, the float32 matmul peak, `median_seconds`
"""

from gan3d_tf.bench.cli import main
from gan3d_tf.bench.flops import (
    FLOP_CONVENTION,
    conv_macs,
    discriminator_flops,
    efficiency,
    generator_flops,
    train_step_flops,
)
from gan3d_tf.bench.measurements import (
    DEFAULT_BATCH,
    SVM_SOLVERS,
    StepTimer,
    bench_config,
    measure,
    measure_builtin,
    measure_svm,
    measure_views,
    profile,
)
from gan3d_tf.bench.system import (
    ISA_FLAGS,
    PEAK_N,
    PEAK_REPEATS,
    cpu_info,
    matmul_peak_gflops,
    median_seconds,
    system_info,
    tensorflow_info,
)
from gan3d_tf.bench.torch_compare import (
    MEDIAN_KEYS,
    RATIO_KEYS,
    TORCH_MISSING,
    TORCH_REFERENCE,
    compare,
    run_json,
    summarize,
    tf_command,
    torch_command,
    torch_importable,
)

__all__ = [
    "DEFAULT_BATCH",
    "FLOP_CONVENTION",
    "ISA_FLAGS",
    "MEDIAN_KEYS",
    "PEAK_N",
    "PEAK_REPEATS",
    "RATIO_KEYS",
    "SVM_SOLVERS",
    "TORCH_MISSING",
    "TORCH_REFERENCE",
    "StepTimer",
    "bench_config",
    "compare",
    "conv_macs",
    "cpu_info",
    "discriminator_flops",
    "efficiency",
    "generator_flops",
    "main",
    "matmul_peak_gflops",
    "measure",
    "measure_builtin",
    "measure_svm",
    "measure_views",
    "median_seconds",
    "profile",
    "run_json",
    "summarize",
    "system_info",
    "tensorflow_info",
    "tf_command",
    "torch_command",
    "torch_importable",
    "train_step_flops",
]
