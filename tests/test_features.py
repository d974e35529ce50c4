"""Discriminator features and the SVM classification path on a small labelled set."""

import json

import numpy as np
import pytest

import evaluate
from conftest import tiny_config
from gan3d_tf import Discriminator, get_preset
from gan3d_tf import training
from gan3d_tf.evaluation.classify import fit_svm, mcnemar, random_twin, score
from gan3d_tf.evaluation.features import extract_features, feature_extractor, feature_size


@pytest.mark.parametrize("preset", ["paper64", "modelnet32"])
def test_feature_size_is_7168(preset):
    d = Discriminator(get_preset(preset).model.d_widths)
    assert feature_extractor(d).output_shape == (None, 7168) == (None, feature_size(d))


def test_features_are_max_pooled_activations():
    d = Discriminator((8, 16))  # 16^3: layers 8x8^3 and 16x4^3, each pooled to 2^3
    x = (np.random.default_rng(0).random((3, 16, 16, 16)) < 0.2).astype(np.float32)
    f = extract_features(d, x, batch_size=2)
    assert f.shape == (3, 8 * (8 + 16))
    import keras

    act = keras.Model(d.input, d.get_layer("lrelu1").output)(x, training=False).numpy()  # [3, 8, 8, 8, 8]
    pooled = act.reshape(3, 2, 4, 2, 4, 2, 4, 8).max(axis=(2, 4, 6)).reshape(3, -1)
    np.testing.assert_allclose(f[:, :64], pooled, rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match=r"\[N, 16, 16, 16\]"):
        extract_features(d, x[:, :8])


@pytest.mark.parametrize("norm,mbstd", [("layer", 4), ("spectral", 0), ("none", 2)])
def test_random_baseline_has_the_trained_d_architecture(norm, mbstd):
    d = Discriminator((8, 16), norm=norm, minibatch_std=mbstd)
    twin = random_twin(d)
    assert (twin.norm, twin.minibatch_std, twin.widths) == (norm, mbstd, (8, 16))
    assert [w.shape for w in twin.weights] == [w.shape for w in d.weights]
    assert [layer.__class__ for layer in twin.layers] == [layer.__class__ for layer in d.layers]
    kernels = [(a.numpy(), b.numpy()) for a, b in zip(d.weights, twin.weights) if "kernel" in a.path]
    assert kernels and all(not np.array_equal(a, b) for a, b in kernels)  # fresh weights, not a copy


