"""The project's quality gate for a generator, declared once.

A generator passes when its samples, scored against real shapes of its
class with `gan3d_tf.metrics.generation.generation_report`, reach every
bound below. The zoo (`pretrained/<class>32`) further asks that at most
`ZOO_MAX_BROKEN` of 1,000 samples be near-empty or fragmented
(`gan3d_tf.metrics.quality`).
"""

from __future__ import annotations

GATE = {
    "cov": 0.35,  # coverage (IoU distance) >= this
    "mmd": 0.80,  # minimum matching distance (1 - IoU) <= this
    "one_nna": 0.80,  # 1-nearest-neighbour accuracy <= this (0.5 ideal)
    "mean_pairwise_iou": 0.30,  # mean IoU between samples <= this (near 1: collapse), or <= the reference
    # shapes' own mean pairwise IoU + PAIRWISE_SLACK where that is higher (sofas: 0.35 between the test sofas)
    "n_empty": 0,  # samples with no filled voxel <= this
}
PAIRWISE_SLACK = 0.05
"""How much more alike than the reference shapes themselves the samples may be, where those exceed the bound."""
ZOO_MAX_BROKEN = 0.05
"""Largest share of near-empty or fragmented samples a shipped class generator may draw."""


def failed_conditions(report: dict) -> list[str]:
    """The keys of `GATE` whose condition a `generation_report` misses, in `GATE`'s order (empty: it passes).

    Args:
        report: a dict with "iou" {"cov", "mmd", "one_nna"}, "mean_pairwise_iou", "n_empty" and, optionally,
            "reference_mean_pairwise_iou" (the reference shapes' own; raises the pairwise bound for classes
            whose real shapes are more alike than 0.3, such as sofas).
    """
    iou, pairwise = report["iou"], report["mean_pairwise_iou"]
    passed = {
        "cov": iou["cov"] >= GATE["cov"],
        "mmd": iou["mmd"] <= GATE["mmd"],
        "one_nna": iou["one_nna"] <= GATE["one_nna"],
        "mean_pairwise_iou": pairwise is not None
        and pairwise <= pairwise_bound(report.get("reference_mean_pairwise_iou")),
        "n_empty": report["n_empty"] <= GATE["n_empty"],
    }
    return [key for key in GATE if not passed[key]]


def gate_failures(report: dict) -> list[str]:
    """The gate conditions a `generation_report` misses, as short readable strings (empty: it passes).

    Args:
        report: as for `failed_conditions`.
    """
    iou, pairwise = report["iou"], report["mean_pairwise_iou"]
    text = {
        "cov": lambda: f"COV {iou['cov']:.3f} < {GATE['cov']}",
        "mmd": lambda: f"MMD {iou['mmd']:.3f} > {GATE['mmd']}",
        "one_nna": lambda: f"1-NNA {iou['one_nna']:.3f} > {GATE['one_nna']}",
        "mean_pairwise_iou": lambda: (
            f"pairwise IoU {'n/a' if pairwise is None else format(pairwise, '.3f')} > "
            f"{pairwise_bound(report.get('reference_mean_pairwise_iou')):.3g}"
        ),
        "n_empty": lambda: f"{report['n_empty']} empty > {GATE['n_empty']}",
    }
    return [text[key]() for key in failed_conditions(report)]


def pairwise_bound(reference_pairwise: float | None) -> float:
    """The gate's bound on the samples' mean pairwise IoU, given the reference shapes' own (None: unknown)."""
    if reference_pairwise is None:
        return GATE["mean_pairwise_iou"]
    return max(GATE["mean_pairwise_iou"], float(reference_pairwise) + PAIRWISE_SLACK)


def passes_gate(report: dict) -> bool:
    """True when `gate_failures(report)` is empty."""
    return not gate_failures(report)
