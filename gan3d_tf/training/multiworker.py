"""Multi-worker training: the cluster in `TF_CONFIG`, the chief, and where each worker writes.

With `train.py --strategy multiworker` the same command runs on every machine
of a cluster; each process reads the cluster and its own place in it from the
`TF_CONFIG` environment variable and builds a
`tf.distribute.MultiWorkerMirroredStrategy` (one replica per worker on a CPU,
one per GPU otherwise; the global batch is split over all of them and every
step all-reduces the gradients, the batch-norm moments and D's accuracy).

The workers are assumed to share a filesystem: every worker reads the run
directory (the saved config and the chief's checkpoints on `--resume`, the
source run of `--init-from`), but only the chief writes to it, as TensorFlow's
"Multi-worker training with Keras" guide prescribes. The chief is the task of
type "chief", or worker 0 when the cluster has no chief. Saving a checkpoint
may run collective ops, so the other workers save too, into a scratch
directory of their own (under the system's temporary directory, `TMPDIR`) that
is removed after every save and when training ends.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator

import tensorflow as tf

JOBS = ("chief", "worker")  # the task types a MultiWorkerMirroredStrategy trains with
EXAMPLE = '{"cluster": {"worker": ["host1:12345", "host2:12345"]}, "task": {"type": "worker", "index": 0}}'


@dataclass(frozen=True)
class WorkerRole:
    """This process's place in a training cluster.

    Args:
        task_type: "chief" or "worker"; None outside multi-worker training.
        task_id: index of the task within its type.
        cluster: {task type: [address, ...]}; empty outside multi-worker training.
    """

    task_type: str | None = None
    task_id: int = 0
    cluster: dict = field(default_factory=dict)

    @property
    def n_workers(self) -> int:
        """Processes taking part in training (1 outside multi-worker training)."""
        return max(1, sum(len(self.cluster.get(job, ())) for job in JOBS))

    @property
    def is_chief(self) -> bool:
        """Whether this process writes the run directory."""
        return is_chief(self.cluster, self.task_type, self.task_id)


def is_chief(cluster: dict, task_type: str | None, task_id: int) -> bool:
    """True for the task that writes the run directory: "chief", or worker 0 when `cluster` has no chief.

    Args:
        cluster: {task type: [address, ...]}.
        task_type: the task's type (None: not multi-worker training, the only process).
        task_id: the task's index within its type.
    """
    if task_type is None or task_type == "chief":
        return True
    return task_type == "worker" and task_id == 0 and not cluster.get("chief")


def parse_tf_config(text: str | None) -> WorkerRole:
    """The role a `TF_CONFIG` value gives this process, after checking it.

    Args:
        text: the value of the `TF_CONFIG` environment variable (None: unset).

    Raises:
        ValueError: unset or empty, not JSON, or not a cluster of "chief" (at
            most one) and "worker" tasks at "host:port" addresses with this
            process's task among them; the message names the problem.
    """
    if not text or not text.strip():
        raise ValueError(
            f"--strategy multiworker needs the TF_CONFIG environment variable (the cluster and this "
            f"process's task in it), which is not set; e.g. TF_CONFIG='{EXAMPLE}'"
        )
    try:
        spec = json.loads(text)
    except json.JSONDecodeError as e:
        raise ValueError(f"TF_CONFIG is not valid JSON ({e.msg} at character {e.pos}): {text!r}") from e
    if not (isinstance(spec, dict) and isinstance(spec.get("cluster"), dict) and isinstance(spec.get("task"), dict)):
        raise ValueError(
            f'TF_CONFIG must be a JSON object with a "cluster" object and a "task" object, e.g. {EXAMPLE}; got {text!r}'
        )
    cluster, task = spec["cluster"], spec["task"]
    for job, addresses in cluster.items():
        if job not in JOBS:
            raise ValueError(
                f"TF_CONFIG: cluster job {job!r} is not supported by multi-worker training; "
                f"use {' and '.join(repr(j) for j in JOBS)}"
            )
        if not isinstance(addresses, list) or not addresses:
            raise ValueError(
                f'TF_CONFIG: cluster[{job!r}] must be a non-empty list of "host:port" addresses, got {addresses!r}'
            )
        for address in addresses:
            host, sep, port = address.rpartition(":") if isinstance(address, str) else ("", "", "")
            if not (host and sep and port.isdigit() and 0 < int(port) < 65536):
                raise ValueError(f'TF_CONFIG: cluster[{job!r}] holds {address!r}, not a "host:port" address')
    if "worker" not in cluster:
        raise ValueError(f'TF_CONFIG: the cluster has no "worker" job: {text!r}')
    if len(cluster.get("chief", ())) > 1:
        raise ValueError(f"TF_CONFIG: a cluster has at most one chief, got {cluster['chief']!r}")
    everyone = [a for job in JOBS for a in cluster.get(job, ())]
    if len(set(everyone)) != len(everyone):
        raise ValueError(f"TF_CONFIG: an address is listed twice in the cluster: {everyone!r}")
    task_type, task_id = task.get("type"), task.get("index")
    if task_type not in cluster:
        raise ValueError(f"TF_CONFIG: task type {task_type!r} is not a job of the cluster ({sorted(cluster)})")
    if isinstance(task_id, bool) or not isinstance(task_id, int) or not 0 <= task_id < len(cluster[task_type]):
        raise ValueError(
            f"TF_CONFIG: task index {task_id!r} is not an index of cluster[{task_type!r}] "
            f"(0 to {len(cluster[task_type]) - 1})"
        )
    return WorkerRole(task_type, task_id, {job: list(addresses) for job, addresses in cluster.items()})


def make_multiworker_strategy(tf_config: str | None) -> tf.distribute.MultiWorkerMirroredStrategy:
    """A `MultiWorkerMirroredStrategy` for the cluster in `tf_config` (the `TF_CONFIG` value TensorFlow reads).

    Create it first thing in the program: TensorFlow configures its collective
    ops when the strategy is made, which it refuses once any op has run.

    Args:
        tf_config: the value of the `TF_CONFIG` environment variable.

    Raises:
        ValueError: a missing or malformed `TF_CONFIG` (see `parse_tf_config`),
            before anything starts.
        RuntimeError: TensorFlow already ran an op in this process.
    """
    parse_tf_config(tf_config)
    try:
        return tf.distribute.MultiWorkerMirroredStrategy()
    except RuntimeError as e:
        raise RuntimeError(
            f"--strategy multiworker: the MultiWorkerMirroredStrategy must be created before "
            f"TensorFlow runs any op in this process ({e})"
        ) from e


def worker_role(strategy: tf.distribute.Strategy) -> WorkerRole:
    """This process's role under `strategy`: its task in a multi-worker cluster, else the only (chief) process."""
    if not isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy):
        return WorkerRole()
    resolver = strategy.cluster_resolver
    return WorkerRole(resolver.task_type, int(resolver.task_id or 0), resolver.cluster_spec().as_dict())


