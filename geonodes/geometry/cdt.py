"""Blender's constrained Delaunay triangulation (blenlib delaunay_2d.cc, double arithmetic,
`need_ids` off as Fill Curve calls it), ported step by step so that its output is Blender's to
the index: the same vertex merges, the same faces in the same order, each starting at the same
corner. Fill Curve depends on all of that (the faces' vertex cycles are part of its result).

The arrangement is the file's SymEdge structure (a directed edge: next edge CCW in its face,
next edge CCW around its vertex); the Delaunay triangulation is Guibas-Stolfi's divide and
conquer on the lexicographically sorted points, constraints are inserted by walking the
crossed triangles (a constraint crossing another splits it at a new vertex), and the output
options remove edges as Blender's do (including the order of std::sort, which decides ties
between edges of equal length: `stdsort.py`). Orientation and in-circle tests are exact
(Shewchuk's predicates in Blender; a float filter, then integers, here). What Blender only
reaches through an internal inconsistency ("shouldn't happen" bail-outs) raises `Unsupported`."""
from __future__ import annotations


CDT_INSIDE_WITH_HOLES = 2
CDT_CONSTRAINTS_VALID_BMESH_WITH_HOLES = 5


class Unsupported(Exception):
    """The input needs a part of Blender's algorithm that is not ported (what, in words)."""


class _SE:
    __slots__ = ("next", "rot", "vert", "edge", "face")

    def __init__(self):
        self.next = self.rot = self.vert = self.edge = self.face = None


class _Vert:
    __slots__ = ("x", "y", "symedge", "index", "merge_to", "visit")

    def __init__(self, x: float, y: float, index: int):
        self.x, self.y, self.symedge, self.index, self.merge_to, self.visit = x, y, None, index, -1, 0


class _Edge:
    __slots__ = ("s", "constrained", "segment")

    def __init__(self):
        self.s = (_SE(), _SE())
        self.constrained = False
        self.segment = None  # the input vertices of the first constraint along it


class _Face:
    __slots__ = ("symedge", "has_ids", "visit", "deleted", "hole")

    def __init__(self):
        self.symedge, self.has_ids, self.visit, self.deleted, self.hole = None, False, 0, False, False


def sym(se: _SE) -> _SE:
    return se.next.rot


def prev(se: _SE) -> _SE:
    return se.rot.next.rot


# ------------------------------------------------------------------ exact predicates


def orient2d(a: _Vert, b: _Vert, c: _Vert) -> int:
    """Sign of the area of triangle abc (positive: counter-clockwise), exactly."""
    left = (a.x - c.x) * (b.y - c.y)
    right = (a.y - c.y) * (b.x - c.x)
    det = left - right
    if abs(det) > 1e-14 * (abs(left) + abs(right)):
        return 1 if det > 0 else -1
    ax, ay, bx, by, cx, cy = _integers(a.x, a.y, b.x, b.y, c.x, c.y)
    d = (ax - cx) * (by - cy) - (ay - cy) * (bx - cx)
    return (d > 0) - (d < 0)


