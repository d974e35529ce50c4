"""Export contract: TF Serving SavedModels and .keras files, checked through TensorFlow's own loaders.

The SavedModel checks run in a fresh Python process that imports TensorFlow
only (never gan3d_tf), as a serving host would.
"""

import json
import os
import shutil
import socket
import subprocess
import sys
import textwrap
import time
import urllib.request

import numpy as np
import pytest

from conftest import tiny_config

ENV = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
CLASSES = ("chair", "table", "bookcase")


def run_python(code: str, *args) -> dict:
    """Runs `code` in a fresh interpreter; it prints one JSON line last, which is returned."""
    proc = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code), *map(str, args)],
        capture_output=True,
        text=True,
        env=ENV,
        cwd="/",
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """A 1-epoch 16^3 run, a small labelled set, and its export (with classifier) as version 1."""
    from gan3d_tf import training
    from gan3d_tf.data.procedural import make_dataset
    from gan3d_tf.serving.export import export_run

    root = tmp_path_factory.mktemp("export")
    training.train(tiny_config(**{"train.epochs": 1}), root / "run", verbose=0)
    xs = [make_dataset(c, 30, resolution=16, seed=3) for c in CLASSES]
    x = np.concatenate(xs)
    y = np.repeat(np.arange(len(CLASSES)), 30)
    train = np.arange(len(x)) % 3 != 0
    np.savez(
        root / "set.npz",
        X_train=x[train],
        y_train=y[train],
        X_test=x[~train],
        y_test=y[~train],
        classes=np.array(CLASSES),
    )
    result = export_run(root / "run", root / "sm", classifier_data=root / "set.npz")
    return root, result


@pytest.mark.slow
def test_layout_metadata_and_models_config(exported):
    root, result = exported
    sm = root / "sm"
    assert result["version"] == 1
    for name in ("gan3d_generator", "gan3d_features", "gan3d_classifier"):
        version = sm / name / "1"
        assert (version / "saved_model.pb").is_file() and (version / "variables").is_dir()
        meta = json.loads((version / "assets.extra" / "metadata.json").read_text())
        assert meta["model_name"] == name and meta["version"] == 1
        assert meta["resolution"] == 16 and meta["z_distribution"] == "uniform" and meta["epochs_trained"] == 1
        assert meta["training_data"]["source"] == "builtin-procedural" and meta["git_revision"]
    clf = json.loads((sm / "gan3d_classifier" / "1" / "assets.extra" / "metadata.json").read_text())
    assert clf["classes"] == list(CLASSES) and 0 <= clf["metrics"]["test_accuracy"] <= 1
    assert clf["metrics"]["n_test"] == 30 and clf["temperature"] > 0
    assert sorted(p.name for p in (sm / "keras" / "1").iterdir()) == [
        "assets.extra",
        "discriminator.keras",
        "generator.keras",
    ]
    config = (sm / "models.config").read_text()
    for name in ("gan3d_generator", "gan3d_features", "gan3d_classifier"):
        assert f"name: '{name}'" in config and f"base_path: '/models/{name}'" in config
    assert not list(sm.glob("*/.tmp-*"))


def serving_config_proto():
    """TF Serving's `ModelServerConfig` message (the `--model_config_file` schema), from tensorflow-serving-api.

    Skipped with a how-to line when the package is missing, except under CI=true, where it is a failure.
    """
    try:
        from tensorflow_serving.config import model_server_config_pb2
    except ImportError as e:
        message = (
            f"tensorflow-serving-api is not installed ({e}); install it beside tensorflow-cpu with "
            f"`pip install --no-deps -r requirements-serving.txt` (its own requirement is the full tensorflow)"
        )
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    return model_server_config_pb2.ModelServerConfig


def parse_models_config(path):
    from google.protobuf import text_format

    return text_format.Parse(path.read_text(), serving_config_proto()())


