"""Multi-worker training: two worker processes on localhost train as one; only the chief writes; resume works."""

import json
import socket
import subprocess
import sys
import time
from pathlib import Path

import keras
import numpy as np
import pytest

from conftest import TESTS, TINY_ARCH_FLAGS, subprocess_env
from gan3d_tf import training
from gan3d_tf.cli import train as train_cli
from gan3d_tf.training import RunDir, parse_tf_config
from gan3d_tf.training.loop import batches

# the smoke preset at 16^3 on 16 built-in chairs: 2 steps of 8 (4 per worker) an epoch, a checkpoint after every step.
# D's gate at 0.22: some steps update D, some do not, and at step 3 the two workers' own accuracies lie on either side
# of it (1/8 and 3/8; measured with a gate on each worker's own accuracy, which then hangs in D's all-reduce)
THRESHOLD = 0.22
FLAGS = [
    "--preset",
    "smoke",
    "--category",
    "chair",
    "--builtin-size",
    "16",
    "--batch-size",
    "8",
    "--quiet",
    "--strategy",
    "multiworker",
    "--checkpoint-every-steps",
    "1",
    "--d-acc-threshold",
    str(THRESHOLD),
    *TINY_ARCH_FLAGS,
]
STEPS_PER_EPOCH = 2
RUN_FILES = {
    "checkpoints",
    "commands.txt",
    "config.json",
    "data.json",
    "discriminator.keras",
    "generator.keras",
    "logs",
    "samples",
}


def free_ports(n: int) -> list[int]:
    """n TCP ports free on localhost now (held open together, so they differ)."""
    sockets = [socket.socket() for _ in range(n)]
    try:
        for s in sockets:
            s.bind(("localhost", 0))
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


def tf_config(ports, index: int) -> str:
    return json.dumps(
        {"cluster": {"worker": [f"localhost:{p}" for p in ports]}, "task": {"type": "worker", "index": index}}
    )


def run_workers(tmp_path: Path, tag: str, *flags, timeout: float = 180.0) -> list:
    """Runs train.py (tests/multiworker_child.py) on two workers at once; returns each worker's dump.

    Each worker gets its own TMPDIR (tmp_path/tmp<i>), its stdout and stderr go
    to tmp_path/<tag>-<i>.log. A worker still running after `timeout` seconds,
    or after the other failed, is killed, and the test fails.
    """
    ports, procs, logs = free_ports(2), [], []
    try:
        for i in range(2):
            (tmp_path / f"tmp{i}").mkdir(exist_ok=True)
            logs.append(open(tmp_path / f"{tag}-{i}.log", "w"))
            env = subprocess_env(TF_CONFIG=tf_config(ports, i), TMPDIR=str(tmp_path / f"tmp{i}"))
            procs.append(
                subprocess.Popen(
                    [
                        sys.executable,
                        str(TESTS / "multiworker_child.py"),
                        str(tmp_path / f"{tag}-{i}.npz"),
                        *FLAGS,
                        "--out",
                        str(tmp_path / "run"),
                        *flags,
                    ],
                    env=env,
                    stdout=logs[-1],
                    stderr=subprocess.STDOUT,
                )
            )
        deadline = time.monotonic() + timeout
        while any(p.poll() is None for p in procs) and time.monotonic() < deadline:
            if any(p.poll() not in (None, 0) for p in procs):
                break  # one failed: the other would wait for it until the deadline
            time.sleep(0.2)
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
            p.wait()
        for log in logs:
            log.close()
    for i, p in enumerate(procs):
        tail = (tmp_path / f"{tag}-{i}.log").read_text()[-4000:]
        assert p.returncode == 0, f"{tag}: worker {i} exited with {p.returncode} (-9: killed after a hang):\n{tail}"
    return [dict(np.load(tmp_path / f"{tag}-{i}.npz")) for i in range(2)]


def state_keys(dump: dict) -> set:
    """The keys of a worker's dump that every replica holds alike: weights, counters, per-batch logs."""
    return {key for key in dump if key != "scratch" and not key.startswith("seen/")}


