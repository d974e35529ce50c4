"""Built-in procedural dataset of voxel furniture (no download needed).

Every shape is assembled from a few solid primitives (axis-aligned boxes that
may be sheared along z, vertical cylinders and horizontal bars) described in
continuous object coordinates, scaled uniformly into the unit cube and only
then rasterized. The 32^3 and 64^3 versions of the same random draw are
therefore the same object at two resolutions.

Grid conventions, measured on the ModelNet10 grids the project reads
(../shared/data/modelnet10_vox32.npz) and checked on ModelNet40:
    * array axes are (x, y, z); z (axis 2) points up (index 0 is the bottom);
    * each object fills the grid: its largest extent spans all R voxels and
      it is centred on all three axes (so tall objects such as chairs and
      bookcases stand on index 0, flat ones such as beds float mid-grid);
    * chairs and bookcases: width along x, front (open side) facing -y;
      beds: length along y, headboard at +y;
      sofas, desks and tables: width (long side) along y, front facing -x
      (sofa backrest and desk back at +x), as in ModelNet.

Example:
    >>> from gan3d_tf.data.procedural import make_dataset
    >>> chairs = make_dataset("chair", n=8, resolution=32, seed=0)
    >>> chairs.shape, chairs.dtype
    ((8, 32, 32, 32), dtype('uint8'))
"""

from __future__ import annotations

import math
import numbers
import zlib

import numpy as np

CATEGORIES: tuple[str, ...] = ("bed", "bookcase", "chair", "desk", "sofa", "table")

# Parts thinner than two voxels of this grid are snapped to it (see _span), so
# they are >= 1 voxel thick and identical at 32^3, 64^3, 128^3, ...
_BASE_RESOLUTION = 32
_MIN_RESOLUTION = 16
# Built with the front at -y and width along x, then turned 90 deg about z so
# that the width runs along y and the front faces -x (ModelNet's alignment).
_TURNED = frozenset({"desk", "sofa", "table"})


# --------------------------------------------------------------------------
# Primitives and rasterization
# --------------------------------------------------------------------------


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
                grid[i0:i0 + nx, j0:j0 + ny, k] = True
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


# --------------------------------------------------------------------------
# Chairs
# --------------------------------------------------------------------------


def _chair_back(p: _Parts, rng, x0, x1, y1, z0, height, post, tilt, kind) -> None:
    """Adds a backrest between x0 and x1 whose rear face is at y1 at height z0.

    Args:
        p: parts to extend.
        rng: random generator.
        x0, x1: outer x extent of the back (posts included).
        y1: y of the rear face at the seat top z0.
        z0: seat top height.
        height: back height above z0.
        post: thickness of the posts / panel.
        tilt: backwards lean dy/dz.
        kind: "solid", "vslats", "hslats" or "panel_gap".
    """
    def piece(xa, xb, za, zb, thick=post):
        off = tilt * (za - z0)
        p.box(xa, xb, y1 - thick + off, y1 + off, za, zb, sy=tilt)

    top = z0 + height
    if kind == "solid":
        piece(x0, x1, z0, top, thick=max(post, rng.uniform(0.025, 0.05)))
        return
    piece(x0, x0 + post, z0, top)  # posts
    piece(x1 - post, x1, z0, top)
    rail = rng.uniform(0.04, 0.09)
    if kind == "panel_gap":  # posts with a panel that leaves a gap above the seat
        zb = z0 + height * rng.uniform(0.25, 0.5)
        piece(x0, x1, zb, top, thick=max(0.5 * post, 0.025))
    elif kind == "vslats":
        piece(x0, x1, top - rail, top)
        n = int(rng.integers(1, 5))
        inner = (x1 - x0 - 2 * post)
        w = min(rng.uniform(0.025, 0.06), inner / (2 * n + 1))
        for i in range(n):
            c = x0 + post + inner * (i + 1) / (n + 1)
            piece(c - w / 2, c + w / 2, z0, top - rail)
    else:  # horizontal rails
        n = int(rng.integers(2, 5))
        zlo = z0 + height * rng.uniform(0.2, 0.45)
        for i in range(n):
            zc = zlo + (top - rail - zlo) * i / max(n - 1, 1)
            piece(x0, x1, zc, zc + rail)


