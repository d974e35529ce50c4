"""Writes docs/ikea_alignment.png: aligned IKEA ground truth next to ModelNet10 (20^3), and prints the evidence.

python docs/make_ikea_alignment_figure.py [DATA_DIR]   # DATA_DIR defaults to ../shared/data
"""

import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from gan3d_tf.data.ikea import load_ikea, IKEA_CATEGORIES
from gan3d_tf.data.voxel_npz import load_voxel_npz
from gan3d_tf.metrics.reconstruction import to_grid
from gan3d_tf.visual.render import render_voxels
import scipy.io as sio

D = (sys.argv[1] if len(sys.argv) > 1 else str(ROOT.parent / "shared" / "data")).rstrip("/") + "/"
s = load_ikea(D + "ikea")
s0 = load_ikea(D + "ikea", facing=False)
raw = np.stack([sio.loadmat(D + f"ikea/Voxels/{m}.mat")["grid"] for m in s.model_ids])
corr = lambda a, b: float(np.corrcoef(a.ravel(), b.ravel())[0, 1])
for c in ["chair", "table", "sofa", "bed", "desk"]:
    mn = to_grid(load_voxel_npz(D + "modelnet10_vox32.npz", c).voxels.astype(np.float32)).mean(0)
    k = s.labels == IKEA_CATEGORIES.index(c)
    row = {
        n: corr(g[k].astype(float).mean(0), mn)
        for n, g in [("raw", raw), ("up", s0.voxels), ("upside-down", s0.voxels[..., ::-1]), ("up+facing", s.voxels)]
    }
    zp = {
        n: corr(g[k].astype(float).mean((0, 1, 2)), mn.mean((0, 1)))
        for n, g in [("raw", raw), ("up", s0.voxels), ("upside-down", s0.voxels[..., ::-1])]
    }
    print(c, "3D", {n: round(v, 3) for n, v in row.items()}, "z-profile", {n: round(v, 3) for n, v in zp.items()})

classes = ["chair", "sofa", "table", "bed"]
n = 4
fig = Figure(figsize=(2 * n * 1.6, len(classes) * 1.75), dpi=100)
FigureCanvasAgg(fig)
for r, c in enumerate(classes):
    k = np.flatnonzero(s.labels == IKEA_CATEGORIES.index(c))
    ids, counts = np.unique(s.model_ids[k], return_counts=True)
    top = ids[np.argsort(-counts)][:n]
    ik = [s.voxels[k[s.model_ids[k] == m][0]] for m in top]
    v = load_voxel_npz(D + "modelnet10_vox32.npz", c, split="test").voxels
    v20 = to_grid(v.astype(np.float32)) > 0.5
    vol = v20.reshape(len(v20), -1).sum(1)
    pool = np.flatnonzero(vol >= np.median(vol))  # skip the sparsest (noisiest) grids
    mn = v20[np.random.default_rng(1).choice(pool, n, replace=False)]
    for j, g in [(j, g) for j, g in enumerate(ik)] + [(n + j, g) for j, g in enumerate(mn)]:
        ax = fig.add_subplot(len(classes), 2 * n, r * 2 * n + j + 1)
        ax.imshow(render_voxels(g, 0.5, 160))
        ax.set_xticks([])
        ax.set_yticks([])
        for sp in ax.spines.values():
            sp.set_color("tab:orange" if j < n else "tab:blue")
        if j == 0:
            ax.set_ylabel(c, fontsize=11)
        if r == 0 and j in (0, n):
            ax.set_title(
                "IKEA ground truth, most used models (aligned)" if j == 0 else "ModelNet10 test, random (to_grid 20^3)",
                fontsize=10,
                loc="left",
            )
fig.tight_layout()
fig.savefig(ROOT / "docs" / "ikea_alignment.png", format="png")
