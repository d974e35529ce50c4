"""Linear-SVM classification of shapes from discriminator features (paper Sec. 4.2).

Reports the trained discriminator's accuracy next to two baselines on the same
split: a randomly initialised discriminator of the same architecture, and a
linear SVM on the raw voxels (max-pooled to 16^3).
"""

from __future__ import annotations

import keras
import numpy as np
from scipy.stats import binomtest
from sklearn.metrics import confusion_matrix
from sklearn.linear_model import SGDClassifier
from sklearn.model_selection import GridSearchCV, StratifiedKFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from gan3d_tf.data.voxel_npz import load_voxel_npz, resample
from gan3d_tf.models.discriminator import Discriminator
from gan3d_tf.evaluation.features import extract_features

ALPHA_GRID = (1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 1e-1)  # L2 penalties of the SVM tried by cross-validation on train
SVM_EPOCHS = 10  # passes of averaged SGD over the training features per SVM fit
RAW_RESOLUTION = 16  # raw-voxel baseline: grids max-pooled to this side


def linear_svm(alpha: float = 1e-4, seed: int = 0) -> SGDClassifier:
    """The linear SVM of `fit_svm`: hinge loss, L2 penalty `alpha`, averaged SGD for SVM_EPOCHS passes."""
    return SGDClassifier(loss="hinge", alpha=alpha, average=True, max_iter=SVM_EPOCHS, tol=None, random_state=seed)


def fit_svm(x: np.ndarray, y: np.ndarray, folds: int = 3, seed: int = 0, alpha_grid=ALPHA_GRID):
    """A standardised linear SVM with its regularisation chosen by stratified k-fold CV on (x, y) only.

    The SVM (hinge loss, L2 penalty alpha, one-vs-rest) is trained by averaged
    stochastic gradient descent (`SGDClassifier(average=True)`) for a fixed
    `SVM_EPOCHS` passes. On the 7168-d ModelNet10 features of a trained D
    (`python -m gan3d_tf.bench --svm`, one core) it took 5.4 s per fit, plain
    SGD 16.7 s at its 100-pass cap, for a lower test accuracy; liblinear's
    `LinearSVC` did not converge. This is what makes the 40-class ModelNet40
    CV fit in minutes.

    Args:
        x: [N, F] features.
        y: [N] integer labels.
        folds: CV folds (reduced to the smallest class count when that is lower).
        seed: seed of the folds and of SGD's sample order.
        alpha_grid: penalties tried.

    Returns:
        (fitted pipeline, chosen alpha, mean CV accuracy of the chosen alpha).
    """
    min_count = int(np.bincount(y)[np.unique(y)].min())  # folds cannot exceed the smallest class
    folds = max(2, min(folds, min_count))
    search = GridSearchCV(
        make_pipeline(StandardScaler(), linear_svm(seed=seed)),
        {"sgdclassifier__alpha": list(alpha_grid)},
        cv=StratifiedKFold(folds, shuffle=True, random_state=seed),
        n_jobs=-1,  # one CV fit per core
    )
    search.fit(x, y)
    return search.best_estimator_, float(search.best_params_["sgdclassifier__alpha"]), float(search.best_score_)


def score(model, x, y, classes) -> dict:
    """Test accuracy, per-class accuracy and the confusion matrix."""
    pred = model.predict(x)
    cm = confusion_matrix(y, pred, labels=np.arange(len(classes)))
    per_class = {c: float(cm[i, i] / cm[i].sum()) for i, c in enumerate(classes) if cm[i].sum() > 0}
    return {
        "accuracy": float((pred == y).mean()),
        "per_class": per_class,
        "confusion": cm.tolist(),
        "correct": pred == y,
    }


def mcnemar(correct_a: np.ndarray, correct_b: np.ndarray) -> dict:
    """Exact McNemar test of two classifiers scored on the same test examples.

    Only the examples exactly one of them gets right count: under the null
    hypothesis (equal accuracy) each such example is equally likely to favour
    either, so the two-sided p-value is a binomial test of a_only in
    a_only + b_only trials at 1/2 (scipy's `binomtest`).

    Args:
        correct_a: bool [N], whether classifier a got each example right.
        correct_b: bool [N], the same for classifier b.

    Returns:
        {"a_only_right": int, "b_only_right": int, "p_value": float} (p is 1 when no example differs).
    """
    correct_a, correct_b = np.asarray(correct_a, bool), np.asarray(correct_b, bool)
    if correct_a.shape != correct_b.shape or correct_a.ndim != 1:
        raise ValueError(f"need two equal-length 1-d arrays, got shapes {correct_a.shape} and {correct_b.shape}")
    a_only, b_only = int(np.sum(correct_a & ~correct_b)), int(np.sum(~correct_a & correct_b))
    p = binomtest(a_only, a_only + b_only, 0.5).pvalue if a_only + b_only else 1.0
    return {"a_only_right": a_only, "b_only_right": b_only, "p_value": float(p)}


def raw_voxel_features(voxels: np.ndarray) -> np.ndarray:
    """Flattened grids max-pooled to 16^3 (the raw-voxel baseline)."""
    r = voxels.shape[1]
    small = resample(voxels, RAW_RESOLUTION) if r > RAW_RESOLUTION else voxels
    return small.reshape(len(small), -1).astype(np.float32)