def _four_leg_chair(p: _Parts, rng) -> None:
    """Four-leg chair with a solid, slatted, railed or gapped back; optional apron/stretchers."""
    W, D = rng.uniform(0.40, 0.56), rng.uniform(0.40, 0.54)
    sh, st = rng.uniform(0.40, 0.50), rng.uniform(0.03, 0.07)
    lt, inset = rng.uniform(0.03, 0.055), rng.uniform(0.0, 0.03)
    round_legs = rng.random() < 0.3
    xs = (inset + lt / 2, W - inset - lt / 2)
    yf, yr = inset + lt / 2, D - inset - lt / 2
    for x in xs:
        p.leg(x, yf, lt, 0.0, sh - st, round_legs)
        p.leg(x, yr, lt, 0.0, sh - st, round_legs)
    p.box(0, W, 0, D, sh - st, sh)
    if rng.random() < 0.5:  # apron under the seat
        ah, at = rng.uniform(0.04, 0.09), 0.02
        z0 = sh - st - ah
        p.box(inset, W - inset, inset, inset + at, z0, sh - st)
        p.box(inset, W - inset, D - inset - at, D - inset, z0, sh - st)
        p.box(inset, inset + at, inset, D - inset, z0, sh - st)
        p.box(W - inset - at, W - inset, inset, D - inset, z0, sh - st)
    if rng.random() < 0.4:  # stretchers between the legs
        zs, ts = rng.uniform(0.08, 0.2), rng.uniform(0.02, 0.03)
        for x in xs:
            p.bar(x, yf, x, yr, ts, zs, zs + ts)
        if rng.random() < 0.5:
            p.bar(xs[0], yf, xs[1], yf, ts, zs, zs + ts)
        else:
            ym = 0.5 * (yf + yr)
            p.bar(xs[0], ym, xs[1], ym, ts, zs, zs + ts)
    kind = rng.choice(["solid", "vslats", "hslats", "panel_gap"])
    height = rng.uniform(0.3, 0.55)
    tilt = rng.uniform(0.0, 0.22)
    _chair_back(p, rng, inset, W - inset, D - inset, sh, height, lt, tilt, kind)


def _office_chair(p: _Parts, rng) -> None:
    """Office chair: star base on casters (or disc), gas column, tilted back, optional armrests."""
    W, D = rng.uniform(0.45, 0.58), rng.uniform(0.42, 0.55)
    sh, st = rng.uniform(0.42, 0.52), rng.uniform(0.05, 0.1)
    cx, cy = W / 2, D / 2
    if rng.random() < 0.8:  # star base on casters
        n = 5 if rng.random() < 0.85 else 4
        ch, at = rng.uniform(0.03, 0.06), rng.uniform(0.03, 0.05)
        arm, aw = rng.uniform(0.26, 0.34), rng.uniform(0.035, 0.05)
        a0 = rng.uniform(0, 2 * math.pi)
        for k in range(n):
            a = a0 + 2 * math.pi * k / n
            ex, ey = cx + arm * math.cos(a), cy + arm * math.sin(a)
            p.bar(cx, cy, ex, ey, aw, ch, ch + at)
            p.cyl(ex, ey, ch * 0.6, 0.0, ch)
        base_top = ch + at
    else:  # disc base
        base_top = rng.uniform(0.02, 0.045)
        p.cyl(cx, cy, rng.uniform(0.22, 0.3), 0.0, base_top)
    mech_h, mech = rng.uniform(0.03, 0.07), rng.uniform(0.12, 0.22)
    p.cyl(cx, cy, rng.uniform(0.025, 0.04), base_top, sh - st - mech_h)
    p.box(cx - mech / 2, cx + mech / 2, cy - mech / 2, cy + mech / 2, sh - st - mech_h, sh - st)
    p.box(0, W, 0, D, sh - st, sh)
    gap, bh = rng.uniform(0.03, 0.12), rng.uniform(0.35, 0.6)
    bw, bt, tilt = W * rng.uniform(0.75, 1.0), rng.uniform(0.04, 0.08), rng.uniform(0.05, 0.25)
    sw = rng.uniform(0.05, 0.1)  # back support
    p.box(cx - sw / 2, cx + sw / 2, D - 0.04, D, sh - st, sh + gap + 0.06, sy=tilt)
    off = tilt * (sh + gap - (sh - st))
    p.box(cx - bw / 2, cx + bw / 2, D - bt + off, D + off, sh + gap, sh + gap + bh, sy=tilt)
    if rng.random() < 0.5:  # armrests
        ah, aw = rng.uniform(0.18, 0.26), rng.uniform(0.04, 0.07)
        for x in (aw / 2, W - aw / 2):
            p.box(x - aw / 2, x + aw / 2, 0.45 * D, 0.6 * D, sh, sh + ah)
            p.box(x - aw / 2, x + aw / 2, 0.12 * D, 0.8 * D, sh + ah - 0.03, sh + ah)