@pytest.mark.slow
def test_models_config_parses_as_tf_servings_model_server_config(exported, tmp_path):
    from gan3d_tf.serving.export import write_models_config

    root, _ = exported
    config = parse_models_config(root / "sm" / "models.config")
    assert config.WhichOneof("config") == "model_config_list"
    names = ["gan3d_generator", "gan3d_features", "gan3d_classifier"]
    assert [(c.name, c.base_path, c.model_platform) for c in config.model_config_list.config] == [
        (name, f"/models/{name}", "tensorflow") for name in names
    ]
    # another mount point, and only the servables that exist
    (tmp_path / "gan3d_features").mkdir()
    local = parse_models_config(write_models_config(tmp_path, base=str(tmp_path)))
    assert [(c.name, c.base_path) for c in local.model_config_list.config] == [
        ("gan3d_features", str(tmp_path / "gan3d_features"))
    ]


def rest_grids(n: int, r: int = 16) -> np.ndarray:
    """n occupancy grids of the test set's classes, float32 in [0, 1]."""
    from gan3d_tf.data.procedural import make_dataset

    return np.concatenate([make_dataset(c, n, resolution=r, seed=5) for c in CLASSES])[::3][:n].astype(np.float32)


def rest_requests(z: np.ndarray, grids: np.ndarray) -> dict:
    """{(servable, label): request body} in both of TF Serving's REST formats, as docs/serving.md shows them."""
    zs, xs = z.tolist(), grids.tolist()
    return {
        ("gan3d_generator", "instances"): {"instances": zs},
        ("gan3d_generator", "instances, named"): {"instances": [{"z": row} for row in zs]},
        ("gan3d_generator", "inputs, named"): {"signature_name": "serving_default", "inputs": {"z": zs}},
        ("gan3d_generator", "inputs"): {"inputs": zs},
        ("gan3d_generator", "sample"): {"signature_name": "sample", "inputs": {"batch_size": 2, "seed": 7}},
        ("gan3d_features", "instances"): {"instances": xs},
        ("gan3d_features", "inputs, named"): {"inputs": {"voxels": xs}},
        ("gan3d_classifier", "instances"): {"instances": xs},
        ("gan3d_classifier", "instances, named"): {"instances": [{"voxels": x} for x in xs]},
        ("gan3d_classifier", "inputs"): {"inputs": xs},
    }


@pytest.mark.slow
def test_rest_requests_in_both_formats_answer_as_the_in_process_models(exported):
    import tensorflow as tf
    from serving_rest import RestError, predict

    from gan3d_tf.evaluation.features import extract_features

    root, _ = exported
    g, d = _networks(root / "run")
    pipeline, _ = _svm_pipeline(root, d)
    z = np.random.default_rng(3).uniform(size=(3, g.z_dim)).astype(np.float32)
    grids = rest_grids(4)
    served = {
        name: tf.saved_model.load(str(root / "sm" / name / "1"))
        for name in ("gan3d_generator", "gan3d_features", "gan3d_classifier")
    }
    answers = {key: predict(served[key[0]], request) for key, request in rest_requests(z, grids).items()}

    voxels = np.asarray(g(z, training=False))
    for label in ("instances", "instances, named"):  # row format: one grid per instance
        assert list(answers["gan3d_generator", label]) == ["predictions"]
        np.testing.assert_allclose(np.array(answers["gan3d_generator", label]["predictions"]), voxels, atol=1e-5)
    for label in ("inputs", "inputs, named"):  # columnar, one output: the value itself
        np.testing.assert_allclose(np.array(answers["gan3d_generator", label]["outputs"]), voxels, atol=1e-5)
    sample = answers["gan3d_generator", "sample"]["outputs"]
    assert sorted(sample) == ["voxels", "z"] and np.array(sample["z"]).shape == (2, g.z_dim)
    np.testing.assert_allclose(
        np.array(sample["voxels"]), np.asarray(g(np.array(sample["z"], np.float32), training=False)), atol=1e-5
    )

    features = extract_features(d, grids)
    np.testing.assert_allclose(
        np.array(answers["gan3d_features", "instances"]["predictions"]), features, rtol=1e-4, atol=1e-4
    )
    np.testing.assert_allclose(
        np.array(answers["gan3d_features", "inputs, named"]["outputs"]), features, rtol=1e-4, atol=1e-4
    )

    expected = pipeline.predict(features).tolist()
    for label in ("instances", "instances, named"):  # several outputs: one object per instance
        rows = answers["gan3d_classifier", label]["predictions"]
        assert [sorted(row) for row in rows] == [["class_id", "class_name", "probabilities", "scores"]] * 4
        assert [row["class_id"] for row in rows] == expected
        assert [row["class_name"] for row in rows] == [CLASSES[i] for i in expected]
        assert all(abs(sum(row["probabilities"]) - 1) < 1e-5 and len(row["scores"]) == 3 for row in rows)
    columns = answers["gan3d_classifier", "inputs"]["outputs"]  # several outputs: one object of columns
    assert columns["class_id"] == expected and columns["class_name"] == [CLASSES[i] for i in expected]

    # what TF Serving refuses: scalar inputs in row format, a plain list for several inputs, floats for ints
    refused = [
        {"signature_name": "sample", "instances": [{"batch_size": 2, "seed": 7}]},
        {"signature_name": "sample", "inputs": [2, 7]},
        {"signature_name": "sample", "inputs": {"batch_size": 2.0, "seed": 7}},
        {"instances": z.tolist(), "inputs": z.tolist()},
        {"instances": [{"z": z[0].tolist(), "seed": 1}]},
    ]
    for request in refused:
        with pytest.raises((RestError, TypeError, ValueError, tf.errors.InvalidArgumentError)):
            predict(served["gan3d_generator"], request)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def assert_same_json(got, want, where=""):
    """Equal JSON, numbers within float32 round-off."""
    if isinstance(want, dict):
        assert isinstance(got, dict) and sorted(got) == sorted(want), where
        for key in want:
            assert_same_json(got[key], want[key], f"{where}.{key}")
    elif isinstance(want, list) and want and not isinstance(np.array(want).dtype.type(), np.number):
        assert isinstance(got, list) and len(got) == len(want), where
        for i, (a, b) in enumerate(zip(got, want)):
            assert_same_json(a, b, f"{where}[{i}]")
    elif isinstance(want, (list, int, float)):
        np.testing.assert_allclose(
            np.array(got, np.float64), np.array(want, np.float64), rtol=1e-4, atol=1e-5, err_msg=where
        )
    else:
        assert got == want, where


