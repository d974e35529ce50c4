"""Generators of the other procedural categories: tables, desks, bookcases, sofas and beds.

Each builder adds parts to a `_Parts` in object coordinates (metres, z up,
width along x, front facing -y); desks, sofas and tables are turned to
ModelNet's alignment afterwards (see `gan3d_tf.data.procedural.dataset`).
"""

from __future__ import annotations

import math

import numpy as np

from gan3d_tf.data.procedural.primitives import _Parts


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
        p.leg((rl + splay) * ca, (rl + splay) * sa, size, 0, H - t, sx=-splay * ca / (H - t), sy=-splay * sa / (H - t))


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