def _armchair(p: _Parts, rng) -> None:
    """Armchair: open wooden frame with arm pads, or an upholstered club chair."""
    W, D = rng.uniform(0.55, 0.75), rng.uniform(0.5, 0.7)
    sh = rng.uniform(0.38, 0.46)
    ah = sh + rng.uniform(0.15, 0.26)
    bh, tilt = sh + rng.uniform(0.35, 0.5), rng.uniform(0.0, 0.15)
    if rng.random() < 0.65:  # open wooden armchair: legs, posts and pads
        st, lt, bt = rng.uniform(0.04, 0.09), rng.uniform(0.035, 0.06), rng.uniform(0.03, 0.07)
        aw = rng.uniform(0.04, 0.08)
        round_legs = rng.random() < 0.3
        for x in (lt / 2, W - lt / 2):
            p.leg(x, lt / 2, lt, 0.0, ah - 0.03, round_legs)  # front leg rises into the arm
            p.leg(x, D - lt / 2, lt, 0.0, sh - st, round_legs)
            p.box(x - aw / 2, x + aw / 2, 0.0, D, ah - 0.03, ah)
        p.box(0, W, 0, D, sh - st, sh)
        kind = rng.choice(["solid", "vslats", "panel_gap"])
        _chair_back(p, rng, 0.0, W, D, sh, bh - sh, max(lt, bt), tilt, kind)
        return
    # upholstered club chair on short legs or a plinth
    st, aw, bt = rng.uniform(0.1, 0.18), rng.uniform(0.08, 0.14), rng.uniform(0.08, 0.14)
    lh = rng.uniform(0.06, 0.15) if rng.random() < 0.7 else 0.0
    front = rng.uniform(0.0, 0.08)
    if lh:
        ls = rng.uniform(0.04, 0.06)
        round_legs = rng.random() < 0.4
        for x in (ls / 2, W - ls / 2):
            for y in (front + ls / 2, D - ls / 2):
                p.leg(x, y, ls, 0.0, lh, round_legs)
    p.box(aw, W - aw, 0, D - bt, max(lh, sh - st - 0.12), sh)
    p.box(0, aw, front, D, lh, ah)
    p.box(W - aw, W, front, D, lh, ah)
    p.box(0, W, D - bt, D, lh, sh)
    p.box(0, W, D - bt, D, sh, bh, sy=tilt)