@pytest.mark.slow
@pytest.mark.tfserving
@pytest.mark.skipif(
    shutil.which("tensorflow_model_server") is None,
    reason="tensorflow_model_server is not on PATH (TF Serving's binary: its apt package or image)",
)
def test_a_real_tensorflow_model_server_answers_the_same_rest_requests(exported, tmp_path):
    import tensorflow as tf
    from serving_rest import predict

    from gan3d_tf.serving.export import write_models_config

    root, _ = exported
    g, _ = _networks(root / "run")
    serve = tmp_path / "serve"  # the export's servables, at a local base path instead of the container's /models
    serve.mkdir()
    for name in ("gan3d_generator", "gan3d_features", "gan3d_classifier"):
        (serve / name).mkdir()
        (serve / name / "1").symlink_to(root / "sm" / name / "1")
    config = write_models_config(serve, base=str(serve))
    rest = free_port()
    log = open(tmp_path / "server.log", "w")
    server = subprocess.Popen(
        [
            "tensorflow_model_server",
            f"--port={free_port()}",
            f"--rest_api_port={rest}",
            f"--model_config_file={config}",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{rest}/v1/models"
    try:
        deadline = time.monotonic() + 120
        for name in ("gan3d_generator", "gan3d_features", "gan3d_classifier"):
            while True:
                assert server.poll() is None and time.monotonic() < deadline, (tmp_path / "server.log").read_text()
                try:
                    with urllib.request.urlopen(f"{url}/{name}", timeout=5) as answer:
                        if json.load(answer)["model_version_status"][0]["state"] == "AVAILABLE":
                            break
                except OSError:
                    pass
                time.sleep(0.5)
        z = np.random.default_rng(4).uniform(size=(2, g.z_dim)).astype(np.float32)
        for (name, label), request in rest_requests(z, rest_grids(2)).items():
            post = urllib.request.Request(
                f"{url}/{name}:predict", data=json.dumps(request).encode(), headers={"Content-Type": "application/json"}
            )
            with urllib.request.urlopen(post, timeout=60) as answer:
                got = json.load(answer)
            want = predict(tf.saved_model.load(str(root / "sm" / name / "1")), request)
            assert_same_json(got, want, f"{name} ({label})")
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        log.close()


@pytest.mark.slow
def test_a_second_export_is_a_new_version(exported):
    from gan3d_tf.serving.export import export_run

    root, _ = exported
    before = (root / "sm" / "gan3d_generator" / "1" / "saved_model.pb").read_bytes()
    result = export_run(root / "run", root / "sm")  # no classifier this time
    assert result["version"] == 2 and "gan3d_classifier" not in result["paths"]
    assert (root / "sm" / "gan3d_generator" / "2" / "saved_model.pb").is_file()
    assert (root / "sm" / "gan3d_generator" / "1" / "saved_model.pb").read_bytes() == before
    from gan3d_tf.serving.export import export

    with pytest.raises(FileExistsError, match="never overwritten"):
        export(*_networks(root / "run"), root / "sm", version=2)


def _networks(run):
    from gan3d_tf.training.run_dir import load_network

    return load_network(run, "generator"), load_network(run, "discriminator")


@pytest.mark.slow
def test_failed_export_leaves_nothing(tmp_path, exported):
    from gan3d_tf.serving.export import export

    root, result = exported
    g, d = _networks(root / "run")
    bad = {"pipeline": _svm_pipeline(root, d)[0], "classes": ["only", "two"], "temperature": 1.0}
    with pytest.raises(ValueError, match="do not match"):
        export(g, d, tmp_path / "sm", classifier=bad)
    assert not [p for p in (tmp_path / "sm").rglob("*") if p.is_dir() and p.name[0] in ".0123456789"]


def _svm_pipeline(root, d):
    from gan3d_tf.evaluation.classify import fit_svm
    from gan3d_tf.data.voxel_npz import load_voxel_npz
    from gan3d_tf.evaluation.features import extract_features

    train = load_voxel_npz(root / "set.npz", "all", "train", resolution=16)
    test = load_voxel_npz(root / "set.npz", "all", "test", resolution=16, skip_empty=False)
    pipeline, _, _ = fit_svm(extract_features(d, train.voxels), train.labels)
    return pipeline, test


@pytest.mark.slow
def test_savedmodels_in_a_tensorflow_only_process(exported, tmp_path):
    from gan3d_tf.evaluation.features import extract_features

    root, result = exported
    g, d = _networks(root / "run")
    z = np.random.default_rng(0).uniform(size=(5, g.z_dim)).astype(np.float32)
    pipeline, test = _svm_pipeline(root, d)
    np.save(tmp_path / "z.npy", z)
    np.save(tmp_path / "x.npy", test.voxels.astype(np.float32))
    out = run_python(
        """
        import json, sys
        import numpy as np
        import tensorflow as tf
        sm, tmp = sys.argv[1], sys.argv[2]
        z, x = np.load(tmp + "/z.npy"), np.load(tmp + "/x.npy")
        report = {}
        def spec(fn):
            args, kwargs = fn.structured_input_signature
            ins = {k: [v.dtype.name, v.shape.as_list()] for k, v in kwargs.items()}
            outs = {k: [v.dtype.name, v.shape.as_list()] for k, v in fn.structured_outputs.items()}
            return {"inputs": ins, "outputs": outs}
        g = tf.saved_model.load(sm + "/gan3d_generator/1")
        report["generator_signatures"] = sorted(g.signatures.keys())
        report["generator_spec"] = spec(g.signatures["serving_default"])
        report["sample_spec"] = spec(g.signatures["sample"])
        np.save(tmp + "/served_voxels.npy", g.signatures["serving_default"](z=tf.constant(z))["voxels"].numpy())
        a = g.signatures["sample"](batch_size=tf.constant(3), seed=tf.constant(7, tf.int64))
        b = g.signatures["sample"](batch_size=tf.constant(3), seed=tf.constant(7, tf.int64))
        c = g.signatures["sample"](batch_size=tf.constant(3), seed=tf.constant(8, tf.int64))
        report["sample_shape"] = a["voxels"].shape.as_list()
        report["sample_repeatable"] = bool(np.array_equal(a["voxels"].numpy(), b["voxels"].numpy()))
        report["sample_seed_matters"] = not np.array_equal(a["z"].numpy(), c["z"].numpy())
        report["sample_z_range"] = [float(a["z"].numpy().min()), float(a["z"].numpy().max())]
        report["sample_matches_decode"] = float(np.abs(
            g.signatures["serving_default"](z=a["z"])["voxels"].numpy() - a["voxels"].numpy()).max())
        errors = {}
        bad_inputs = {"shape": tf.zeros([2, z.shape[1] + 1]), "dtype": tf.zeros([2, z.shape[1]], tf.float64)}
        for label, bad in bad_inputs.items():
            try:
                g.signatures["serving_default"](z=bad)
                errors[label] = None
            except (TypeError, ValueError, tf.errors.InvalidArgumentError) as e:
                errors[label] = type(e).__name__ + ": " + str(e)[:300]
        report["errors"] = errors
        f = tf.saved_model.load(sm + "/gan3d_features/1")
        report["features_spec"] = spec(f.signatures["serving_default"])
        served_features = f.signatures["serving_default"](voxels=tf.constant(x))["features"].numpy()
        np.save(tmp + "/served_features.npy", served_features)
        c = tf.saved_model.load(sm + "/gan3d_classifier/1")
        report["classifier_spec"] = spec(c.signatures["serving_default"])
        res = c.signatures["serving_default"](voxels=tf.constant(x))
        report["class_id"] = res["class_id"].numpy().tolist()
        report["class_name"] = [s.decode() for s in res["class_name"].numpy()]
        report["prob_sums"] = res["probabilities"].numpy().sum(1).tolist()
        report["prob_argmax"] = res["probabilities"].numpy().argmax(1).tolist()
        report["gan3d_tf_imported"] = any(m.startswith("gan3d_tf") for m in sys.modules)
        print(json.dumps(report))
    """,
        root / "sm",
        tmp_path,
    )
    r = g.resolution
    assert not out["gan3d_tf_imported"]
    assert out["generator_signatures"] == ["sample", "serving_default"]
    assert out["generator_spec"] == {
        "inputs": {"z": ["float32", [None, g.z_dim]]},
        "outputs": {"voxels": ["float32", [None, r, r, r]]},
    }
    assert out["sample_spec"]["inputs"] == {"batch_size": ["int32", []], "seed": ["int64", []]}
    assert out["sample_spec"]["outputs"]["voxels"] == ["float32", [None, r, r, r]]
    assert out["sample_shape"] == [3, r, r, r] and out["sample_repeatable"] and out["sample_seed_matters"]
    assert 0 <= out["sample_z_range"][0] and out["sample_z_range"][1] <= 1 and out["sample_matches_decode"] < 1e-6
    # the served generator is the trained one: same z, same voxels
    np.testing.assert_allclose(np.load(tmp_path / "served_voxels.npy"), np.asarray(g(z, training=False)), atol=1e-5)
    # wrong input is refused by TensorFlow, not broadcast or cast
    assert out["errors"]["shape"] and out["errors"]["dtype"], out["errors"]
    assert out["features_spec"] == {
        "inputs": {"voxels": ["float32", [None, r, r, r]]},
        "outputs": {"features": ["float32", [None, 8 * sum(d.widths[-3:])]]},
    }
    np.testing.assert_allclose(
        np.load(tmp_path / "served_features.npy"), extract_features(d, test.voxels), rtol=1e-4, atol=1e-4
    )
    assert out["classifier_spec"]["outputs"] == {
        "class_id": ["int64", [None]],
        "class_name": ["string", [None]],
        "probabilities": ["float32", [None, 3]],
        "scores": ["float32", [None, 3]],
    }
    # the folded SVM decides exactly as scikit-learn's
    expected = pipeline.predict(extract_features(d, test.voxels))
    assert out["class_id"] == expected.tolist()
    assert out["class_name"] == [CLASSES[i] for i in expected]
    assert out["prob_argmax"] == expected.tolist()
    np.testing.assert_allclose(out["prob_sums"], 1.0, atol=1e-5)


@pytest.mark.slow
def test_served_voxels_outside_0_1_are_refused(exported):
    """Voxel values outside [0, 1], or NaN, fail with an error naming the input and the range, not a silent result."""
    root, _ = exported
    out = run_python(
        """
        import json, sys
        import numpy as np
        import tensorflow as tf
        report = {}
        for name in ("gan3d_features", "gan3d_classifier"):
            f = tf.saved_model.load(sys.argv[1] + "/" + name + "/1").signatures["serving_default"]
            r = f.structured_input_signature[1]["voxels"].shape[1]
            probabilities = np.full((2, r, r, r), 0.5, np.float32)
            report[name + "/0.5"] = sorted(f(voxels=tf.constant(probabilities)))  # probabilities are fine
            for label, value in {"2": 2.0, "-0.5": -0.5, "nan": np.nan, "255": 255.0}.items():
                bad = probabilities.copy()
                bad[1, 0, 0, 0] = value
                try:
                    f(voxels=tf.constant(bad))
                    report[name + "/" + label] = None
                except tf.errors.InvalidArgumentError as e:
                    report[name + "/" + label] = e.message
        print(json.dumps(report))
    """,
        root / "sm",
    )
    assert out.pop("gan3d_features/0.5") == ["features"]
    assert out.pop("gan3d_classifier/0.5") == ["class_id", "class_name", "probabilities", "scores"]
    assert len(out) == 8
    for case, message in out.items():
        assert message and "voxels must hold values in [0, 1] (no NaN)" in message, (case, message)


@pytest.mark.slow
def test_saved_model_cli_show_and_run(exported, tmp_path):
    root, _ = exported
    g, _ = _networks(root / "run")
    version = root / "sm" / "gan3d_generator" / "1"
    show = subprocess.run(
        ["saved_model_cli", "show", "--all", "--dir", str(version)],
        capture_output=True,
        text=True,
        env=ENV,
        timeout=300,
    )
    assert show.returncode == 0, show.stderr[-2000:]
    for needle in (
        "signature_def['serving_default']",
        "signature_def['sample']",
        "inputs['z']",
        "outputs['voxels']",
        "tensorflow/serving/predict",
    ):
        assert needle in show.stdout
    z = np.random.default_rng(1).uniform(size=(2, g.z_dim)).astype(np.float32)
    np.save(tmp_path / "z.npy", z)
    run = subprocess.run(
        [
            "saved_model_cli",
            "run",
            "--dir",
            str(version),
            "--tag_set",
            "serve",
            "--signature_def",
            "serving_default",
            "--inputs",
            f"z={tmp_path / 'z.npy'}",
            "--outdir",
            str(tmp_path / "out"),
        ],
        capture_output=True,
        text=True,
        env=ENV,
        timeout=300,
    )
    assert run.returncode == 0, run.stderr[-2000:]
    np.testing.assert_allclose(np.load(tmp_path / "out" / "voxels.npy"), np.asarray(g(z, training=False)), atol=1e-5)


@pytest.mark.slow
def test_keras_files_load_elsewhere_in_safe_mode(exported, tmp_path):
    root, _ = exported
    g, d = _networks(root / "run")
    z = np.random.default_rng(2).uniform(size=(3, g.z_dim)).astype(np.float32)
    np.save(tmp_path / "z.npy", z)
    out = run_python(
        """
        import json, sys
        import numpy as np
        import gan3d_tf  # registers the classes; nothing else is needed
        import keras
        folder, tmp = sys.argv[1], sys.argv[2]
        g = keras.saving.load_model(folder + "/generator.keras", safe_mode=True)
        d = keras.saving.load_model(folder + "/discriminator.keras", safe_mode=True)
        voxels = np.asarray(g(np.load(tmp + "/z.npy"), training=False))
        np.save(tmp + "/voxels.npy", voxels)
        np.save(tmp + "/logits.npy", np.asarray(d(voxels, training=False)))
        print(json.dumps({"g": type(g).__name__, "d": type(d).__name__, "policy": g.dtype_policy.name}))
    """,
        root / "sm" / "keras" / "1",
        tmp_path,
    )
    assert out == {"g": "Generator", "d": "Discriminator", "policy": "float32"}
    voxels = np.asarray(g(z, training=False))
    np.testing.assert_allclose(np.load(tmp_path / "voxels.npy"), voxels, atol=1e-5)
    np.testing.assert_allclose(np.load(tmp_path / "logits.npy"), np.asarray(d(voxels, training=False)), atol=1e-4)


@pytest.mark.parametrize("n_classes", [2, 4])
def test_fold_svm_equals_the_pipeline(n_classes):
    from gan3d_tf.evaluation.classify import fit_svm
    from gan3d_tf.serving.export import fold_svm

    rng = np.random.default_rng(0)
    x = rng.normal(3.0, 2.0, size=(80, 12))
    y = np.arange(80) % n_classes
    x[np.arange(80), y] += 3
    pipeline, _, _ = fit_svm(x, y)
    w, b = fold_svm(pipeline)
    scores = x @ w + b
    decision = pipeline.decision_function(x)
    if n_classes == 2:
        np.testing.assert_allclose(scores[:, 1], decision, rtol=1e-4, atol=1e-4)
    else:
        np.testing.assert_allclose(scores, decision, rtol=1e-4, atol=1e-4)
    assert (scores.argmax(1) == pipeline.predict(x)).all()


def test_fit_temperature_recovers_a_known_scale():
    from gan3d_tf.serving.export import fit_temperature

    rng = np.random.default_rng(0)
    scores = rng.normal(size=(4000, 3))
    logits = 2.5 * scores
    p = np.exp(logits - logits.max(1, keepdims=True))
    p /= p.sum(1, keepdims=True)
    labels = np.array([rng.choice(3, p=row) for row in p])
    assert abs(fit_temperature(scores, labels) - 2.5) < 0.25


def test_export_cli_errors(tmp_path, capsys):
    import evaluate

    with pytest.raises(SystemExit):
        evaluate.main(["export", str(tmp_path)])
    assert "not a run directory" in capsys.readouterr().err


@pytest.mark.slow
def test_model_folders_export_what_they_hold(exported, tmp_path, capsys):
    """A generator-only folder (pretrained/<class>32) exports the generator servable; a D-only folder
    (pretrained/mn10-d) the features and classifier servables; each loads in a TensorFlow-only process."""
    import shutil

    import export as export_entry

    root, _ = exported
    keras_dir = root / "sm" / "keras" / "1"
    for name, parts in (("g-only", ("generator",)), ("d-only", ("discriminator",))):
        (tmp_path / name).mkdir()
        for part in parts:
            shutil.copy(keras_dir / f"{part}.keras", tmp_path / name / f"{part}.keras")
        (tmp_path / name / "metadata.json").write_text(json.dumps({"name": name, "data": {"source": "test"}}))
    assert export_entry.main([str(tmp_path / "g-only"), "--out", str(tmp_path / "g")]) == 0
    assert sorted(p.name for p in (tmp_path / "g").iterdir() if p.is_dir()) == ["gan3d_generator", "keras"]
    assert (
        export_entry.main(
            [str(tmp_path / "d-only"), "--classifier-data", str(root / "set.npz"), "--out", str(tmp_path / "d")]
        )
        == 0
    )
    assert sorted(p.name for p in (tmp_path / "d").iterdir() if p.is_dir()) == [
        "gan3d_classifier",
        "gan3d_features",
        "keras",
    ]
    assert sorted(p.name for p in (tmp_path / "d" / "keras" / "1").glob("*.keras")) == ["discriminator.keras"]
    meta = json.loads((tmp_path / "d" / "gan3d_features" / "1" / "assets.extra" / "metadata.json").read_text())
    assert meta["name"] == "d-only" and meta["training_data"] == {"source": "test"} and "z_dim" not in meta
    capsys.readouterr()
    assert (
        export_entry.main(
            [str(tmp_path / "g-only"), "--classifier-data", str(root / "set.npz"), "--out", str(tmp_path / "x")]
        )
        == 2
    )
    assert "holds no discriminator" in capsys.readouterr().err and not (tmp_path / "x").exists()
    out = run_python(
        """
        import json, sys
        import numpy as np
        import tensorflow as tf
        g = tf.saved_model.load(sys.argv[1] + "/gan3d_generator/1")
        shapes = g.signatures["serving_default"](z=tf.zeros([2, g.signatures["serving_default"]
                                                  .structured_input_signature[1]["z"].shape[1]]))
        f = tf.saved_model.load(sys.argv[2] + "/gan3d_features/1")
        feats = f.signatures["serving_default"](voxels=tf.zeros([3, 16, 16, 16]))
        print(json.dumps({"g": {k: list(v.shape) for k, v in shapes.items()},
                          "f": {k: list(v.shape) for k, v in feats.items()}}))
    """,
        tmp_path / "g",
        tmp_path / "d",
    )
    assert list(out["g"].values())[0][0] == 2 and list(out["f"].values())[0][0] == 3, out
