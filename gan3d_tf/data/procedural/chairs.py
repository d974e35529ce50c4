"""Chair generators of the procedural dataset: four-leg, office, arm, bar-stool and sled chairs.

Each builder adds parts to a `_Parts` in object coordinates (metres, z up,
width along x, front facing -y); `_chair` draws one of the styles.
"""

from __future__ import annotations

import math

from gan3d_tf.data.procedural.primitives import _Parts


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
        inner = x1 - x0 - 2 * post
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
