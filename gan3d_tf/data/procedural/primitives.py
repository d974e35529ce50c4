"""Solid primitives of the procedural furniture and their rasterization.

`_Parts` collects axis-aligned boxes (optionally sheared along z), vertical
cylinders and horizontal bars in continuous object coordinates; `_rasterize`
scales them uniformly into the unit cube, centres them and fills a voxel grid.
Parts thinner than two voxels of the 32^3 grid are snapped to it (`_span`), so
a part is the same at 32^3, 64^3, 128^3, ...
"""

from __future__ import annotations

import math

import numpy as np

# Parts thinner than two voxels of this grid are snapped to it (see _span), so
# they are >= 1 voxel thick and identical at 32^3, 64^3, 128^3, ...
_BASE_RESOLUTION = 32


class _Parts:
    """Collects solid primitives in object coordinates (metres, z up, front -y)."""

    def __init__(self) -> None:
        self.items: list[tuple] = []

    def box(self, x0, x1, y0, y1, z0, z1, sx=0.0, sy=0.0) -> None:
        """Adds a box; at height z its x/y ranges are shifted by s*(z - z0)."""
        x0, x1 = sorted((x0, x1))
        y0, y1 = sorted((y0, y1))
        z0, z1 = sorted((z0, z1))
        self.items.append(("box", x0, x1, y0, y1, z0, z1, sx, sy))

    def cyl(self, cx, cy, r, z0, z1) -> None:
        """Adds a vertical cylinder of radius r."""
        z0, z1 = sorted((z0, z1))
        self.items.append(("cyl", cx, cy, r, z0, z1))

    def bar(self, xa, ya, xb, yb, width, z0, z1) -> None:
        """Adds a horizontal bar of the given width from (xa, ya) to (xb, yb)."""
        if xa == xb or ya == yb:  # axis-aligned: a box rasterizes more cleanly
            h = width / 2.0
            self.box(min(xa, xb) - h, max(xa, xb) + h, min(ya, yb) - h, max(ya, yb) + h, z0, z1)
            return
        z0, z1 = sorted((z0, z1))
        self.items.append(("bar", xa, ya, xb, yb, width / 2.0, z0, z1))

    def leg(self, cx, cy, size, z0, z1, round_=False, sx=0.0, sy=0.0) -> None:
        """Adds a square (or round, if unsheared) leg centred on (cx, cy) at z0."""
        if round_ and sx == 0.0 and sy == 0.0:
            self.cyl(cx, cy, size / 2.0, z0, z1)
        else:
            h = size / 2.0
            self.box(cx - h, cx + h, cy - h, cy + h, z0, z1, sx, sy)

    def turn(self) -> None:
        """Rotates every part 90 deg about z: (x, y) -> (y, -x); -y front becomes -x."""
        turned = []
        for it in self.items:
            if it[0] == "box":
                _, x0, x1, y0, y1, z0, z1, sx, sy = it
                turned.append(("box", y0, y1, -x1, -x0, z0, z1, sy, -sx))
            elif it[0] == "cyl":
                _, cx, cy, r, z0, z1 = it
                turned.append(("cyl", cy, -cx, r, z0, z1))
            else:
                _, xa, ya, xb, yb, hw, z0, z1 = it
                turned.append(("bar", ya, -xa, yb, -xb, hw, z0, z1))
        self.items = turned

    def bounds(self) -> np.ndarray:
        """Returns [[xmin, ymin, zmin], [xmax, ymax, zmax]] of all primitives."""
        lo, hi = [], []
        for it in self.items:
            if it[0] == "box":
                _, x0, x1, y0, y1, z0, z1, sx, sy = it
                dz = z1 - z0
                lo.append((min(x0, x0 + sx * dz), min(y0, y0 + sy * dz), z0))
                hi.append((max(x1, x1 + sx * dz), max(y1, y1 + sy * dz), z1))
            elif it[0] == "cyl":
                _, cx, cy, r, z0, z1 = it
                lo.append((cx - r, cy - r, z0))
                hi.append((cx + r, cy + r, z1))
            else:
                _, xa, ya, xb, yb, hw, z0, z1 = it
                lo.append((min(xa, xb) - hw, min(ya, yb) - hw, z0))
                hi.append((max(xa, xb) + hw, max(ya, yb) + hw, z1))
        return np.array([np.min(lo, axis=0), np.max(hi, axis=0)])


