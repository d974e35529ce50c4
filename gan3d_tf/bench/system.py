"""The machine a benchmark runs on: CPU model and ISA flags, TensorFlow's settings, the float32 matmul peak.

`median_seconds` is the timer every measurement uses.
"""

from __future__ import annotations

import os
import platform
import statistics
import time
from pathlib import Path

ISA_FLAGS = ("avx2", "avx512f", "avx512_bf16", "amx_bf16", "amx_tile")
PEAK_N, PEAK_REPEATS = 4096, 3  # float32 matmul of the peak measurement: side, timed products (after one warm-up)


def cpu_info(cpuinfo: str) -> dict:
    """CPU model name and which of `ISA_FLAGS` are present, from the text of /proc/cpuinfo.

    Args:
        cpuinfo: the file's text (the first "model name" and "flags" lines are read).

    Returns:
        {"model": str or None, "isa": {flag: bool} or None when there is no flags line}.
    """
    fields = {}
    for line in cpuinfo.splitlines():
        key, sep, value = line.partition(":")
        if sep:
            fields.setdefault(key.strip(), value.strip())
    flags = set(fields["flags"].split()) if "flags" in fields else None
    return {
        "model": fields.get("model name"),
        "isa": None if flags is None else {flag: flag in flags for flag in ISA_FLAGS},
    }


def system_info() -> dict:
    """This machine's CPU (see `cpu_info`), core count, architecture and OMP_NUM_THREADS (None when unset)."""
    proc = Path("/proc/cpuinfo")
    cpu = cpu_info(proc.read_text()) if proc.is_file() else {"model": platform.processor() or None, "isa": None}
    return {
        "cpu": cpu["model"],
        "isa": cpu["isa"],
        "cpu_count": os.cpu_count(),
        "machine": platform.machine(),
        "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS"),
    }


def tensorflow_info() -> dict:
    """TensorFlow's version, device, oneDNN state and thread-pool settings in this process.

    The measurement subprocesses inherit this process's environment, so
    they run with the same oneDNN and thread settings.
    """
    import tensorflow as tf
    from tensorflow.python.util import _pywrap_util_port

    return {
        "version": tf.__version__,
        "device": "GPU" if tf.config.list_physical_devices("GPU") else "CPU",
        "onednn_enabled": bool(_pywrap_util_port.IsMklEnabled()),
        "TF_ENABLE_ONEDNN_OPTS": os.environ.get("TF_ENABLE_ONEDNN_OPTS"),
        "intra_op_threads": tf.config.threading.get_intra_op_parallelism_threads(),
        "inter_op_threads": tf.config.threading.get_inter_op_parallelism_threads(),
        "threads_note": "0 = TensorFlow's default (one thread per logical core)",
    }


def median_seconds(fn, repeats: int, warmup: int = 0) -> float:
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


def matmul_peak_gflops(n: int = PEAK_N, repeats: int = PEAK_REPEATS) -> float:
    """float32 n x n `tf.matmul` GFLOP/s (2 n^3 per product), median of `repeats` after one warm-up.

    Args:
        n: matrix side.
        repeats: timed products.
    """
    import tensorflow as tf

    a, b = tf.random.uniform((n, n)), tf.random.uniform((n, n))
    return 2 * n**3 / median_seconds(lambda: tf.matmul(a, b).numpy(), repeats, warmup=1) / 1e9
