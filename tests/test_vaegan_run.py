"""3D-VAE-GAN end to end: train.py --model vaegan, exact resume, the separate recipe, IKEA evaluation, export."""

import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from conftest import tiny_config

ENV = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")


def vaegan_config(**overrides):
    """A 16^3 VAE-GAN with a narrow encoder on 64^2 images."""
    base = {
        "algorithm": "vaegan",
        "vaegan.image_size": 64,
        "vaegan.e_widths": (4, 8, 8, 16),
        "data.builtin_size": 16,
        "train.epochs": 1,
    }
    base.update(overrides)
    return tiny_config(**base)


@pytest.fixture(scope="module")
def vaegan_run(tmp_path_factory):
    from gan3d_tf import training

    run_dir = tmp_path_factory.mktemp("vaegan") / "run"
    training.train(vaegan_config(**{"vaegan.scene": "room"}), run_dir, verbose=0)
    return run_dir


@pytest.mark.slow
def test_run_directory_and_encoder_file(vaegan_run):
    import keras

    assert {"encoder.keras", "generator.keras", "discriminator.keras", "config.json"} <= set(os.listdir(vaegan_run))
    encoder = keras.saving.load_model(vaegan_run / "encoder.keras", safe_mode=True)
    assert encoder.image_size == 64 and encoder.z_dim == 16
    config = json.loads((vaegan_run / "config.json").read_text())
    assert config["algorithm"] == "vaegan" and config["vaegan"]["scene"] == "room"