def run_mirrored(tmp_path: Path, tag: str, *flags, replicas: int = 2, timeout: float = 300.0) -> dict:
    """train.py with FLAGS in one process over `replicas` logical CPUs with a MirroredStrategy (one replica each);
    returns its dump (tests/multiworker_child.py), its log in tmp_path/<tag>.log."""
    single = [f for f in FLAGS if f != "multiworker"]  # the value of --strategy, given below
    single[single.index("--strategy")] = "--strategy=mirrored"
    env = subprocess_env(LOGICAL_CPUS=str(replicas))
    env.pop("TF_CONFIG", None)
    with open(tmp_path / f"{tag}.log", "w") as log:
        proc = subprocess.run(
            [
                sys.executable,
                str(TESTS / "multiworker_child.py"),
                str(tmp_path / f"{tag}.npz"),
                *single,
                "--out",
                str(tmp_path / tag),
                *flags,
            ],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            timeout=timeout,
        )
    assert proc.returncode == 0, (tmp_path / f"{tag}.log").read_text()[-4000:]
    return dict(np.load(tmp_path / f"{tag}.npz"))


def assert_same_state(chief: dict, worker: dict) -> None:
    """Every weight, counter and per-batch log bit for bit the same on both workers."""
    assert state_keys(chief) == state_keys(worker) and any(key.startswith("net/discriminator/") for key in chief)
    for key in state_keys(chief):
        np.testing.assert_array_equal(chief[key], worker[key], err_msg=key)


def step_values(running_means, epochs) -> np.ndarray:
    """The per-step values behind per-batch logs, which are running means over each epoch."""
    out, k, previous, last_epoch = [], 0, 0.0, None
    for mean, epoch in zip(running_means, epochs):
        k, previous = (0, 0.0) if epoch != last_epoch else (k, previous)
        k, last_epoch = k + 1, epoch
        out.append(k * mean - (k - 1) * previous)
        previous = mean
    return np.array(out)


def assert_chief_wrote_alone(tmp_path: Path, dumps: list, n_commands: int) -> None:
    run = tmp_path / "run"
    assert {p.name for p in run.iterdir()} == RUN_FILES  # nothing of the other worker's
    assert len((run / "commands.txt").read_text().splitlines()) == n_commands  # one line per invocation: the chief's
    assert list(dumps[0]["scratch"]) == []
    # the worker wrote what the chief writes into its scratch directory, its checkpoints removed after every save
    assert list(dumps[1]["scratch"]) == ["gan3d-worker1/config.json", "gan3d-worker1/data.json"]
    for i in range(2):
        assert not list((tmp_path / f"tmp{i}").glob("gan3d-*")), f"worker {i} left its scratch directory"
    # the chief's .keras files hold the weights both workers ended with
    for part in ("generator", "discriminator"):
        net = keras.saving.load_model(run / f"{part}.keras")
        assert len(net.weights) == sum(key.startswith(f"net/{part}/") for key in dumps[1])
        for v in net.weights:
            np.testing.assert_array_equal(v.numpy(), dumps[1][f"net/{part}/{v.path}"], err_msg=v.path)


@pytest.mark.slow
def test_two_workers_train_as_one_only_the_chief_writes_and_resume_continues(tmp_path):
    first = run_workers(tmp_path, "first", "--epochs", "1")
    assert_same_state(*first)
    assert int(first[0]["steps_done"]) == STEPS_PER_EPOCH and int(first[0]["opt/g_iterations"]) == STEPS_PER_EPOCH
    assert RunDir(tmp_path / "run").counters()["steps"] == STEPS_PER_EPOCH
    assert_chief_wrote_alone(tmp_path, first, n_commands=1)

    second = run_workers(tmp_path, "second", "--epochs", "2", "--resume")
    assert_same_state(*second)
    # restored from the chief's checkpoint: the counters go on from step 2 (a fresh start would end at 2)
    assert list(second[0]["epoch"]) == [1] * STEPS_PER_EPOCH
    assert int(second[0]["steps_done"]) == 2 * STEPS_PER_EPOCH
    assert int(second[0]["opt/g_iterations"]) == 2 * STEPS_PER_EPOCH
    assert RunDir(tmp_path / "run").counters()["steps"] == 2 * STEPS_PER_EPOCH
    assert not np.array_equal(first[0]["net/generator/deconv1/kernel"], second[0]["net/generator/deconv1/kernel"])
    assert_chief_wrote_alone(tmp_path, second, n_commands=2)

    # D's gate: decided on the accuracy over both workers' batches, the same on both (else the workers would part
    # ways in the all-reduce of D's gradients); the run took both branches
    acc = np.concatenate([step_values(d["d_acc"], d["epoch"]) for d in (first[0], second[0])])
    updated = np.concatenate([step_values(d["d_updated"], d["epoch"]) for d in (first[0], second[0])])
    assert np.allclose(acc * 16, np.round(acc * 16), atol=1e-4)  # 16 scores a step: 8 real, 8 generated shapes
    np.testing.assert_array_equal(np.round(updated), acc <= THRESHOLD)
    assert 0 < updated.round().sum() < len(updated), (acc, updated)
    assert int(second[0]["opt/d_iterations"]) == int(updated.round().sum())