def random_twin(discriminator: Discriminator) -> Discriminator:
    """A freshly initialised discriminator of exactly `discriminator`'s architecture.

    Built from its config, so widths, normalisation (batch, layer, spectral or
    none) and the minibatch-stddev layer all match: the baseline differs from
    the trained D in its weights only. Seed with `keras.utils.set_random_seed`.
    """
    config = discriminator.get_config()
    config.update(name="random_discriminator", trainable=True)
    return Discriminator.from_config(config)


def classify(discriminator: Discriminator, data_path, seed: int = 0, batch_size: int = 64, seeds: int = 1) -> dict:
    """Fits and scores the SVMs for the trained D and both baselines.

    With `seeds` > 1 the whole comparison is repeated for seeds `seed`,
    `seed` + 1, ...: each draws a new random D and new CV folds and SGD
    orders, so the spread of the margin over seeds shows how much of it is
    the baseline's and the SVM's luck. The trained D's and the raw voxels'
    features do not depend on the seed and are extracted once.

    Args:
        discriminator: the trained discriminator.
        data_path: labelled voxel `.npz` (train and test splits).
        seed: seed of the random-D baseline and of the CV folds (the first seed).
        batch_size: grids per feature forward pass.
        seeds: number of seeds to repeat the comparison over.

    Returns:
        {"accuracy": {"gan", "random_d", "raw_voxels"}, "per_class": {...}
        (of the trained D), "n_train", "n_test", "classes", "alpha", "cv_accuracy",
        "confusion", "gan_vs_random_d", "test_correct"} of the first seed, where
        "gan_vs_random_d" is the exact McNemar test of the trained D's test
        predictions against the random D's (`mcnemar`; a = gan) and
        "test_correct" holds, per feature set, one character per test grid in
        the data's order ("1": the SVM got it right, "0": wrong), from which
        the accuracies and the test can be recomputed; with `seeds` > 1 also
        "over_seeds": per-seed accuracies, their mean and standard deviation,
        the per-seed margins (trained minus random D, in accuracy), McNemar
        tests and "test_correct".
    """
    if seeds < 1:
        raise ValueError(f"seeds must be >= 1, got {seeds}")
    r = discriminator.resolution
    train = load_voxel_npz(data_path, "all", "train", resolution=r)
    test = load_voxel_npz(data_path, "all", "test", resolution=r, skip_empty=False)  # keep the standard test set
    fixed = {
        "gan": [extract_features(discriminator, v, batch_size) for v in (train.voxels, test.voxels)],
        "raw_voxels": [raw_voxel_features(v) for v in (train.voxels, test.voxels)],
    }
    runs = []
    for s in range(seed, seed + seeds):
        keras.utils.set_random_seed(s)  # the random baseline is a function of the seed
        random_d = random_twin(discriminator)
        features = {
            "gan": fixed["gan"],
            "random_d": [extract_features(random_d, v, batch_size) for v in (train.voxels, test.voxels)],
            "raw_voxels": fixed["raw_voxels"],
        }
        runs.append(_compare(features, train, test, s))
    report = {
        **runs[0],
        "n_train": len(train.voxels),
        "n_test": len(test.voxels),
        "classes": list(train.classes),
        "n_train_empty_skipped": train.n_empty_skipped,
    }
    if seeds > 1:
        acc = {name: [run["accuracy"][name] for run in runs] for name in runs[0]["accuracy"]}
        margins = [a - b for a, b in zip(acc["gan"], acc["random_d"])]
        report["over_seeds"] = {
            "seeds": list(range(seed, seed + seeds)),
            "accuracy": acc,
            "mean": {k: float(np.mean(v)) for k, v in acc.items()},
            "std": {k: float(np.std(v, ddof=1)) for k, v in acc.items()},
            "margin": margins,
            "margin_mean": float(np.mean(margins)),
            "margin_std": float(np.std(margins, ddof=1)),
            "gan_vs_random_d": [run["gan_vs_random_d"] for run in runs],
            "test_correct": [run["test_correct"] for run in runs],
        }
    return report


def _compare(features: dict, train, test, seed: int) -> dict:
    """One seed of `classify`: an SVM per feature set {name: [train features, test features]}, scored on test."""
    report = {"accuracy": {}, "alpha": {}, "cv_accuracy": {}}
    correct = {}
    for name, (x_train, x_test) in features.items():
        model, alpha, cv = fit_svm(x_train, train.labels, seed=seed)
        result = score(model, x_test, test.labels, train.classes)
        correct[name] = result["correct"]
        report["accuracy"][name] = result["accuracy"]
        report["alpha"][name] = alpha
        report["cv_accuracy"][name] = cv
        if name == "gan":
            report["per_class"] = result["per_class"]
            report["confusion"] = result["confusion"]
    report["gan_vs_random_d"] = mcnemar(correct["gan"], correct["random_d"])
    report["test_correct"] = {name: "".join("1" if c else "0" for c in right) for name, right in correct.items()}
    return report


def save_confusion_png(confusion, classes, path) -> None:
    """Writes a confusion-matrix heat map (rows: true class, columns: predicted)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    cm = np.asarray(confusion)
    n = len(classes)
    fig, ax = plt.subplots(figsize=(1 + 0.45 * n, 1 + 0.45 * n), dpi=100)
    ax.imshow(cm, cmap="Blues")
    ax.set_xticks(range(n), classes, rotation=90)
    ax.set_yticks(range(n), classes)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    for i in range(n):
        for j in range(n):
            if cm[i, j]:
                ax.text(
                    j,
                    i,
                    int(cm[i, j]),
                    ha="center",
                    va="center",
                    fontsize=7,
                    color="white" if cm[i, j] > cm.max() / 2 else "black",
                )
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