def _stool_chair(p: _Parts, rng) -> None:
    """Bar stool with a short back: round or square seat, 3-4 (splayed) legs, footrest ring."""
    sh, st = rng.uniform(0.55, 0.78), rng.uniform(0.03, 0.06)
    round_seat = rng.random() < 0.5
    r = rng.uniform(0.17, 0.23)
    if round_seat:
        p.cyl(0.0, 0.0, r, sh - st, sh)
    else:
        p.box(-r, r, -r, r, sh - st, sh)
    n = int(rng.choice([3, 4])) if round_seat else 4
    ls = rng.uniform(0.025, 0.045)
    splay = rng.uniform(0.05, 0.12) if rng.random() < 0.6 else 0.0  # slight splays look kinked
    rl = (r - ls) * (0.9 if round_seat else 1.3)
    a0 = math.pi / 4 if n == 4 else -math.pi / 2
    hl = sh - st
    feet = []
    for k in range(n):
        a = a0 + 2 * math.pi * k / n
        ca, sa = math.cos(a), math.sin(a)
        bx, by = (rl + splay) * ca, (rl + splay) * sa
        p.leg(bx, by, ls, 0.0, hl, sx=-splay * ca / hl, sy=-splay * sa / hl)
        feet.append((bx, by, ca, sa))
    if rng.random() < 0.7:  # footrest ring
        zf = sh * rng.uniform(0.25, 0.45)
        t = zf / hl
        pts = [(bx - splay * ca * t, by - splay * sa * t) for bx, by, ca, sa in feet]
        for (xa, ya), (xb, yb) in zip(pts, pts[1:] + pts[:1]):
            p.bar(xa, ya, xb, yb, 0.025, zf, zf + 0.025)
    # short back at +y: two posts on the rear edge of the seat and a rail
    gap, bh = rng.uniform(0.02, 0.1), rng.uniform(0.08, 0.16)
    top = sh + gap + bh
    pw = rng.uniform(0.025, 0.04)
    if round_seat:
        phi = rng.uniform(0.5, 0.9)
        ang = [math.pi / 2 + phi * f for f in (-1.0, -1 / 3, 1 / 3, 1.0)]
        pts = [((r - pw / 2) * math.cos(a), (r - pw / 2) * math.sin(a)) for a in ang]
        for x, y in (pts[0], pts[-1]):
            p.leg(x, y, pw, sh, top)
        for (xa, ya), (xb, yb) in zip(pts, pts[1:]):
            p.bar(xa, ya, xb, yb, 0.035, sh + gap, top)
    else:
        bw = r * rng.uniform(0.6, 0.95)
        for x in (-bw, bw):
            p.leg(x, r - pw / 2, pw, sh, top)
        p.box(-bw - pw / 2, bw + pw / 2, r - 0.035, r, sh + gap, top)


def _sled_chair(p: _Parts, rng) -> None:
    """Chair on tubular sled runners or solid side panels."""
    W, D = rng.uniform(0.42, 0.56), rng.uniform(0.42, 0.54)
    sh, st = rng.uniform(0.40, 0.48), rng.uniform(0.03, 0.07)
    t = rng.uniform(0.025, 0.045)
    height, tilt = rng.uniform(0.3, 0.5), rng.uniform(0.0, 0.2)
    if rng.random() < 0.5:  # tubular sled runners
        for x in (t / 2, W - t / 2):
            p.box(x - t / 2, x + t / 2, 0.0, D, 0.0, t)
            p.box(x - t / 2, x + t / 2, 0.02, 0.02 + t, 0.0, sh - st)
            p.box(x - t / 2, x + t / 2, D - t, D, 0.0, sh - st)
        if rng.random() < 0.5:
            p.box(0, W, 0.0, t, 0.0, t)
    else:  # solid side panels, sometimes rising into armrests
        pt = rng.uniform(0.03, 0.06)
        ah = sh + (rng.uniform(0.15, 0.25) if rng.random() < 0.5 else 0.0)
        p.box(0, pt, 0, D, 0, ah)
        p.box(W - pt, W, 0, D, 0, ah)
    p.box(0, W, 0, D, sh - st, sh)
    kind = rng.choice(["solid", "vslats", "hslats"])
    _chair_back(p, rng, 0.0, W, D, sh, height, t, tilt, kind)


def _chair(p: _Parts, rng) -> None:
    """Any chair style, drawn with fixed style probabilities."""
    styles = (_four_leg_chair, _office_chair, _armchair, _stool_chair, _sled_chair)
    styles[rng.choice(len(styles), p=[0.38, 0.2, 0.14, 0.14, 0.14])](p, rng)


# --------------------------------------------------------------------------
# Tables and desks
# --------------------------------------------------------------------------


def _legs_rect(p: _Parts, W, D, H, inset, size, round_legs, splay=0.0) -> None:
    """Adds four legs under a W x D top ending at height H, feet pushed out by splay."""
    for x, dx in ((inset + size / 2, -1), (W - inset - size / 2, 1)):
        for y, dy in ((inset + size / 2, -1), (D - inset - size / 2, 1)):
            p.leg(x + dx * splay, y + dy * splay, size, 0.0, H, round_legs, sx=-dx * splay / H, sy=-dy * splay / H)


