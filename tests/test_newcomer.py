"""Issue 28: the mistakes a newcomer makes, each recovered from with a clear message (and the tests without data)."""

import contextlib
import io
import json
import re
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import train
from conftest import ROOT, TESTS, TINY_MODEL_FLAGS, subprocess_env, tiny_config
from gan3d_tf import training
from gan3d_tf.config import PRESETS
from gan3d_tf.training import RunDir

TINY_RUN = ["--category", "chair", "--builtin-size", "20", *TINY_MODEL_FLAGS]


def run_train(argv, capsys):
    code = train.main(argv)
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.mark.slow
def test_ctrl_c_prints_the_last_checkpoint_and_the_resume_command(tmp_path, capsys):
    run = tmp_path / "run"
    argv = [*TINY_RUN, "--epochs", "500", "--checkpoint-every-steps", "1", "--out", str(run)]
    child = subprocess.Popen(
        [sys.executable, str(ROOT / "train.py"), *argv],
        cwd=tmp_path,
        env=subprocess_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 300
    while RunDir(run).latest_checkpoint() is None and child.poll() is None and time.monotonic() < deadline:
        time.sleep(0.1)
    assert child.poll() is None, child.communicate()
    child.send_signal(signal.SIGINT)
    _, err = child.communicate(timeout=120)
    assert child.returncode == 130
    assert "Traceback" not in err and "KeyboardInterrupt" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    counters = RunDir(run).counters()
    expected = (
        f"last checkpoint {run / 'checkpoints' / counters['checkpoint']} (epoch {counters['epochs']}, "
        f"step {counters['steps']:,}); resume with: python train.py --resume --out {run}"
    )
    assert expected in lines[0]
    # the printed command goes on from there (to the end of the epoch the checkpoint is in)
    resume = shlex.split(lines[0].split("resume with: ")[1])
    assert resume[:2] == ["python", "train.py"]
    code, out, _ = run_train([*resume[2:], "--epochs", str(counters["epochs"] + 1)], capsys)
    assert code == 0 and f"resuming {run} from {counters['checkpoint']}" in out


@pytest.mark.slow
def test_resume_without_out_resumes_the_default_run_directory(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr("gan3d_tf.config.resolve.default_preset", lambda: "chair32")  # as on a machine without a GPU
    # what `python train.py --category chair` starts, in its default directory (a tiny model, for the test)
    config = tiny_config(**{"train.epochs": 1}).replace(preset="chair32")
    training.train(config, Path("runs", "chair-chair32"), verbose=0)
    steps = RunDir("runs/chair-chair32").counters()
    code, out, err = run_train(["--resume", "--epochs", "2"], capsys)
    assert code == 0, err
    assert (
        f"resuming {Path('runs', 'chair-chair32')} from {steps['checkpoint']} (epoch 1, step {steps['steps']})" in out
    )
    assert RunDir("runs/chair-chair32").counters()["epochs"] == 2
    code, _, err = run_train(["--resume", "--category", "table"], capsys)  # another default run: not there
    assert code == 2 and "runs/table-chair32/config.json not found" in err and "--out RUN_DIR" in err


def test_out_naming_a_file_or_a_folder_that_is_not_a_run_writes_nothing(tmp_path, capsys):
    notes = tmp_path / "notes.txt"
    notes.write_text("mine\n")
    code, _, err = run_train([*TINY_RUN, "--epochs", "1", "--out", str(notes)], capsys)
    assert code == 2 and f"{notes} is a file, not a run directory" in err and "Traceback" not in err
    assert notes.read_text() == "mine\n"
    code, _, err = run_train([*TINY_RUN, "--epochs", "1", "--out", str(notes / "run")], capsys)
    assert code == 2 and f"{notes} is a file" in err
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "design.md").write_text("# design\n")
    code, _, err = run_train([*TINY_RUN, "--epochs", "1", "--out", str(docs)], capsys)
    assert code == 2 and f"{docs} is a non-empty folder that is not a run" in err
    assert sorted(p.name for p in docs.iterdir()) == ["design.md"]
    empty = tmp_path / "empty"
    empty.mkdir()
    assert train.main([*TINY_RUN, "--epochs", "1", "--quiet", "--out", str(empty)]) == 0  # an empty folder is fine


@pytest.fixture(scope="module")
def tiny_run_output(tmp_path_factory):
    """stdout of a 3-epoch tiny run with 10 % held out, not on a terminal, and its run directory."""
    run = tmp_path_factory.mktemp("console") / "run"
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert train.main([*TINY_RUN, "--epochs", "3", "--val-fraction", "0.1", "--out", str(run)]) == 0
    return out.getvalue(), run


@pytest.mark.slow
def test_start_prints_the_planned_steps_then_the_total_time_and_an_eta_per_epoch(tiny_run_output):
    out, _ = tiny_run_output
    # 18 training shapes, batch 8: 2 steps an epoch
    assert "plan: 3 epochs x 2 steps (batch 8 of 18 training shapes) = 6 steps" in out
    assert re.search(r"run: the first epoch took [\d.]+ (s|min).*the 6 steps take about .* in all", out), out
    assert re.search(r"run: epoch 2 of 3, step 4 of 6, [\d.]+ s/step, ETA ", out), out
    assert re.search(r"run: epoch 3 of 3, step 6 of 6, [\d.]+ s/step, ETA 0 s", out), out


def test_eta_leaves_out_the_first_epoch():
    from gan3d_tf.training.progress import RunProgress

    now = [0.0]
    progress = RunProgress(epochs=4, steps_per_epoch=10, done=0, every_epoch=True, clock=lambda: now[0])
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        progress.on_train_begin()
        for epoch, seconds in enumerate((100.0, 10.0, 10.0)):  # the first epoch holds the tracing
            now[0] += seconds
            progress.on_epoch_end(epoch)
    first, second, third = out.getvalue().splitlines()
    assert "10.00 s/step" in first and "the 40 steps take about 6 min 40 s in all, 5 min 0 s from now" in first
    assert "step 20 of 40, 1.00 s/step, ETA 20 s" in second and "step 30 of 40, 1.00 s/step, ETA 10 s" in third


@pytest.mark.slow
def test_console_shape_count_agrees_with_data_json(tiny_run_output):
    out, run = tiny_run_output
    data = json.loads((run / "data.json").read_text())
    assert (data["n_train"], data["n_held_out"]) == (18, 2)
    assert "training on 18 chair shapes (+ 2 held out, never trained on)" in out
    assert "training on 20 chair shapes" not in out


def stderr_of_train(*flags):
    """stderr of `python train.py --category chiar FLAGS` (fails at once, after TensorFlow loaded)."""
    env = subprocess_env()
    env.pop("TF_CPP_MIN_LOG_LEVEL", None)  # as a user runs it
    result = subprocess.run(
        [sys.executable, str(ROOT / "train.py"), "--category", "chiar", *flags],
        env=env,
        cwd=TESTS,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 2, result.stderr
    return result.stderr


@pytest.mark.slow
def test_tensorflow_start_up_lines_are_not_printed_twice_and_verbose_shows_them():
    err = stderr_of_train()
    assert "oneDNN custom operations" not in err and "absl::InitializeLog" not in err
    assert err.strip().splitlines()[-1].startswith("train.py: error: unknown category 'chiar'")
    err = stderr_of_train("--verbose")
    assert err.count("oneDNN custom operations are on") == 1
    assert err.count("absl::InitializeLog") == 1


def test_start_up_records_are_kept_once():
    from gan3d_tf.tf_startup import records

    text = (
        "WARNING: All log messages before absl::InitializeLog() is called are written to STDERR\n"
        "I0000 00:00:1796525251.508130    7313 port.cc:153] oneDNN custom operations are on.\n"
        "I0000 00:00:1796525251.569000    7313 cpu_feature_guard.cc:227] This TensorFlow binary is optimized.\n"
        "To enable the following instructions: AVX2 FMA.\n"
        "W0000 00:00:1796525252.000000    7313 something.cc:1] a real warning\n"
        "WARNING: All log messages before absl::InitializeLog() is called are written to STDERR\n"
        "I0000 00:00:1796525256.580312    7313 port.cc:153] oneDNN custom operations are on.\n"
    )
    kept = records(text)
    assert [severity for severity, _, _ in kept] == ["absl", "I", "I", "W"]
    assert kept[2][2].endswith("To enable the following instructions: AVX2 FMA.")


def test_help_groups_flags_states_each_default_and_ends_with_three_examples(capsys):
    from gan3d_tf.cli.train import build_parser

    parser = build_parser()
    titles = [g.title for g in parser._action_groups if g._group_actions and g.title != "options"]
    assert titles == ["data", "model", "training", "run directory, checkpoints and logs", "3D-VAE-GAN (--model vaegan)"]
    for action in parser._actions:
        if action.option_strings and action.dest != "help":
            assert "(default: " in action.help, action.option_strings
    epochs = next(a for a in parser._actions if a.dest == "epochs").help
    for name, preset in PRESETS.items():
        assert f"{name} {preset.train.epochs}" in epochs
    with pytest.raises(SystemExit):
        train.parse_args(["--help"])
    lines = [line for line in capsys.readouterr().out.splitlines() if line.strip()]
    assert lines[-4] == "examples:" and all(line.strip().startswith("python train.py") for line in lines[-3:])


def readme_outputs():
    """The relative output paths of the README's commands (--out, --json, prepare's OUT), placeholders left out."""
    text = (ROOT / "README.md").read_text()
    found = re.findall(r"--(?:out|json)\s+([^\s`,;)]+)", text)
    found += re.findall(r"gan3d_tf\.data\.prepare\s+\S+\s+([^\s`,;)]+)", text)
    placeholder = re.compile(r"^[A-Z_]+(\.\w+)?$")  # OUT.json, OUT_DIR, RUN_DIR
    return sorted({p for p in found if not p.startswith("/") and not placeholder.match(p.split("/")[0])})


def test_output_folders_of_the_readme_commands_are_ignored_by_git():
    outputs = readme_outputs()
    assert {"samples/", "interp/", "runs/smoke"} <= set(outputs)
    for path in outputs:
        probe = path if path.endswith((".json", ".npz")) else path.rstrip("/") + "/probe/"
        ignored = subprocess.run(["git", "check-ignore", "-q", "--no-index", probe], cwd=ROOT)
        assert ignored.returncode == 0, f"{path} (a README command's output) is not in .gitignore"


def test_serving_doc_states_the_feature_width_the_export_gives():
    from gan3d_tf.evaluation.features import feature_extractor
    from gan3d_tf.training import build_discriminator

    row = next(
        line
        for line in (ROOT / "docs" / "serving.md").read_text().splitlines()
        if line.startswith("| `gan3d_features`")
    )
    for name in ("chair32", "paper64"):
        width = feature_extractor(build_discriminator(PRESETS[name].model)).output.shape[-1]
        assert re.search(rf"{width:,}[^|]*`{name}`", row), (name, width, row)
    assert "[batch, 7168]" not in row


def test_category_typo_names_the_flag_not_the_config_field(tmp_path, capsys):
    code, _, err = run_train(["--category", "chiar", "--out", str(tmp_path / "r")], capsys)
    assert code == 2 and "unknown category 'chiar'" in err and "did you mean 'chair'?" in err
    assert "--data" in err and "data.path" not in err
    assert not (tmp_path / "r").exists()


def pytest_realdata(tmp_path, **env):
    """Runs one realdata test in a child pytest with the data folder hidden; (exit code, output)."""
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/test_data.py::test_modelnet10_chairs"],
        cwd=ROOT,
        env={**subprocess_env(), "GAN3D_SHARED_DATA": str(tmp_path), "CI": "", **env},
        capture_output=True,
        text=True,
        timeout=600,
    )
    return result.returncode, result.stdout + result.stderr


@pytest.mark.slow
def test_realdata_tests_are_skipped_with_a_how_to_line_without_the_data_but_fail_in_ci(tmp_path):
    code, out = pytest_realdata(tmp_path)
    assert code == 0 and "1 skipped" in out, out
    assert f"1 realdata tests skipped: real data not found at {tmp_path}" in out
    assert "python -m gan3d_tf.datasets modelnet10" in out and "README" in out
    code, out = pytest_realdata(tmp_path, CI="true")
    assert code == 1 and "1 error" in out and "CI=true: real data not found" in out, out