@pytest.mark.slow
def test_every_saved_file_loads_in_a_fresh_process_with_only_gan3d_tf_imported(vaegan_run, tmp_path):
    """encoder.keras, generator.keras and discriminator.keras: `import gan3d_tf`, then safe-mode loads give the same
    outputs as the networks in this process."""
    import keras

    rng = np.random.default_rng(0)
    images = rng.uniform(size=(2, 64, 64, 3)).astype(np.float32)
    z = rng.normal(size=(2, 16)).astype(np.float32)
    np.savez(tmp_path / "inputs.npz", images=images, z=z)
    code = textwrap.dedent("""
        import json, sys
        import numpy as np
        import gan3d_tf  # the only project import: it must register every class these files use
        import keras
        run, tmp = sys.argv[1], sys.argv[2]
        x = np.load(tmp + "/inputs.npz")
        e = keras.saving.load_model(run + "/encoder.keras", safe_mode=True)
        g = keras.saving.load_model(run + "/generator.keras", safe_mode=True)
        d = keras.saving.load_model(run + "/discriminator.keras", safe_mode=True)
        mean = np.asarray(e(x["images"], training=False)[0])
        voxels = np.asarray(g(x["z"], training=False))
        np.savez(tmp + "/outputs.npz", mean=mean, voxels=voxels, logits=np.asarray(d(voxels, training=False)))
        print(json.dumps([type(m).__name__ for m in (e, g, d)]))
    """)
    proc = subprocess.run(
        [sys.executable, "-c", code, str(vaegan_run), str(tmp_path)],
        capture_output=True,
        text=True,
        env=ENV,
        cwd="/",
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert json.loads(proc.stdout.strip().splitlines()[-1]) == ["Encoder", "Generator", "Discriminator"]
    out = np.load(tmp_path / "outputs.npz")
    e, g, d = (keras.saving.load_model(vaegan_run / f"{p}.keras") for p in ("encoder", "generator", "discriminator"))
    np.testing.assert_allclose(out["mean"], np.asarray(e(images, training=False)[0]), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(out["voxels"], np.asarray(g(z, training=False)), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(out["logits"], np.asarray(d(out["voxels"], training=False)), rtol=1e-4, atol=1e-4)


@pytest.mark.slow
def test_exact_resume(tmp_path, deterministic_ops):
    from gan3d_tf import training

    whole = training.train(vaegan_config(**{"train.epochs": 2}), tmp_path / "whole", verbose=0)
    training.train(vaegan_config(), tmp_path / "split", verbose=0)
    resumed = training.train(vaegan_config(**{"train.epochs": 2}), tmp_path / "split", resume=True, verbose=0)
    for a, b in zip(
        whole.gan.encoder.weights + whole.gan.generator.weights,
        resumed.gan.encoder.weights + resumed.gan.generator.weights,
    ):
        np.testing.assert_array_equal(a.numpy(), b.numpy())


@pytest.mark.slow
def test_view_dataset_pairs_images_with_their_shapes():
    from gan3d_tf.data.pipeline import view_dataset
    from gan3d_tf.data.procedural import make_dataset

    voxels = make_dataset("table", 6, resolution=16, seed=0)
    ((images, grids),) = next(iter(view_dataset(voxels, 3, seed=0, image_size=64)))
    assert images.shape == (3, 64, 64, 3) and grids.shape == (3, 16, 16, 16)
    assert float(images.numpy().min()) >= 0 and float(images.numpy().max()) <= 1
    # each grid is one of the training shapes (the order is shuffled)
    for g in grids.numpy():
        assert any(np.array_equal(g, v) for v in voxels)
    # the same (seed, epoch) gives the same batch
    ((again, _),) = next(iter(view_dataset(voxels, 3, seed=0, image_size=64)))
    np.testing.assert_array_equal(images.numpy(), again.numpy())


@pytest.mark.slow
def test_view_distance_sets_the_size_of_the_shape_in_the_image():
    from gan3d_tf.data.pipeline import view_dataset
    from gan3d_tf.data.procedural import make_dataset

    voxels = make_dataset("table", 3, resolution=16, seed=0)

    def silhouette_fraction(distance):
        ((images, _),) = next(iter(view_dataset(voxels, 3, seed=0, image_size=64, distance_range=(distance, distance))))
        ((backgrounds, _),) = next(
            iter(view_dataset(np.zeros_like(voxels), 3, seed=0, image_size=64, distance_range=(distance, distance)))
        )
        return float(np.mean(np.abs(images.numpy() - backgrounds.numpy()).max(-1) > 1e-3))

    near, far = silhouette_fraction(1.3), silhouette_fraction(2.6)
    assert 0.02 < far and near > 2.5 * far  # 2x closer: about 4x the area


@pytest.mark.slow
def test_room_scene_reaches_the_views():
    from gan3d_tf.data.pipeline import view_dataset
    from gan3d_tf.data.procedural import make_dataset

    voxels = make_dataset("bed", 2, resolution=16, seed=0)
    ((plain, grids),) = next(iter(view_dataset(voxels, 2, seed=0, image_size=64)))
    ((room, same),) = next(iter(view_dataset(voxels, 2, seed=0, image_size=64, scene="room")))
    np.testing.assert_array_equal(grids.numpy(), same.numpy())
    assert np.abs(room.numpy() - plain.numpy()).mean() > 0.02


def test_config_default_view_distance_is_the_renderers():
    from gan3d_tf.config import VAEGANConfig
    from gan3d_tf.data.views import DISTANCE_RANGE

    assert tuple(VAEGANConfig().view_distance) == DISTANCE_RANGE


@pytest.mark.slow
def test_separate_recipe_starts_from_the_gan_run(tmp_path, capsys):
    import train
    from gan3d_tf import training
    from gan3d_tf.training.run_dir import load_network

    gan_dir = tmp_path / "gan"
    training.train(tiny_config(**{"train.epochs": 1}), gan_dir, verbose=0)
    config, _ = train.resolve_config(
        train.parse_args(["--model", "vaegan", "--recipe", "separate", "--gan-run", str(gan_dir), "--preset", "smoke"])
    )
    assert config.model.resolution == 16 and config.model.g_widths == (16, 8)  # the GAN run's architecture
    config = config.replace(
        **{
            "vaegan.image_size": 64,
            "vaegan.e_widths": (4, 8, 8, 16),
            "data.builtin_size": 16,
            "train.batch_size": 8,
            "train.epochs": 1,
        }
    )
    run = training.train(config, tmp_path / "sep", verbose=0)
    trained_g = load_network(gan_dir, "generator")
    for a, b in zip(trained_g.weights, run.gan.generator.weights):  # G stayed the GAN run's
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    # flags that do not apply are refused before any work
    code = train.main(["--recipe", "separate", "--out", str(tmp_path / "x")])
    assert code == 2 and "--model vaegan only" in capsys.readouterr().err
    code = train.main(["--model", "vaegan", "--recipe", "separate", "--out", str(tmp_path / "y")])
    assert code == 2 and "needs vaegan.gan_run" in capsys.readouterr().err


@pytest.mark.slow
def test_separate_recipe_from_init_from_trains_the_encoder_only(vaegan_run, tmp_path, capsys):
    import train
    from gan3d_tf import training

    config, _ = train.resolve_config(
        train.parse_args(
            ["--init-from", str(vaegan_run), "--recipe", "separate", "--scene", "photo", "--out", str(tmp_path / "e")]
        )
    )
    assert config.vaegan.recipe == "separate" and config.vaegan.gan_run is None and config.vaegan.scene == "photo"
    run = training.train(config.replace(**{"train.epochs": 1}), tmp_path / "e", verbose=0)
    assert int(run.gan.e_optimizer.iterations.numpy()) > 0
    source = training.open_run(
        train.resolve_config(train.parse_args(["--init-from", str(vaegan_run)]))[0], tmp_path / "unused"
    )
    for part in ("generator", "discriminator"):  # fixed: still the source run's
        for a, b in zip(getattr(source.gan, part).weights, getattr(run.gan, part).weights, strict=True):
            np.testing.assert_array_equal(a.numpy(), b.numpy())
    assert any(
        not np.array_equal(a.numpy(), b.numpy())  # the encoder trained
        for a, b in zip(source.gan.encoder.weights, run.gan.encoder.weights)
    )
    code = train.main(
        [
            "--init-from",
            str(vaegan_run),
            "--recipe",
            "separate",
            "--gan-run",
            str(vaegan_run),
            "--out",
            str(tmp_path / "g"),
        ]
    )
    assert code == 2 and "--gan-run does not apply with --init-from" in capsys.readouterr().err
    assert not (tmp_path / "g").exists()


@pytest.mark.slow
def test_init_from_copies_the_networks_and_starts_fresh(vaegan_run, tmp_path):
    import keras

    import train
    from gan3d_tf import training

    config, _ = train.resolve_config(
        train.parse_args(
            ["--init-from", str(vaegan_run), "--e-lr", "0.001", "--seed", "3", "--out", str(tmp_path / "ft")]
        )
    )
    assert config.train.init_from == str(vaegan_run) and config.vaegan.e_learning_rate == 0.001
    assert config.vaegan.scene == "room" and config.model.resolution == 16  # the rest comes from the source run
    run = training.open_run(config, tmp_path / "ft")
    for part in ("encoder", "generator", "discriminator"):
        source = keras.saving.load_model(vaegan_run / f"{part}.keras")
        target = getattr(run.gan, part)
        for a, b in zip(source.weights, target.weights, strict=True):
            np.testing.assert_array_equal(a.numpy(), b.numpy())
    assert int(run.epoch.numpy()) == 0 and int(run.gan.e_optimizer.iterations.numpy()) == 0
    assert float(run.gan.e_optimizer.learning_rate.numpy()) == pytest.approx(0.001)
    # a fine-tuned run trains and resumes like any other
    config = config.replace(**{"train.epochs": 1})
    training.train(config, tmp_path / "ft", verbose=0)
    assert json.loads((tmp_path / "ft" / "config.json").read_text())["train"]["init_from"] == str(vaegan_run)


@pytest.mark.slow
def test_init_from_refuses_bad_flags_before_any_work(vaegan_run, tmp_path, capsys):
    import train

    code = train.main(["--init-from", str(vaegan_run), "--image-size", "128", "--out", str(tmp_path / "a")])
    assert code == 2 and "vaegan.image_size=64" in capsys.readouterr().err
    code = train.main(["--init-from", str(vaegan_run), "--z-prior", "normal", "--out", str(tmp_path / "b")])
    assert code == 2 and "model.z_distribution" in capsys.readouterr().err
    code = train.main(["--init-from", str(vaegan_run), "--preset", "smoke", "--out", str(tmp_path / "c")])
    assert code == 2 and "--preset does not apply" in capsys.readouterr().err
    code = train.main(["--init-from", str(tmp_path / "nowhere"), "--out", str(tmp_path / "d")])
    assert code == 2 and "nowhere" in capsys.readouterr().err
    assert not any((tmp_path / d).exists() for d in "abcd")


@pytest.mark.slow
def test_init_from_a_gan_run_gives_a_vaegan_a_trained_g_and_d(tmp_path):
    from gan3d_tf import training
    from gan3d_tf.training.run_dir import load_network

    gan_dir = tmp_path / "gan"
    training.train(tiny_config(**{"train.epochs": 1}), gan_dir, verbose=0)
    config = vaegan_config(**{"train.init_from": str(gan_dir)})
    run = training.open_run(config, tmp_path / "v")
    for part in ("generator", "discriminator"):
        for a, b in zip(load_network(gan_dir, part).weights, getattr(run.gan, part).weights, strict=True):
            np.testing.assert_array_equal(a.numpy(), b.numpy())
    import train

    with pytest.raises(ValueError, match="--e-lr applies to --model vaegan only"):  # the source is a 3D-GAN run
        train.resolve_config(train.parse_args(["--init-from", str(gan_dir), "--e-lr", "1e-3"]))
    fresh = training.open_run(vaegan_config(), tmp_path / "w")  # the encoder is new: same as without --init-from
    for a, b in zip(fresh.gan.encoder.weights, run.gan.encoder.weights, strict=True):
        np.testing.assert_array_equal(a.numpy(), b.numpy())


@pytest.mark.slow
def test_reconstruct_on_ikea(vaegan_run, shared_data, tmp_path, capsys):
    import evaluate

    code = evaluate.main(
        [
            "reconstruct",
            "--model",
            str(vaegan_run),
            "--ikea",
            str(shared_data / "ikea"),
            "--json",
            str(tmp_path / "ikea.json"),
        ]
    )
    assert code == 0
    report = json.loads((tmp_path / "ikea.json").read_text())
    assert set(report["ap"]) == {"bed", "bookcase", "chair", "desk", "sofa", "table"}
    assert all(0 < v <= 1 for v in report["ap"].values())
    assert report["mean_ap"] == pytest.approx(np.mean(list(report["ap"].values())))
    assert report["n_images"] == 937 and 0 <= report["iou"] <= 1 and report["iou_threshold"] == 0.5
    assert (tmp_path / "ikea.png").stat().st_size > 10_000
    baseline = report["baseline_mean_shape"]
    assert set(baseline["ap"]) == set(report["ap"]) and 0 < baseline["mean_ap"] < 1
    assert "category_accuracy" not in report  # the run trained on chairs only: no class to match the others
    latent = report["latent"]
    assert latent["kl_nats"] > 0 and latent["sigma_ratio"] > 0 and latent["spread_ratio"] > 0
    assert 0 <= latent["probe_accuracy"] <= 1  # six IKEA categories
    assert json.loads(capsys.readouterr().out)["mean_ap"] == report["mean_ap"]


@pytest.mark.slow
def test_heldout_views_score_shapes_the_run_never_saw(vaegan_run, shared_data, tmp_path):
    import evaluate
    from gan3d_tf.config import Config
    from gan3d_tf.evaluation.reconstruct import heldout_shapes
    from gan3d_tf.training import load_training_data

    config = Config.from_json(vaegan_run / "config.json")
    voxels, labels, classes = heldout_shapes(config, 5)
    train = load_training_data(config).voxels
    assert voxels.shape == (5, 16, 16, 16) and classes == ("chair",) and set(labels) == {0}
    assert not any(np.array_equal(v, t) for v in voxels for t in train)  # new built-in shapes
    # with a data file: its test split
    rng = np.random.default_rng(0)
    x_test = (rng.random((4, 16, 16, 16)) < 0.3).astype(np.uint8)
    np.savez(
        tmp_path / "d.npz",
        X_train=x_test[:2],
        y_train=np.zeros(2, int),
        X_test=x_test,
        y_test=np.array([0, 1, 0, 1]),
        classes=np.array(["chair", "sofa"]),
    )
    voxels, labels, classes = heldout_shapes(
        config.replace(**{"data.path": str(tmp_path / "d.npz"), "data.category": "all"}), 3
    )
    assert classes == ("chair", "sofa") and len(voxels) == 3
    assert all(any(np.array_equal(v, t) for t in x_test[labels[i] :: 2]) for i, v in enumerate(voxels))

    code = evaluate.main(
        [
            "reconstruct",
            "--model",
            str(vaegan_run),
            "--ikea",
            str(shared_data / "ikea"),
            "--views",
            "6",
            "--json",
            str(tmp_path / "r.json"),
        ]
    )
    views = json.loads((tmp_path / "r.json").read_text())["heldout_views"]
    assert code == 0 and views["n_views"] == 6 and views["resolution"] == 16 and set(views["ap"]) == {"chair"}
    assert 0 < views["mean_ap"] <= 1 and 0 < views["baseline_mean_shape"]["mean_ap"] <= 1
    # one class: its mean is the overall mean, and every prediction is nearest to it
    assert views["baseline_class_mean"]["mean_ap"] == pytest.approx(views["baseline_mean_shape"]["mean_ap"])
    assert views["category_accuracy"] == 1.0 and views["category_confusion"]["counts"] == [[6]]
    assert views["scene"] == "room"  # the run's training scene
    with pytest.raises(SystemExit):
        evaluate.parse_args(
            ["reconstruct", "--model", str(vaegan_run), "--ikea", str(shared_data / "ikea"), "--views", "-1"]
        )
    with pytest.raises(SystemExit):  # --views-scene without --views would be ignored
        evaluate.parse_args(
            ["reconstruct", "--model", str(vaegan_run), "--ikea", str(shared_data / "ikea"), "--views-scene", "plain"]
        )


@pytest.mark.slow
def test_heldout_views_in_another_scene(vaegan_run):
    from gan3d_tf.evaluation.reconstruct import evaluate_views, load_image_to_shape

    encoder, generator = load_image_to_shape(vaegan_run)
    room = evaluate_views(encoder, generator, vaegan_run, 6)
    again = evaluate_views(encoder, generator, vaegan_run, 6, scene="room")
    plain = evaluate_views(encoder, generator, vaegan_run, 6, scene="plain")
    assert again == room and plain["scene"] == "plain"
    assert plain["mean_ap"] != room["mean_ap"]  # other images, other predictions
    assert plain["baseline_mean_shape"] == room["baseline_mean_shape"]  # the same held-out shapes


def test_latent_summary_against_a_hand_computation():
    from gan3d_tf.evaluation.reconstruct import latent_summary

    rng = np.random.default_rng(0)
    labels = np.repeat([0, 1], 20)
    mean = np.zeros((40, 4), np.float32)
    mean[:, 0] = np.where(labels == 0, -1.0, 1.0) + 0.1 * rng.standard_normal(40)  # class in dimension 0
    log_variance = np.full((40, 4), np.log(0.25), np.float32)  # sigma 0.5
    s = latent_summary(mean, log_variance, labels, "normal")
    # KL per dim: 0.5 * (0.25 + mu^2 - 1 - log 0.25), summed over 4 dims
    expected = np.mean(np.sum(0.5 * (0.25 + mean**2 - 1.0 - np.log(0.25)), axis=1))
    assert s["kl_nats"] == pytest.approx(expected, rel=1e-5)
    assert s["sigma_ratio"] == pytest.approx(0.5, rel=1e-5)
    assert s["spread_ratio"] == pytest.approx(mean.std(axis=0).mean(), rel=1e-5)
    assert s["probe_accuracy"] == 1.0  # linearly separable by class
    shuffled = latent_summary(mean, log_variance, rng.permutation(labels), "normal")
    assert shuffled["probe_accuracy"] < 0.8  # no class information
    uniform = latent_summary(
        np.full((40, 4), 0.5, np.float32), np.full((40, 4), np.log(1 / 12), np.float32), labels, "uniform"
    )  # exactly the moment-matched prior
    assert uniform["kl_nats"] == pytest.approx(0.0, abs=1e-5) and uniform["sigma_ratio"] == pytest.approx(1.0)
    assert "probe_accuracy" not in latent_summary(mean[:8], log_variance[:8], labels[:8], "normal")  # one class


def test_reference_scores_against_a_hand_computation():
    from sklearn.metrics import average_precision_score

    from gan3d_tf.evaluation.reconstruct import ShapeMeans, nearest_class, reference_scores

    rng = np.random.default_rng(0)
    per_class = rng.random((3, 4, 4, 4)).astype(np.float32)  # training classes: bed, bookshelf, sofa
    means = ShapeMeans(per_class.mean(0), ("bed", "bookshelf", "sofa"), per_class)
    targets = (rng.random((5, 4, 4, 4)) < 0.4).astype(np.uint8)
    labels = np.array([0, 1, 1, 0, 1])  # categories: bookcase, sofa
    # predictions: class means, one of them wrong (image 4 looks like a bed)
    predictions = per_class[[1, 2, 2, 1, 0]] + 0.01 * rng.random((5, 4, 4, 4))
    np.testing.assert_array_equal(nearest_class(predictions, per_class), [1, 2, 2, 1, 0])
    rename = {"bookshelf": "bookcase"}
    r = reference_scores(predictions, targets, labels, ("bookcase", "sofa"), means, lambda c: rename.get(c, c))
    assert r["category_accuracy"] == pytest.approx(4 / 5)
    assert r["category_confusion"]["columns"] == ["bed", "bookcase", "sofa"]
    assert r["category_confusion"]["counts"] == [[0, 2, 0], [1, 0, 2]]
    sofa = labels == 1
    expected = average_precision_score(targets[sofa].ravel(), np.repeat(per_class[2][None], 3, 0).ravel())
    assert r["baseline_class_mean"]["ap"]["sofa"] == pytest.approx(expected)
    expected = average_precision_score(targets[sofa].ravel(), np.repeat(means.overall[None], 3, 0).ravel())
    assert r["baseline_mean_shape"]["ap"]["sofa"] == pytest.approx(expected)
    # a category the run never trained on: only the mean-shape baseline
    r = reference_scores(predictions, targets, labels, ("bookcase", "sofa"), means)
    assert set(r) == {"baseline_mean_shape", "baseline_mean_shape_iou"}


def test_training_means_cover_the_trained_classes_only(tmp_path):
    """A run trained on one class of a data file (`--category chair`) has no NaN means for the file's other
    classes, so the class baselines and the category accuracy work (issue 19)."""
    from gan3d_tf.evaluation.reconstruct import reference_scores, training_means

    rng = np.random.default_rng(0)
    x = (rng.random((6, 16, 16, 16)) < 0.3).astype(np.uint8)
    np.savez(
        tmp_path / "d.npz", X_train=x, y_train=np.array([0, 1, 2, 1, 0, 1]), classes=np.array(["bed", "chair", "sofa"])
    )
    (tmp_path / "run").mkdir()
    tiny_config(**{"data.path": str(tmp_path / "d.npz"), "data.category": "chair"}).to_json(
        tmp_path / "run" / "config.json"
    )
    means = training_means(tmp_path / "run")
    assert means.classes == ("chair",) and np.isfinite(means.per_class).all()
    np.testing.assert_allclose(means.per_class[0], x[[1, 3, 5]].mean(0))
    targets = x[[1, 3]]
    # held-out chairs labelled in the file's classes, as `heldout_shapes` gives them
    r = reference_scores(targets.astype(np.float32), targets, np.array([1, 1]), ("bed", "chair", "sofa"), means)
    assert r["category_accuracy"] == 1.0 and r["category_confusion"]["columns"] == ["chair"]
    assert np.isfinite(r["baseline_class_mean"]["mean_ap"])
    # images of a class the run never trained on: only the mean-shape baseline
    r = reference_scores(targets.astype(np.float32), targets, np.array([0, 1]), ("bed", "chair"), means)
    assert set(r) == {"baseline_mean_shape", "baseline_mean_shape_iou"}


@pytest.mark.slow
def test_a_live_run_is_read_from_one_checkpoint(tmp_path, monkeypatch):
    import tensorflow as tf

    from gan3d_tf import training
    from gan3d_tf.evaluation import reconstruct
    from gan3d_tf.training.run_dir import load_network

    run_dir = tmp_path / "live"
    training.train(vaegan_config(**{"train.epochs": 2}), run_dir, verbose=0)
    for part in ("encoder", "generator", "discriminator"):
        (run_dir / f"{part}.keras").unlink()  # as while training: checkpoints only
    first, second = (
        p.with_suffix("").as_posix()
        for p in sorted(  # the two epoch ends, numbered by steps
            (run_dir / "checkpoints").glob("ckpt-*.index"), key=lambda p: int(p.stem[5:])
        )
    )
    e1, g1 = reconstruct.load_encoder(run_dir, first), load_network(run_dir, "generator", first)
    g2 = load_network(run_dir, "generator", second)
    assert not all(np.array_equal(a.numpy(), b.numpy()) for a, b in zip(g1.weights, g2.weights))
    # epoch 2's checkpoint lands between the two loads: both still come from epoch 1
    answers = iter([first, second, second])
    monkeypatch.setattr(tf.train, "latest_checkpoint", lambda _: next(answers))
    encoder, generator = reconstruct.load_image_to_shape(run_dir)
    for a, b in zip(e1.weights + g1.weights, encoder.weights + generator.weights, strict=True):
        np.testing.assert_array_equal(a.numpy(), b.numpy())


@pytest.mark.slow
def test_a_vaegan_run_whose_config_names_an_ema_reads_its_generator_from_a_checkpoint(tmp_path):
    """A VAE-GAN keeps no moving average of G, even when its config (e.g. from the chair32 preset) has ema_decay."""
    import tensorflow as tf

    from gan3d_tf import training
    from gan3d_tf.training.run_dir import load_network

    run_dir = tmp_path / "ema"
    training.train(vaegan_config(**{"train.ema_decay": 0.99}), run_dir, verbose=0)
    saved = [w.numpy() for w in load_network(run_dir / "generator.keras").weights]
    for part in ("encoder", "generator", "discriminator"):
        (run_dir / f"{part}.keras").unlink()
    generator = load_network(run_dir, "generator")  # from the checkpoint
    for a, b in zip(saved, generator.weights, strict=True):
        np.testing.assert_array_equal(a, b.numpy())
    assert tf.train.latest_checkpoint(run_dir / "checkpoints")


@pytest.mark.slow
def test_reconstruct_refuses_a_gan_run(tmp_path, capsys):
    import evaluate
    from gan3d_tf import training

    training.train(tiny_config(**{"train.epochs": 1}), tmp_path / "gan", verbose=0)
    os.makedirs(tmp_path / "ikea" / "Lists")
    (tmp_path / "ikea" / "Lists" / "Images.txt").write_text("")
    code = evaluate.main(["reconstruct", "--model", str(tmp_path / "gan"), "--ikea", str(tmp_path / "ikea")])
    assert code == 2 and "needs a 3D-VAE-GAN run" in capsys.readouterr().err


@pytest.mark.slow
def test_image_to_shape_export_in_a_tensorflow_only_process(vaegan_run, shared_data, tmp_path):
    from gan3d_tf.data.ikea import load_image
    from gan3d_tf.serving.export import export_run
    from gan3d_tf.evaluation.reconstruct import load_image_to_shape, predict

    result = export_run(vaegan_run, tmp_path / "sm")
    assert "gan3d_image_to_shape" in result["paths"]
    assert (tmp_path / "sm" / "keras" / "1" / "encoder.keras").is_file()
    photos = sorted((shared_data / "ikea" / "Images").iterdir())[:3]
    images = np.stack([load_image(p, 64) for p in photos])
    np.save(tmp_path / "images.npy", images)
    code = textwrap.dedent("""
        import json, sys
        import numpy as np
        import tensorflow as tf
        m = tf.saved_model.load(sys.argv[1])
        images = np.load(sys.argv[2] + "/images.npy")
        out = m.signatures["serving_default"](images=tf.constant(images))["voxels"].numpy()
        raw = tf.constant([open(p, "rb").read() for p in sys.argv[3:]])
        from_bytes = m.signatures["from_bytes"](image_bytes=raw)["voxels"].numpy()
        np.save(sys.argv[2] + "/served.npy", out)
        np.save(sys.argv[2] + "/served_bytes.npy", from_bytes)
        photo_and_text = tf.constant([raw.numpy()[0], b"<html>"])
        bad = {"not_an_image": lambda: m.signatures["from_bytes"](image_bytes=photo_and_text),
               "empty_bytes": lambda: m.signatures["from_bytes"](image_bytes=tf.constant([b""])),
               "images_above_1": lambda: m.signatures["serving_default"](images=tf.constant(images * 255))}
        errors = {}
        for label, call in bad.items():
            try:
                call()
                errors[label] = None
            except tf.errors.InvalidArgumentError as e:
                errors[label] = e.message
        print(json.dumps({"signatures": sorted(m.signatures.keys()), "errors": errors,
                          "gan3d_tf": any(k.startswith("gan3d_tf") for k in sys.modules)}))
    """)
    proc = subprocess.run(
        [
            sys.executable,
            "-c",
            code,
            str(tmp_path / "sm" / "gan3d_image_to_shape" / "1"),
            str(tmp_path),
            *map(str, photos),
        ],
        capture_output=True,
        text=True,
        env=ENV,
        cwd="/",
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    info = json.loads(proc.stdout.strip().splitlines()[-1])
    errors = info.pop("errors")
    assert info == {"signatures": ["from_bytes", "serving_default"], "gan3d_tf": False}
    # a byte string that is no image, or values outside [0, 1], fail with a clear error, not a silent result
    assert "Unknown image file format" in (errors["not_an_image"] or ""), errors
    assert "Input is empty" in (errors["empty_bytes"] or ""), errors
    assert "images must hold values in [0, 1] (no NaN)" in (errors["images_above_1"] or ""), errors
    encoder, generator = load_image_to_shape(vaegan_run)
    expected = predict(encoder, generator, images)
    np.testing.assert_allclose(np.load(tmp_path / "served.npy"), expected, atol=1e-5)
    # decoding in the graph (TF's bicubic) is close to, not bit-equal with, PIL's in load_image
    assert np.abs(np.load(tmp_path / "served_bytes.npy") - expected).mean() < 0.02
    # the same photos as TF Serving's REST requests: binary strings as {"b64": ...}, in both formats
    import base64

    import tensorflow as tf
    from serving_rest import predict as rest_predict

    served = tf.saved_model.load(str(tmp_path / "sm" / "gan3d_image_to_shape" / "1"))
    blobs = [{"b64": base64.b64encode(p.read_bytes()).decode()} for p in photos]
    rows = rest_predict(served, {"signature_name": "from_bytes", "instances": blobs})["predictions"]
    columns = rest_predict(served, {"signature_name": "from_bytes", "inputs": {"image_bytes": blobs}})["outputs"]
    for answer in (rows, columns):
        np.testing.assert_allclose(np.array(answer), np.load(tmp_path / "served_bytes.npy"), atol=1e-5)