def _integers(*values: float) -> list:
    """The values as integers, all scaled by one power of two (exact: a double is an integer
    over a power of two); the predicates' signs do not change under that scaling."""
    ratios = [v.as_integer_ratio() for v in values]
    den = max(d for _, d in ratios)
    return [n * (den // d) for n, d in ratios]


def _incircle_terms(a, b, c, d):
    adx, ady, bdx, bdy = a[0] - d[0], a[1] - d[1], b[0] - d[0], b[1] - d[1]
    cdx, cdy = c[0] - d[0], c[1] - d[1]
    alift, blift, clift = adx * adx + ady * ady, bdx * bdx + bdy * bdy, cdx * cdx + cdy * cdy
    terms = ((alift, bdx * cdy, cdx * bdy), (blift, cdx * ady, adx * cdy), (clift, adx * bdy, bdx * ady))
    return sum(lift * (p - q) for lift, p, q in terms), terms


def incircle(a: _Vert, b: _Vert, c: _Vert, d: _Vert) -> int:
    """Positive when d is inside the circle through a, b, c (counter-clockwise), exactly."""
    det, terms = _incircle_terms((a.x, a.y), (b.x, b.y), (c.x, c.y), (d.x, d.y))
    permanent = sum(lift * (abs(p) + abs(q)) for lift, p, q in terms)
    if abs(det) > 1e-12 * permanent:
        return 1 if det > 0 else -1
    i = _integers(a.x, a.y, b.x, b.y, c.x, c.y, d.x, d.y)
    exact, _ = _incircle_terms(i[0:2], i[2:4], i[4:6], i[6:8])
    return (exact > 0) - (exact < 0)


def in_line(a: _Vert, b: _Vert, c: _Vert) -> bool:
    abx, aby, acx, acy = b.x - a.x, b.y - a.y, c.x - a.x, c.y - a.y
    if abx * acx + aby * acy < 0:
        return False
    return (c.x - b.x) * acx + (c.y - b.y) * acy >= 0


CROSS, EXACT, NONE, COLINEAR = range(4)


def isect_seg_seg(v1, v2, v3, v4) -> tuple:
    """BLI's isect_seg_seg for double2: (kind, lambda along v1-v2)."""
    div = (v2[0] - v1[0]) * (v4[1] - v3[1]) - (v2[1] - v1[1]) * (v4[0] - v3[0])
    if div == 0.0:
        return COLINEAR, 0.0
    lam = ((v1[1] - v3[1]) * (v4[0] - v3[0]) - (v1[0] - v3[0]) * (v4[1] - v3[1])) / div
    mu = ((v1[1] - v3[1]) * (v2[0] - v1[0]) - (v1[0] - v3[0]) * (v2[1] - v1[1])) / div
    if 0.0 <= lam <= 1.0 and 0.0 <= mu <= 1.0:
        return (EXACT if lam in (0.0, 1.0) or mu in (0.0, 1.0) else CROSS), lam
    return NONE, lam


# ------------------------------------------------------------------ the arrangement


class CDT:
    def __init__(self, points):
        self.verts = [_Vert(float(x), float(y), i) for i, (x, y) in enumerate(points)]
        self.edges: list = []
        self.faces: list = []
        self.outer = self.add_face()
        self.visit_count = 0
        self.crossings: list = []  # per added vertex: (split constraint, crossing constraint)

    def add_face(self) -> _Face:
        f = _Face()
        self.faces.append(f)
        return f

    def add_edge(self, v1, v2, fleft, fright) -> _Edge:
        e = _Edge()
        self.edges.append(e)
        se, sesym = e.s
        se.edge = sesym.edge = e
        se.face, sesym.face = fleft, fright
        se.vert, sesym.vert = v1, v2
        if v1.symedge is None:
            v1.symedge = se
        if v2.symedge is None:
            v2.symedge = sesym
        return e

    def add_vert_to_symedge_edge(self, v, se) -> _Edge:
        se_rot = se.rot
        se_rotsym = sym(se_rot)
        e = self.add_edge(v, se.vert, se.face, se.face)
        new_se, new_se_sym = e.s
        new_se.next = se
        new_se_sym.next = new_se
        new_se.rot = new_se
        new_se_sym.rot = se_rot
        se.rot = new_se_sym
        se_rotsym.next = new_se_sym
        return e

    def add_diagonal(self, s1, s2) -> _Edge:
        fold = s1.face
        fnew = self.add_face()
        s1prev = prev(s1)
        s1prevsym = sym(s1prev)
        s2prev = prev(s2)
        s2prevsym = sym(s2prev)
        e = self.add_edge(s1.vert, s2.vert, fnew, fold)
        sdiag, sdiagsym = e.s
        sdiag.next = s2
        sdiagsym.next = s1
        s2prev.next = sdiagsym
        s1prev.next = sdiag
        s1.rot = sdiag
        sdiag.rot = s1prevsym
        s2.rot = sdiagsym
        sdiagsym.rot = s2prevsym
        se = s2
        while se is not sdiag:
            se.face = fnew
            se = se.next
        fnew.has_ids = fnew.has_ids or fold.has_ids
        return e

    def connect_separate_parts(self, se1, se2) -> _Edge:
        se1_rot, se2_rot = se1.rot, se2.rot
        se1_rotsym, se2_rotsym = sym(se1_rot), sym(se2_rot)
        e = self.add_edge(se1.vert, se2.vert, self.outer, self.outer)
        new_se, new_se_sym = e.s
        new_se.next = se2
        new_se_sym.next = se1
        new_se.rot = se1_rot
        new_se_sym.rot = se2_rot
        se1.rot = new_se
        se2.rot = new_se_sym
        se1_rotsym.next = new_se
        se2_rotsym.next = new_se_sym
        return e

    def delete_edge(self, se) -> None:
        sesym = sym(se)
        v1, v2 = se.vert, sesym.vert
        aface, bface = se.face, sesym.face
        f = se.next
        h = prev(se)
        i = sesym.next
        j = prev(sesym)
        jsym, hsym = sym(j), sym(h)
        v1_isolated, v2_isolated = i is se, f is sesym
        if not v1_isolated:
            h.next = i
            i.rot = hsym
        if not v2_isolated:
            j.next = f
            f.rot = jsym
        merge = not v1_isolated and not v2_isolated and aface is not bface
        if merge:
            k = i
            while k is not f:
                k.face = aface
                k = k.next
        if v1_isolated:
            v1.symedge = None
        elif v1.symedge is se:
            v1.symedge = i
        if v2_isolated:
            v2.symedge = None
        elif v2.symedge is sesym:
            v2.symedge = f
        se.next = se.rot = sesym.next = sesym.rot = None
        if merge:
            bface.deleted = True
            if self.outer is bface:
                self.outer = aface

    def split_edge(self, se, lam: float) -> _Edge:
        """A new vertex at lam along se (math::interpolate), the new second half returned."""
        a, b = se.vert, se.next.vert
        sesym = sym(se)
        sesymprev = prev(sesym)
        sesymprevsym = sym(sesymprev)
        senext = se.next
        v = _Vert(a.x * (1 - lam) + b.x * lam, a.y * (1 - lam) + b.y * lam, len(self.verts))
        self.verts.append(v)
        e = self.add_edge(v, se.next.vert, se.face, sesym.face)
        sesym.vert = v
        newse, newsesym = e.s
        se.next = newse
        newsesym.next = sesym
        newse.next = senext
        newse.rot = sesym
        sesym.rot = newse
        senext.rot = newsesym
        newsesym.rot = sesymprevsym
        sesymprev.next = newsesym
        if newsesym.vert.symedge is sesym:
            newsesym.vert.symedge = newsesym
        e.constrained, e.segment = se.edge.constrained, se.edge.segment
        return e

    def resolve(self, i: int) -> _Vert:
        v = self.verts[i]
        return self.verts[v.merge_to] if v.merge_to != -1 else v


def find_symedge_between_verts(v1, v2):
    t = tstart = v1.symedge
    while True:
        if t.next.vert is v2:
            return t
        t = t.rot
        if t is tstart:
            return None


def find_symedge_with_face(v, f):
    t = tstart = v.symedge
    while True:
        if t.face is f:
            return t
        t = t.rot
        if t is tstart:
            return None


def vert_touches_face(v, f) -> bool:
    return find_symedge_with_face(v, f) is not None


# ------------------------------------------------------------------ Delaunay (Guibas-Stolfi)


def _dc_valid(se, basel, basel_sym) -> bool:
    return orient2d(se.next.vert, basel_sym.vert, basel.vert) > 0


def dc_tri(cdt: CDT, sites: list, start: int, end: int) -> tuple:
    n = end - start
    if n <= 1:
        return None, None
    if n <= 3:
        v1, v2 = sites[start], sites[start + 1]
        ea = cdt.add_edge(v1, v2, cdt.outer, cdt.outer)
        ea.s[0].next, ea.s[1].next = ea.s[1], ea.s[0]
        ea.s[0].rot, ea.s[1].rot = ea.s[0], ea.s[1]
        if n == 2:
            return ea.s[0], ea.s[1]
        v3 = sites[start + 2]
        eb = cdt.add_vert_to_symedge_edge(v3, ea.s[1])
        orient = orient2d(v1, v2, v3)
        if orient > 0:
            cdt.add_diagonal(eb.s[0], ea.s[0])
            return ea.s[0], eb.s[0]
        if orient < 0:
            cdt.add_diagonal(ea.s[0], eb.s[0])
            return ea.s[0].rot, eb.s[0].rot
        return ea.s[0], eb.s[0]
    n2 = n // 2
    ldo, ldi = dc_tri(cdt, sites, start, start + n2)
    rdi, rdo = dc_tri(cdt, sites, start + n2, end)
    while True:  # the lower common tangent
        if orient2d(rdi.vert, ldi.vert, ldi.next.vert) > 0:
            ldi = ldi.next
        elif orient2d(ldi.vert, rdi.next.vert, rdi.vert) > 0:
            rdi = sym(rdi).rot
        else:
            break
    ebasel = cdt.connect_separate_parts(sym(rdi).next, ldi)
    basel, basel_sym = ebasel.s
    if ldi.vert is ldo.vert:
        ldo = basel_sym
    if rdi.vert is rdo.vert:
        rdo = basel
    while True:
        lcand = basel_sym.rot
        rcand = basel_sym.next
        if _dc_valid(lcand, basel, basel_sym):
            while incircle(basel_sym.vert, basel.vert, lcand.next.vert, lcand.rot.next.vert) > 0:
                t = lcand.rot
                cdt.delete_edge(sym(lcand))
                lcand = t
        if _dc_valid(rcand, basel, basel_sym):
            while incircle(basel_sym.vert, basel.vert, rcand.next.vert, sym(rcand).next.next.vert) > 0:
                t = sym(rcand).next
                cdt.delete_edge(rcand)
                rcand = t
        valid_l = _dc_valid(lcand, basel, basel_sym)
        valid_r = _dc_valid(rcand, basel, basel_sym)
        if not valid_l and not valid_r:
            break
        if not valid_l or (valid_r and incircle(lcand.next.vert, lcand.vert, rcand.vert, rcand.next.vert) > 0):
            ebasel = cdt.add_diagonal(rcand.next, basel_sym)
        else:
            ebasel = cdt.add_diagonal(basel_sym.next, sym(lcand))
        basel, basel_sym = ebasel.s
    return ldo, rdo


def initial_triangulation(cdt: CDT) -> None:
    n = len(cdt.verts)
    if n <= 1:
        return
    order = sorted(range(n), key=lambda i: (cdt.verts[i].x, cdt.verts[i].y, i))
    i = 0
    while i < n - 1:  # find_site_merges: equal points merge to the first in sorted order
        j = i + 1
        vi = cdt.verts[order[i]]
        while j < n and (cdt.verts[order[j]].x, cdt.verts[order[j]].y) == (vi.x, vi.y):
            cdt.verts[order[j]].merge_to = order[i]
            j += 1
        i = j if j - i > 1 else i + 1
    sites = [cdt.verts[k] for k in order if cdt.verts[k].merge_to < 0]
    dc_tri(cdt, sites, 0, len(sites))
