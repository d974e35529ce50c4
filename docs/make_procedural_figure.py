"""Renders docs/procedural_samples.png: 4 procedural shapes per category at 64^3.

One row per category (in gan3d_tf.data.procedural.CATEGORIES order), shapes 0-3
of make_dataset(category, 4, resolution=64, seed=0).

Run from the repository root:
    python docs/make_procedural_figure.py
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]

from gan3d_tf.data.procedural import CATEGORIES, make_dataset  # noqa: E402
from gan3d_tf.visual.render import render_grid, save_png  # noqa: E402


def main(out: Path = ROOT / "docs" / "procedural_samples.png", per_row: int = 4, resolution: int = 64) -> None:
    """Writes the figure.

    Args:
        out: PNG path.
        per_row: samples per category.
        resolution: voxels per side.
    """
    batch = np.concatenate([make_dataset(c, per_row, resolution=resolution, seed=0) for c in CATEGORIES])
    save_png(render_grid(batch, size=160, ncols=per_row), out)
    print(f"wrote {out} (rows: {', '.join(CATEGORIES)})")


if __name__ == "__main__":
    main()