def labelled_boxes(n_per_class, seed):
    """Two separable classes: tall thin boxes and flat wide boxes."""
    rng = np.random.default_rng(seed)
    x = np.zeros((2 * n_per_class, 16, 16, 16), np.uint8)
    for i in range(2 * n_per_class):
        a, h = (rng.integers(2, 4), rng.integers(10, 16)) if i % 2 == 0 else (rng.integers(8, 14), rng.integers(2, 4))
        x[i, 8 - a // 2 : 8 + a // 2 + 1, 8 - a // 2 : 8 + a // 2 + 1, :h] = 1
    return x, np.arange(2 * n_per_class) % 2


def test_svm_on_features_separates_two_classes():
    d = Discriminator((8, 16))
    xtr, ytr = labelled_boxes(20, 0)
    xte, yte = labelled_boxes(10, 1)
    model, alpha, cv = fit_svm(extract_features(d, xtr), ytr)
    result = score(model, extract_features(d, xte), yte, ("tall", "flat"))
    assert result["accuracy"] >= 0.9 and cv >= 0.8
    assert set(result["per_class"]) == {"tall", "flat"} and np.sum(result["confusion"]) == 20


def test_mcnemar_against_hand_computation():
    a = np.array([1, 1, 1, 1, 1, 0, 1, 0], bool)
    b = np.array([1, 0, 0, 0, 0, 1, 1, 0], bool)
    r = mcnemar(a, b)  # a alone right on 4 examples, b alone on 1
    # two-sided exact binomial p of 4 in 5 at 1/2: P(X <= 1) + P(X >= 4) = (1 + 5 + 5 + 1) / 32
    assert r["a_only_right"] == 4 and r["b_only_right"] == 1 and r["p_value"] == pytest.approx(12 / 32)
    assert mcnemar(a, a)["p_value"] == 1.0
    assert mcnemar(np.ones(30, bool), np.zeros(30, bool))["p_value"] == pytest.approx(2 * 0.5**30)
    with pytest.raises(ValueError, match="equal-length"):
        mcnemar(a, b[:3])


@pytest.mark.slow
def test_classify_command(tmp_path, capsys):
    xtr, ytr = labelled_boxes(15, 0)
    xte, yte = labelled_boxes(6, 1)
    np.savez(tmp_path / "set.npz", X_train=xtr, y_train=ytr, X_test=xte, y_test=yte, classes=np.array(["tall", "flat"]))
    training.train(tiny_config(**{"train.epochs": 1}), tmp_path / "run", verbose=0)
    code = evaluate.main(
        [
            "classify",
            "--model",
            str(tmp_path / "run"),
            "--data",
            str(tmp_path / "set.npz"),
            "--json",
            str(tmp_path / "out" / "report.json"),
        ]
    )
    assert code == 0
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    table = capsys.readouterr().out  # the short table; the full report went to --json
    acc = report["accuracy"]
    for name, key in (("trained D", "gan"), ("random D", "random_d"), ("raw voxels", "raw_voxels")):
        assert f"{name:12}{100 * acc[key]:9.1f}%" in table, table
    assert f"McNemar p = {report['gan_vs_random_d']['p_value']:.2g}" in table
    assert set(report["accuracy"]) == {"gan", "random_d", "raw_voxels"}
    assert report["n_test"] == 12 and report["classes"] == ["tall", "flat"]
    assert all(0 <= a <= 1 for a in report["accuracy"].values())
    assert report["accuracy"]["raw_voxels"] >= 0.9  # raw voxels separate these trivially
    test = report["gan_vs_random_d"]
    assert 0 <= test["a_only_right"] + test["b_only_right"] <= 12 and 0 < test["p_value"] <= 1
    assert (tmp_path / "out" / "report.png").stat().st_size > 0 and report["model"] == str(tmp_path / "run")


@pytest.mark.slow
def test_classify_an_earlier_checkpoint(tmp_path, capsys):
    xtr, ytr = labelled_boxes(8, 0)
    np.savez(tmp_path / "set.npz", X_train=xtr, y_train=ytr, X_test=xtr, y_test=ytr, classes=np.array(["tall", "flat"]))
    training.train(tiny_config(), tmp_path / "run", verbose=0)  # 2 epochs of 3 steps: ckpt-3 and ckpt-6
    argv = ["classify", "--model", str(tmp_path / "run"), "--data", str(tmp_path / "set.npz")]
    assert evaluate.main(argv + ["--checkpoint", "ckpt-3", "--json", str(tmp_path / "r.json")]) == 0
    report = json.loads((tmp_path / "r.json").read_text())
    assert report["checkpoint"] == str(tmp_path / "run" / "checkpoints" / "ckpt-3")
    with pytest.raises(SystemExit) as e:
        evaluate.main(argv + ["--checkpoint", "ckpt-5"])
    assert e.value.code == 2 and "no checkpoint" in capsys.readouterr().err


@pytest.mark.slow
def test_classify_over_seeds(tmp_path, capsys):
    xtr, ytr = labelled_boxes(15, 0)
    xte, yte = labelled_boxes(6, 1)
    np.savez(tmp_path / "set.npz", X_train=xtr, y_train=ytr, X_test=xte, y_test=yte, classes=np.array(["tall", "flat"]))
    training.train(tiny_config(**{"train.epochs": 1}), tmp_path / "run", verbose=0)
    argv = ["classify", "--model", str(tmp_path / "run"), "--data", str(tmp_path / "set.npz"), "--seed", "3"]
    assert evaluate.main(argv + ["--json", str(tmp_path / "one.json")]) == 0
    single = json.loads((tmp_path / "one.json").read_text())
    assert evaluate.main(argv + ["--seeds", "3", "--json", str(tmp_path / "three.json")]) == 0
    report = json.loads((tmp_path / "three.json").read_text())
    assert "p < 0.01 at" in capsys.readouterr().out.splitlines()[-2]  # the table's margin line, over seeds
    seeds = report["over_seeds"]
    assert seeds["seeds"] == [3, 4, 5] and "over_seeds" not in single
    # the first seed's headline is the single-seed run's, and its accuracies are the first of each list
    assert report["accuracy"] == single["accuracy"] and report["gan_vs_random_d"] == single["gan_vs_random_d"]
    assert all(seeds["accuracy"][k][0] == single["accuracy"][k] for k in single["accuracy"])
    margins = [a - b for a, b in zip(seeds["accuracy"]["gan"], seeds["accuracy"]["random_d"])]
    assert seeds["margin"] == pytest.approx(margins) and seeds["margin_mean"] == pytest.approx(np.mean(margins))
    assert seeds["mean"]["gan"] == pytest.approx(np.mean(seeds["accuracy"]["gan"]))
    assert seeds["std"]["random_d"] == pytest.approx(np.std(seeds["accuracy"]["random_d"], ddof=1))
    assert len(seeds["gan_vs_random_d"]) == 3
    with pytest.raises(SystemExit) as e:
        evaluate.main(argv + ["--seeds", "0"])
    assert e.value.code == 2 and "--seeds must be >= 1" in capsys.readouterr().err


def borderline_boxes(n, seed):
    """Two classes that overlap: boxes labelled by whether they are taller than wide, many of them nearly square,
    so that the classifiers of `classify` err, and not on the same grids."""
    rng = np.random.default_rng(seed)
    x = np.zeros((n, 16, 16, 16), np.uint8)
    y = np.zeros(n, int)
    for i in range(n):
        a, b, h = rng.integers(3, 13, size=3)
        x[i, 8 - a // 2 : 8 + (a + 1) // 2, 8 - b // 2 : 8 + (b + 1) // 2, :h] = 1
        y[i] = int(h > (a + b) / 2)
    return x, y


@pytest.mark.slow
def test_classify_mcnemar_is_recomputed_from_the_per_example_results(tmp_path, capsys):
    xtr, ytr = borderline_boxes(60, 0)
    xte, yte = borderline_boxes(40, 1)
    np.savez(tmp_path / "set.npz", X_train=xtr, y_train=ytr, X_test=xte, y_test=yte, classes=np.array(["flat", "tall"]))
    training.train(tiny_config(**{"train.epochs": 1}), tmp_path / "run", verbose=0)
    assert (
        evaluate.main(
            [
                "classify",
                "--model",
                str(tmp_path / "run"),
                "--data",
                str(tmp_path / "set.npz"),
                "--seeds",
                "2",
                "--json",
                str(tmp_path / "r.json"),
            ]
        )
        == 0
    )
    report = json.loads((tmp_path / "r.json").read_text())
    runs = [report["test_correct"]] + report["over_seeds"]["test_correct"]
    tests = [report["gan_vs_random_d"]] + report["over_seeds"]["gan_vs_random_d"]
    assert runs[0] == runs[1] and tests[0] == tests[1]  # the headline is the first seed's
    assert any(t["a_only_right"] + t["b_only_right"] for t in tests)  # the two Ds disagree on some grids
    for correct, test in zip(runs, tests):
        right = {k: np.array([c == "1" for c in v]) for k, v in correct.items()}
        assert set(right) == {"gan", "random_d", "raw_voxels"} and {len(v) for v in right.values()} == {40}
        assert mcnemar(right["gan"], right["random_d"]) == test
    for k, accuracies in report["over_seeds"]["accuracy"].items():
        assert accuracies == pytest.approx([np.mean([c == "1" for c in r[k]]) for r in runs[1:]]), k