def _table(p: _Parts, rng) -> None:
    """Rectangular, trestle, pedestal, round or coffee table."""
    kind = rng.choice(["legs", "trestle", "pedestal", "round_legs", "coffee"], p=[0.35, 0.15, 0.2, 0.15, 0.15])
    H, t = rng.uniform(0.68, 0.78), rng.uniform(0.025, 0.06)
    if kind == "coffee":
        H = rng.uniform(0.35, 0.5)
    if kind in ("legs", "trestle", "coffee"):
        W = rng.uniform(0.8, 1.8) if kind != "coffee" else rng.uniform(0.9, 1.4)
        D = float(np.clip(W * rng.uniform(0.45, 0.9), 0.5, 1.0))
        p.box(0, W, 0, D, H - t, H)
        if kind == "trestle":
            e = rng.uniform(0.05, 0.2)
            for x in (e, W - e):
                if rng.random() < 0.3:  # solid end panel
                    pt = rng.uniform(0.04, 0.08)
                    p.box(x - pt / 2, x + pt / 2, 0.2 * D, 0.8 * D, 0, H - t)
                else:  # post with foot and cleat
                    pw = rng.uniform(0.05, 0.1)
                    p.box(x - pw / 2, x + pw / 2, 0.5 * D - pw, 0.5 * D + pw, 0, H - t)
                    p.box(x - pw / 2, x + pw / 2, 0.08 * D, 0.92 * D, 0, 0.05)
                    p.box(x - pw / 2, x + pw / 2, 0.1 * D, 0.9 * D, H - t - 0.04, H - t)
            zs = rng.uniform(0.15, 0.4)
            p.box(e, W - e, 0.47 * D, 0.53 * D, zs, zs + 0.05)
            return
        size, inset = rng.uniform(0.04, 0.08), rng.uniform(0.0, 0.08)
        round_legs = rng.random() < 0.3
        if kind == "coffee" and rng.random() < 0.3:  # panel ends instead of legs
            pt = rng.uniform(0.03, 0.06)
            p.box(inset, inset + pt, 0, D, 0, H - t)
            p.box(W - inset - pt, W - inset, 0, D, 0, H - t)
        else:
            splay = rng.uniform(0.04, 0.1) if rng.random() < 0.15 else 0.0
            _legs_rect(p, W, D, H - t, inset, size, round_legs, splay)
        if rng.random() < 0.6:  # apron
            ah, at = rng.uniform(0.06, 0.12), 0.02
            z0 = H - t - ah
            i = inset + size / 2 - at / 2
            p.box(i, W - i, i, i + at, z0, H - t)
            p.box(i, W - i, D - i - at, D - i, z0, H - t)
            p.box(i, i + at, i, D - i, z0, H - t)
            p.box(W - i - at, W - i, i, D - i, z0, H - t)
        if rng.random() < 0.3:  # lower shelf
            zs = rng.uniform(0.08, 0.25) * H / 0.7
            p.box(inset, W - inset, inset, D - inset, zs, zs + t)
        return
    round_top = kind == "round_legs" or rng.random() < 0.6
    if round_top:
        r = rng.uniform(0.4, 0.6)
        p.cyl(0, 0, r, H - t, H)
    else:
        r = rng.uniform(0.35, 0.5)
        p.box(-r, r, -r * rng.uniform(0.8, 1.0), r, H - t, H)
    if kind == "pedestal":
        cr = rng.uniform(0.05, 0.1)
        p.cyl(0, 0, cr, 0, H - t)
        if rng.random() < 0.5:
            p.cyl(0, 0, rng.uniform(0.22, 0.35), 0, rng.uniform(0.03, 0.06))
        else:
            fl, a0 = rng.uniform(0.25, 0.4), rng.uniform(0, math.pi / 2)
            n = int(rng.choice([3, 4]))
            for k in range(n):
                a = a0 + 2 * math.pi * k / n
                p.bar(0, 0, fl * math.cos(a), fl * math.sin(a), 0.06, 0, 0.06)
        return
    n = int(rng.choice([3, 4]))
    size = rng.uniform(0.04, 0.07)
    splay = rng.uniform(0.05, 0.1) if rng.random() < 0.5 else 0.0
    rl = r * rng.uniform(0.55, 0.8)
    a0 = rng.uniform(0, 2 * math.pi)
    for k in range(n):
        a = a0 + 2 * math.pi * k / n
        ca, sa = math.cos(a), math.sin(a)
        p.leg((rl + splay) * ca, (rl + splay) * sa, size, 0, H - t,
              sx=-splay * ca / (H - t), sy=-splay * sa / (H - t))