def _span(a: float, b: float, res: int, base: int) -> tuple[int, int]:
    """Voxel index range [lo, hi) of the continuous interval [a, b] in [0, 1].

    Voxel i covers [i/res, (i+1)/res]. Intervals at least two voxels of the
    base grid thick are rounded to the nearest voxel boundaries. Thinner ones
    become one or two whole voxels of the base grid (base divides res), so a
    thin part never vanishes and is the same part at every resolution: a
    1-voxel plank at 32^3 is exactly the 2-voxel plank at 64^3.
    """
    if (b - a) * base >= 2.0:
        lo, hi = math.floor(a * res + 0.5), math.floor(b * res + 0.5)
    else:
        nb = 2 if (b - a) * base >= 1.5 else 1
        lo_b = math.floor(0.5 * (a + b) * base - 0.5 * nb + 0.5)
        lo, hi = lo_b * (res // base), (lo_b + nb) * (res // base)
    return max(lo, 0), min(max(hi, lo + 1), res)


def _centres(lo: int, hi: int, res: int) -> np.ndarray:
    return (np.arange(lo, hi) + 0.5) / res


def _rasterize(parts: _Parts, res: int) -> np.ndarray:
    """Scales the parts to fill the unit cube, centred, and rasterizes them.

    Args:
        parts: primitives in object coordinates.
        res: voxels per side.

    Returns:
        (res, res, res) bool occupancy grid.
    """
    base = _BASE_RESOLUTION if res % _BASE_RESOLUTION == 0 else res
    (xmin, ymin, zmin), (xmax, ymax, zmax) = parts.bounds()
    s = 1.0 / max(xmax - xmin, ymax - ymin, zmax - zmin)
    ox = 0.5 - s * 0.5 * (xmin + xmax)
    oy = 0.5 - s * 0.5 * (ymin + ymax)
    oz = 0.5 - s * 0.5 * (zmin + zmax)
    grid = np.zeros((res, res, res), dtype=bool)
    for it in parts.items:
        kind = it[0]
        if kind == "cyl" and it[3] * s * base < 1.25:  # thin round leg: a square one
            _, cx, cy, r, z0, z1 = it
            it = ("box", cx - r, cx + r, cy - r, cy + r, z0, z1, 0.0, 0.0)
            kind = "box"
        if kind == "box":
            _, x0, x1, y0, y1, z0, z1, sx, sy = it
            x0, x1, y0, y1 = s * x0 + ox, s * x1 + ox, s * y0 + oy, s * y1 + oy
            k0, k1 = _span(s * z0 + oz, s * z1 + oz, res, base)
            i0, i1 = _span(x0, x1, res, base)
            j0, j1 = _span(y0, y1, res, base)
            if sx == 0.0 and sy == 0.0:
                grid[i0:i1, j0:j1, k0:k1] = True
                continue
            # Constant cross-section, moved by whole voxels of res (not of
            # base) from layer to layer, so sheared legs stay connected.
            nx, ny = i1 - i0, j1 - j0
            z0 = s * z0 + oz
            for k in range(k0, k1):
                dz = max((k + 0.5) / res - z0, 0.0)
                i0 = math.floor((0.5 * (x0 + x1) + sx * dz) * res - 0.5 * nx + 0.5)
                j0 = math.floor((0.5 * (y0 + y1) + sy * dz) * res - 0.5 * ny + 0.5)
                i0, j0 = min(max(i0, 0), res - nx), min(max(j0, 0), res - ny)
                grid[i0 : i0 + nx, j0 : j0 + ny, k] = True
            continue
        if kind == "cyl":
            _, cx, cy, r, z0, z1 = it
            cx, cy, r = s * cx + ox, s * cy + oy, s * r
            i0, i1 = _span(cx - r, cx + r, res, base)
            j0, j1 = _span(cy - r, cy + r, res, base)
            xc, yc = _centres(i0, i1, res), _centres(j0, j1, res)
            mask = (xc[:, None] - cx) ** 2 + (yc[None, :] - cy) ** 2 <= r * r
        else:
            _, xa, ya, xb, yb, hw, z0, z1 = it
            xa, xb, ya, yb = s * xa + ox, s * xb + ox, s * ya + oy, s * yb + oy
            hw = max(s * hw, 0.5 / base)
            i0, i1 = _span(min(xa, xb) - hw, max(xa, xb) + hw, res, base)
            j0, j1 = _span(min(ya, yb) - hw, max(ya, yb) + hw, res, base)
            px = _centres(i0, i1, res)[:, None] - xa
            py = _centres(j0, j1, res)[None, :] - ya
            dx, dy = xb - xa, yb - ya
            t = np.clip((px * dx + py * dy) / max(dx * dx + dy * dy, 1e-12), 0.0, 1.0)
            mask = (px - t * dx) ** 2 + (py - t * dy) ** 2 <= hw * hw
        k0, k1 = _span(s * z0 + oz, s * z1 + oz, res, base)
        grid[i0:i1, j0:j1, k0:k1] |= mask[:, :, None]
    return grid