def check_algorithm(algorithm: str, role: WorkerRole) -> None:
    """Refuses what cannot train on several workers: the 3D-VAE-GAN.

    Args:
        algorithm: `config.algorithm`, "gan" or "vaegan".
        role: this process's role (`worker_role`).

    Raises:
        ValueError: a 3D-VAE-GAN on more than one worker.
    """
    if role.n_workers > 1 and algorithm == "vaegan":
        raise ValueError(
            "multi-worker training supports 3D-GAN runs only, not the 3D-VAE-GAN (Keras 3's fit cannot "
            "reduce its (image, voxels) batches under a MultiWorkerMirroredStrategy)"
        )


def any_worker(strategy: tf.distribute.Strategy) -> Callable[[bool], bool]:
    """A function mapping this worker's flag to "is it set on any worker?" (an all-reduce over the replicas).

    Every worker must call it at the same point: it is a collective op. Used
    to take decisions that must be the same everywhere (a time-based
    checkpoint, which every worker saves) from values that differ (clocks).

    Args:
        strategy: the strategy the replicas run under.
    """

    def replica_fn(flag):  # (the identity puts the flag on the replica's device, where the all-reduce wants it)
        return tf.distribute.get_replica_context().all_reduce("sum", tf.identity(flag))

    @tf.function
    def reduce(flag):
        return strategy.run(replica_fn, args=(flag,))

    def call(flag: bool) -> bool:
        out = reduce(tf.constant(1.0 if flag else 0.0))
        return bool(strategy.experimental_local_results(out)[0] > 0)

    return call


@contextlib.contextmanager
def scratch_dir(role: WorkerRole) -> Iterator[Path | None]:
    """None for the chief; for any other worker, a new temporary directory, removed on exit whatever happens.

    Args:
        role: this process's role (`worker_role`).
    """
    if role.is_chief:
        yield None
        return
    path = Path(tempfile.mkdtemp(prefix=f"gan3d-{role.task_type}{role.task_id}-"))
    try:
        yield path
    finally:
        shutil.rmtree(path)