def _desk(p: _Parts, rng) -> None:
    """Desk: drawer pedestals on one/both/no sides, legs or panels, optional modesty panel and centre drawer."""
    W, D = rng.uniform(1.0, 1.7), rng.uniform(0.55, 0.8)
    H, t = rng.uniform(0.7, 0.78), rng.uniform(0.025, 0.05)
    p.box(0, W, 0, D, H - t, H)
    config = rng.choice(["both", "left", "right", "none"], p=[0.2, 0.2, 0.2, 0.4])
    pw = rng.uniform(0.35, 0.5)
    open_style = rng.choice(["legs", "panel"])
    ls = rng.uniform(0.04, 0.07)
    plinth = rng.uniform(0.02, 0.08) if rng.random() < 0.5 else 0.0
    n_drawers = int(rng.integers(2, 5))
    front = rng.uniform(0.0, 0.03)

    def drawers(x0, x1):
        p.box(x0, x1, front, D - 0.02, plinth, H - t)
        if plinth:
            p.box(x0 + 0.02, x1 - 0.02, front + 0.03, D - 0.04, 0, plinth)
        dh = (H - t - plinth) / n_drawers
        for i in range(n_drawers):
            zc = plinth + dh * (i + 0.5)
            xc = 0.5 * (x0 + x1)
            p.box(xc - 0.06, xc + 0.06, front - 0.025, front, zc - 0.01, zc + 0.01)

    def open_side(x_outer, sign):
        if open_style == "legs":
            x = x_outer + sign * ls / 2
            p.leg(x, ls / 2 + 0.02, ls, 0, H - t)
            p.leg(x, D - ls / 2 - 0.02, ls, 0, H - t)
        else:
            p.box(x_outer, x_outer + sign * 0.04, 0.02, D - 0.02, 0, H - t)

    inner = [0.0, W]
    if config in ("both", "left"):
        drawers(0.0, pw)
        inner[0] = pw
    else:
        open_side(0.0, 1)
    if config in ("both", "right"):
        drawers(W - pw, W)
        inner[1] = W - pw
    else:
        open_side(W, -1)
    if rng.random() < 0.5:  # modesty panel at the back
        p.box(inner[0], inner[1], D - 0.05, D - 0.03, H * rng.uniform(0.3, 0.6), H - t)
    if rng.random() < 0.35:  # centre drawer / keyboard tray
        p.box(inner[0] + 0.05, inner[1] - 0.05, front, D * 0.8, H - t - 0.06, H - t)


# --------------------------------------------------------------------------
# Bookcases, sofas, beds
# --------------------------------------------------------------------------


def _bookcase(p: _Parts, rng) -> None:
    """Tall or low bookcase with 2-6 shelves, optional back panel, plinth, crown and divider."""
    tall = rng.random() < 0.75
    H = rng.uniform(1.1, 2.0) if tall else rng.uniform(0.7, 1.0)
    W = rng.uniform(0.5, 1.2) if tall else rng.uniform(0.9, 1.6)
    D = rng.uniform(0.25, 0.45)
    st, bt = rng.uniform(0.015, 0.04), rng.uniform(0.015, 0.035)
    plinth = rng.uniform(0.03, 0.1) if rng.random() < 0.6 else 0.0
    p.box(0, st, 0, D, 0, H)
    p.box(W - st, W, 0, D, 0, H)
    if rng.random() < 0.3:  # crown overhang
        o = rng.uniform(0.01, 0.04)
        p.box(-o, W + o, -o, D, H, H + 0.03)
    p.box(0, W, 0, D, H - st, H)
    p.box(st, W - st, 0, D, plinth, plinth + bt)
    if plinth:
        p.box(st, W - st, 0.01, 0.03, 0, plinth)
    n = int(rng.integers(2, 7))
    setback = rng.uniform(0.0, 0.04)
    z_lo, z_hi = plinth + bt, H - st
    for i in range(1, n + 1):
        zc = z_lo + (z_hi - z_lo) * i / (n + 1) + rng.uniform(-0.2, 0.2) * (z_hi - z_lo) / (n + 1)
        p.box(st, W - st, setback, D, zc - bt / 2, zc + bt / 2)
    if rng.random() < 0.7:  # back panel
        p.box(0, W, D - 0.015, D, 0, H)
    if W > 0.8 and rng.random() < 0.35:  # vertical divider
        xc = W / 2
        p.box(xc - st / 2, xc + st / 2, setback, D, z_lo, z_hi)