@pytest.mark.slow
def test_two_workers_equal_one_process_with_two_mirrored_replicas_each_worker_seeing_half_the_batch(tmp_path):
    """The same flags, the same global batch of 8: two workers of one replica each against one process with two
    replicas. (Two workers that each trained alone on the whole batch would also end alike, but not like this.)"""
    workers = run_workers(tmp_path, "workers", "--epochs", "2")
    mirrored = run_mirrored(tmp_path, "mirrored", "--epochs", "2")
    # the global batches train.py's pipeline draws for these two epochs
    config = RunDir(tmp_path / "run").config()
    data, _ = training.split_validation(training.load_training_data(config), config.data.val_fraction, config.seed)
    steps = 2 * STEPS_PER_EPOCH
    global_batches = [b.numpy() for e in range(2) for b in batches(config, data.voxels, e).take(STEPS_PER_EPOCH)]
    assert {b.shape for b in global_batches} == {(8, 16, 16, 16)}
    # each worker trained on its own half of every global batch, the half the mirrored replica of its number had
    for r, dump in enumerate(workers):
        assert sorted(k for k in dump if k.startswith("seen/")) == sorted(f"seen/{s}/{r}" for s in range(steps))
        for s in range(steps):
            half = global_batches[s][4 * r : 4 * r + 4]
            np.testing.assert_array_equal(dump[f"seen/{s}/{r}"], half, err_msg=f"worker {r}, step {s}")
            np.testing.assert_array_equal(mirrored[f"seen/{s}/{r}"], half, err_msg=f"replica {r}, step {s}")
    assert len([k for k in mirrored if k.startswith("seen/")]) == 2 * steps
    # and both ended where the single process did: every weight, optimizer counter and per-step log
    assert_same_state(*workers)
    assert state_keys(mirrored) == state_keys(workers[0])
    assert int(mirrored["steps_done"]) == steps and int(workers[0]["opt/g_iterations"]) == steps
    for key in sorted(state_keys(mirrored)):
        np.testing.assert_allclose(workers[0][key], mirrored[key], rtol=1e-5, atol=1e-6, err_msg=key)
    assert "MirroredStrategy with 2 replica(s)" in (tmp_path / "mirrored.log").read_text()
    assert "with 2 replica(s); this is worker 0 of 2 workers" in (tmp_path / "workers-0.log").read_text()


@pytest.mark.parametrize(
    "value, message",
    [
        (None, "needs the TF_CONFIG environment variable"),
        ("{cluster: 1}", "TF_CONFIG is not valid JSON"),
        ('{"cluster": {"worker": ["localhost:1"]}}', 'a "cluster" object and a "task" object'),
        (
            '{"cluster": {"ps": ["localhost:1"], "worker": ["localhost:2"]}, "task": {"type": "worker", "index": 0}}',
            "cluster job 'ps' is not supported",
        ),
        ('{"cluster": {"worker": ["localhost"]}, "task": {"type": "worker", "index": 0}}', 'not a "host:port" address'),
        ('{"cluster": {"worker": ["a:1", "b:2"]}, "task": {"type": "worker", "index": 2}}', "task index 2"),
        ('{"cluster": {"worker": ["a:1"]}, "task": {"type": "chief", "index": 0}}', "task type 'chief'"),
        (
            '{"cluster": {"chief": ["a:1", "b:1"], "worker": ["c:1"]}, "task": {"type": "worker", "index": 0}}',
            "at most one chief",
        ),
    ],
)
def test_bad_tf_config_fails_before_any_work(tmp_path, capsys, monkeypatch, value, message):
    if value is None:
        monkeypatch.delenv("TF_CONFIG", raising=False)
    else:
        monkeypatch.setenv("TF_CONFIG", value)
    assert train_cli.main(FLAGS + ["--out", str(tmp_path / "run")]) == 2
    err = capsys.readouterr().err
    assert "train.py: error:" in err and message in err, err
    assert not (tmp_path / "run").exists()


def test_the_chief_is_the_chief_task_or_else_worker_0():
    two = '{"cluster": {%s"worker": ["a:1", "b:1"]}, "task": {"type": "%s", "index": %d}}'
    assert parse_tf_config(two % ("", "worker", 0)).is_chief
    assert not parse_tf_config(two % ("", "worker", 1)).is_chief
    assert parse_tf_config(two % ('"chief": ["c:1"], ', "chief", 0)).is_chief
    role = parse_tf_config(two % ('"chief": ["c:1"], ', "worker", 0))
    assert not role.is_chief and role.n_workers == 3