def _sofa(p: _Parts, rng) -> None:
    """Sofa: base, 1-3 seat cushions, back, 0-2 arms, optional legs, back cushions and chaise."""
    W, D = rng.uniform(1.6, 2.5), rng.uniform(0.7, 0.95)
    sh, ct = rng.uniform(0.38, 0.48), rng.uniform(0.08, 0.16)
    lh = rng.uniform(0.05, 0.15) if rng.random() < 0.6 else 0.0
    bt, bh = rng.uniform(0.12, 0.25), rng.uniform(0.65, 0.9)
    r = rng.random()
    n_arms = 2 if r < 0.85 else (1 if r < 0.92 else 0)
    aw, ah = rng.uniform(0.08, 0.25), rng.uniform(0.55, 0.72)
    if lh:
        ls = rng.uniform(0.04, 0.07)
        xs = [ls, W - ls] + ([W / 2] if W > 1.9 else [])
        round_legs = rng.random() < 0.4
        for x in xs:
            for y in (ls, D - ls):
                p.leg(x, y, ls, 0, lh, round_legs)
    p.box(0, W, 0, D, lh, sh - ct)  # base
    arms = [(0.0, aw), (W - aw, W)][:n_arms] if n_arms else []
    x0 = aw if n_arms >= 1 else 0.0
    x1 = W - aw if n_arms == 2 else W
    n_cush = int(rng.integers(1, 4))
    gap = 0.015
    for i in range(n_cush):  # seat cushions
        a = x0 + (x1 - x0) * i / n_cush
        b = x0 + (x1 - x0) * (i + 1) / n_cush
        p.box(a + gap * (i > 0), b, 0, D - bt, sh - ct, sh)
    p.box(0, W, D - bt, D, lh, bh)  # back
    if rng.random() < 0.5:  # back cushions leaning on the back
        cb = rng.uniform(0.08, 0.14)
        for i in range(n_cush):
            a = x0 + (x1 - x0) * i / n_cush
            b = x0 + (x1 - x0) * (i + 1) / n_cush
            p.box(a + gap * (i > 0), b, D - bt - cb, D - bt, sh, bh - 0.05, sy=-0.1)
    for a, b in arms:
        p.box(a, b, 0, D, lh, ah)
    if rng.random() < 0.2:  # chaise (L-shaped sectional) extending forward
        ext, cw = rng.uniform(0.5, 0.8), rng.uniform(0.6, 0.9)
        a, b = (0.0, cw) if rng.random() < 0.5 else (W - cw, W)
        p.box(a, b, -ext, 0.0, lh, sh)


def _bed(p: _Parts, rng) -> None:
    """Bed: frame on legs or platform, mattress, headboard (solid/posts/slats), optional footboard and pillows."""
    W, L = rng.uniform(0.9, 1.9), rng.uniform(1.9, 2.2)
    fh, mt = rng.uniform(0.15, 0.35), rng.uniform(0.12, 0.25)
    lh = rng.uniform(0.08, 0.25) if rng.random() < 0.6 else 0.0
    lh = min(lh, fh - 0.06)
    ht = rng.uniform(0.04, 0.1)
    if lh > 0:
        ls = rng.uniform(0.05, 0.09)
        for x in (ls / 2, W - ls / 2):
            for y in (ls / 2, L - ht - ls / 2):
                p.leg(x, y, ls, 0, lh, rng.random() < 0.3)
    p.box(0, W, 0, L - ht, lh, fh)  # frame / box spring
    m = rng.uniform(0.0, 0.05)
    p.box(m, W - m, m, L - ht, fh, fh + mt)  # mattress
    top = fh + mt
    hb = top + rng.uniform(0.15, 0.55)
    style = rng.choice(["solid", "posts", "slats"])
    y0, y1 = L - ht, L
    if style == "solid":
        p.box(0, W, y0, y1, 0, hb)
    else:
        pw = rng.uniform(0.05, 0.09)
        p.box(0, pw, y0, y1, 0, hb + rng.uniform(0, 0.08))
        p.box(W - pw, W, y0, y1, 0, hb + rng.uniform(0, 0.08))
        if style == "posts":
            p.box(pw, W - pw, y0, y1, top - 0.05, hb)
        else:
            p.box(pw, W - pw, y0, y1, hb - 0.08, hb)
            n = int(rng.integers(3, 8))
            for i in range(n):
                c = pw + (W - 2 * pw) * (i + 1) / (n + 1)
                p.box(c - 0.025, c + 0.025, y0, y1, top - 0.05, hb - 0.08)
    if rng.random() < 0.5:  # footboard
        fb = rng.uniform(fh + 0.1, min(top + 0.3, hb - 0.08))
        p.box(0, W, 0, ht, 0 if lh == 0 or rng.random() < 0.5 else lh, fb)
    if rng.random() < 0.6:  # pillows
        n = 1 if W < 1.3 else int(rng.integers(1, 3))
        pl, ph = rng.uniform(0.3, 0.45), rng.uniform(0.08, 0.14)
        for i in range(n):
            a = m + (W - 2 * m) * i / n + 0.05
            b = m + (W - 2 * m) * (i + 1) / n - 0.05
            p.box(a, b, L - ht - pl - 0.03, L - ht - 0.03, top, top + ph)


_BUILDERS = {
    "bed": _bed,
    "bookcase": _bookcase,
    "chair": _chair,
    "desk": _desk,
    "sofa": _sofa,
    "table": _table,
}


# --------------------------------------------------------------------------
# Public API
# --------------------------------------------------------------------------


def _check_category(category: str) -> None:
    if category not in _BUILDERS:
        raise ValueError(f"unknown category {category!r}; valid categories: {', '.join(CATEGORIES)}")


def _check_int(name: str, value, minimum: int) -> None:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")


def make_shape(category: str, resolution: int, rng: np.random.Generator) -> np.ndarray:
    """Draws one random piece of furniture.

    Args:
        category: one of CATEGORIES.
        resolution: voxels per side (an integer >= 16; 32 and 64 are the
            resolutions the project uses).
        rng: source of randomness; the object drawn depends only on the state
            of rng, not on the resolution.

    Returns:
        (resolution,)*3 uint8 array in {0, 1}, axes (x, y, z), z up.

    Raises:
        ValueError: for an unknown category or an invalid resolution.
    """
    _check_category(category)
    _check_int("resolution", resolution, _MIN_RESOLUTION)
    parts = _Parts()
    _BUILDERS[category](parts, rng)
    if category in _TURNED:
        parts.turn()
    return _rasterize(parts, int(resolution)).astype(np.uint8)


def make_dataset(category: str, n: int, resolution: int = 32, seed: int = 0) -> np.ndarray:
    """Generates n shapes of one category, deterministically.

    Shape i is drawn with np.random.default_rng([seed, crc32(category), i]),
    so it depends only on (category, resolution, seed, i): a dataset's first
    k shapes equal make_dataset(category, k, ...), and the same index at 32^3
    and 64^3 is the same object.

    Args:
        category: one of CATEGORIES.
        n: number of shapes (>= 0).
        resolution: voxels per side (integer >= 16).
        seed: non-negative integer seed.

    Returns:
        (n, resolution, resolution, resolution) uint8 array in {0, 1}.

    Raises:
        ValueError: for an unknown category or an invalid n, resolution or seed.
    """
    _check_category(category)
    _check_int("n", n, 0)
    _check_int("resolution", resolution, _MIN_RESOLUTION)
    _check_int("seed", seed, 0)
    key = zlib.crc32(category.encode("utf-8"))
    out = np.empty((int(n),) + (int(resolution),) * 3, dtype=np.uint8)
    for i in range(int(n)):
        out[i] = make_shape(category, resolution, np.random.default_rng([int(seed), key, i]))
    return out
