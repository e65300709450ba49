"""The second half of the port of Blender's delaunay_2d.cc (see `cdt.py`): inserting the faces'
edges as constraints, the output options (Fill Curve's two), and the result."""
from __future__ import annotations

import math

from .cdt import (CDT, CDT_CONSTRAINTS_VALID_BMESH_WITH_HOLES, CDT_INSIDE_WITH_HOLES, COLINEAR, CROSS, EXACT,
                  Unsupported, _Vert, find_symedge_between_verts, find_symedge_with_face, in_line, incircle,
                  initial_triangulation, isect_seg_seg, orient2d, sym, vert_touches_face)
from .stdsort import std_sort


def re_delaunay_triangulate(cdt: CDT, se) -> None:
    if se.face is cdt.outer or sym(se).face is cdt.outer:
        return
    count, ss = 1, se.next
    while ss is not se:
        count += 1
        ss = ss.next
    if count <= 3:
        return
    first = se.next.next
    a, b, c = se.vert, se.next.vert, first.vert
    cse = first
    ss = first.next
    while ss is not se:
        if incircle(a, b, c, ss.vert) > 0:
            c, cse = ss.vert, ss
        ss = ss.next
    ebc = eca = None
    if find_symedge_between_verts(b, c) is None:
        ebc = cdt.add_diagonal(se.next, cse)
    if find_symedge_between_verts(c, a) is None:
        eca = cdt.add_diagonal(cse, se)
    if ebc is not None:
        re_delaunay_triangulate(cdt, ebc.s[1])
    if eca is not None:
        re_delaunay_triangulate(cdt, eca.s[1])


class _Cross:
    __slots__ = ("lam", "vert", "inn", "out")

    def __init__(self, lam=0.0, vert=None, inn=None, out=None):
        self.lam, self.vert, self.inn, self.out = lam, vert, inn, out

    def set(self, other: "_Cross") -> None:
        self.lam, self.vert, self.inn, self.out = other.lam, other.vert, other.inn, other.out


def _through_vert(v, cd_out, cd: _Cross, cd_next: _Cross) -> None:
    cd_next.set(_Cross(0.0, v, None, None))
    if cd.lam == 0:
        cd.out = cd_out
    else:
        se = sym(cd.inn)
        if se.vert is not v:
            se = se.next
            if se.vert is not v:
                se = se.next
        cd_next.inn = se


def _intersect(cur: tuple, v2: _Vert, t, cd: _Cross, cd_next: _Cross) -> None:
    va, vb = t.vert, t.next.vert
    se_vcvb, se_vcva = sym(t.next), t.next.next
    kind, lam = isect_seg_seg((va.x, va.y), (vb.x, vb.y), cur, (v2.x, v2.y))
    if kind == CROSS:  # epsilon 0: lambda in (0, 1) is a crossing
        len_ab = math.hypot(va.x - vb.x, va.y - vb.y)
        if lam * len_ab <= 0.0:
            _through_vert(va, se_vcva, cd, cd_next)
        elif (1 - lam) * len_ab <= 0.0:
            _through_vert(vb, se_vcvb, cd, cd_next)
        else:
            cd_next.set(_Cross(lam, None, t, None))
            if cd.lam == 0:
                cd.out = se_vcva
    elif kind == EXACT:
        if lam == 0:
            _through_vert(va, se_vcva, cd, cd_next)
        elif lam == 1:
            _through_vert(vb, se_vcvb, cd, cd_next)
        else:
            cd_next.set(_Cross(lam, None, t, None))
            if cd.lam == 0:
                cd.out = se_vcva
    elif kind == COLINEAR:
        da = (va.x - v2.x) ** 2 + (va.y - v2.y) ** 2
        db = (vb.x - v2.x) ** 2 + (vb.y - v2.y) ** 2
        _through_vert(va, se_vcva, cd, cd_next) if da <= db else _through_vert(vb, se_vcvb, cd, cd_next)
    else:  # NONE: near one end
        _through_vert(va, se_vcva, cd, cd_next) if lam <= 0.5 else _through_vert(vb, se_vcvb, cd, cd_next)


def _next_from_vert(cdt: CDT, cd: _Cross, cd_next: _Cross, v2: _Vert) -> bool:
    t = tstart = cd.vert.symedge
    vcur = cd.vert
    while True:
        va, vb = t.next.vert, t.next.next.vert
        orient1 = orient2d(t.vert, va, v2)
        if orient1 == 0 and in_line(vcur, va, v2):
            _through_vert(va, t, cd, cd_next)
            return True
        if t.face is not cdt.outer:
            orient2 = orient2d(vcur, vb, v2)
            if orient1 > 0 and orient2 < 0:
                _intersect((vcur.x, vcur.y), v2, t.next, cd, cd_next)
                return True
        t = t.rot
        if t is tstart:
            return False


def _next_from_edge(cd: _Cross, cd_next: _Cross, v2: _Vert) -> None:
    va, vb = cd.inn.vert, cd.inn.next.vert
    lam = cd.lam
    cur = (va.x * (1 - lam) + vb.x * lam, va.y * (1 - lam) + vb.y * lam)  # math::interpolate
    se_ac = sym(cd.inn).next
    vc = se_ac.next.vert
    orient = orient2d(_Vert(cur[0], cur[1], -1), v2, vc)
    if orient < 0:
        _intersect(cur, v2, se_ac.next, cd, cd_next)
    elif orient > 0:
        _intersect(cur, v2, se_ac, cd, cd_next)
    else:
        cd_next.set(_Cross(0.0, vc, se_ac.next, None))


def _constrain(edge, v1: _Vert, v2: _Vert) -> None:
    edge.constrained = True
    if edge.segment is None:
        edge.segment = (v1.index, v2.index)


def add_edge_constraint(cdt: CDT, v1: _Vert, v2: _Vert) -> list:
    """The constraint v1-v2 (need_ids off: edges are marked constrained); returns its edges."""
    if v1 is v2:
        return []
    t = find_symedge_between_verts(v1, v2)
    if t is not None:
        _constrain(t.edge, v1, v2)
        return [t.edge]
    cdt.visit_count += 1
    visit = cdt.visit_count
    crossings = [_Cross(0.0, v1)]
    while crossings[-1].vert is not v2:
        n = len(crossings)
        crossings.append(_Cross())
        cd, cd_next = crossings[n - 1], crossings[n]
        if cd.lam == 0:
            if not _next_from_vert(cdt, cd, cd_next, v2):
                raise Unsupported("a constraint path not found")
        else:
            _next_from_edge(cd, cd_next, v2)
        if cd_next.lam == 0:
            if cd_next.vert.visit == visit:
                raise Unsupported("a constraint path that loops")
            cd_next.vert.visit = visit
    nc = len(crossings)
    for i in range(2, nc):  # go straight to a vertex on an edge just crossed
        cd = crossings[i]
        if cd.lam != 0.0:
            continue
        v = cd.vert
        j = i - 1
        while j > 0:
            p = crossings[j]
            if (p.lam == 0.0 and p.vert is not v) or (p.lam != 0.0 and p.inn.vert is not v
                                                       and p.inn.next.vert is not v):
                break
            p.lam = -1.0
            j -= 1
        if j < i - 1:
            p = crossings[j]
            if p.lam == 0.0:
                se = find_symedge_between_verts(p.vert, v)
                if se is None:
                    return []
                p.out, cd.inn = se, None
            else:
                se = find_symedge_with_face(v, sym(p.inn).face)
                if se is None:
                    return []
                cd.inn = se
    for cd in crossings:  # a crossed constraint is split where the new one crosses it
        if cd.lam not in (0.0, -1.0) and cd.inn.edge.constrained:
            split = cd.inn.edge.segment
            cd.vert = cdt.split_edge(cd.inn, cd.lam).s[0].vert
            cdt.crossings.append((split, (v1.index, v2.index)))
    for cd in crossings:
        if cd.lam not in (0.0, -1.0) and not cd.inn.edge.constrained:
            cdt.delete_edge(cd.inn)
    edges = []
    tstart = crossings[0].out
    for i in range(1, nc):
        cd = crossings[i]
        if cd.lam == -1.0:
            continue
        t = tnext = None
        if cd.lam != 0.0:
            if cd.inn.edge.constrained:
                t = cd.vert.symedge
                tnext = sym(t).next
        else:
            t, tnext = cd.inn, cd.out
            if t is None:
                j = i - 1
                while j >= 0 and crossings[j].lam == -1.0:
                    j -= 1
                edge = crossings[j].out.edge
                _constrain(edge, v1, v2)
                edges.append(edge)
        if t is not None:
            edge = tstart.edge if tstart.next.vert is t.vert else cdt.add_diagonal(tstart, t)
            _constrain(edge, v1, v2)
            edges.append(edge)
            re_delaunay_triangulate(cdt, edge.s[0])
            re_delaunay_triangulate(cdt, edge.s[1])
        if i < nc - 1 and tnext is not None:
            tstart = tnext
    return edges


def _add_face_ids(cdt: CDT, face_symedge) -> None:
    """need_ids off: no edge stops the flood (its ids are 0, outside every face's id range)."""
    cdt.visit_count += 1
    visit = cdt.visit_count
    stack = [face_symedge]
    while stack:
        se = stack.pop()
        face = se.face
        if face.visit == visit:
            continue
        face.visit = visit
        face.has_ids = True
        start, se = se, se.next
        while se is not start:
            other = sym(se)
            if other.face.visit != visit:
                stack.append(other)
            se = se.next


def add_face_constraints(cdt: CDT, faces: list) -> int:
    added, face_symedge0 = 0, None
    for face in faces:
        if len(face) <= 2:
            continue
        for i in range(len(face)):
            added += 1
            v1, v2 = cdt.resolve(face[i]), cdt.resolve(face[(i + 1) % len(face)])
            edges = add_edge_constraint(cdt, v1, v2)
            if edges:
                e = edges[0]
                face_symedge0 = e.s[0] if e.s[0].vert is v1 else e.s[1]
        if face_symedge0 is not None:
            _add_face_ids(cdt, face_symedge0)
            _add_face_ids(cdt, face_symedge0)
    return added


def _deleted(e) -> bool:
    return e.s[0].next is None


def dissolve_symedge(cdt: CDT, se) -> None:
    symse = sym(se)
    if symse.face is cdt.outer:
        se = sym(se)
        symse = sym(se)
    if cdt.outer.symedge is se or cdt.outer.symedge is symse:
        cdt.outer.symedge = None if se.next.next is se else se.next.next
    else:
        if se.face.symedge is se:
            se.face.symedge = se.next
        if symse.face.symedge is symse:
            symse.face.symedge = symse.next
    cdt.delete_edge(se)


def remove_non_constraint_edges_leave_valid_bmesh(cdt: CDT) -> None:
    dissolvable = []
    for e in cdt.edges:
        if not _deleted(e) and not e.constrained:
            a, b = e.s[0].vert, e.s[1].vert
            dissolvable.append(((a.x - b.x) * (a.x - b.x) + (a.y - b.y) * (a.y - b.y), e))
    std_sort(dissolvable, lambda p, q: p[0] < q[0])
    for _, e in dissolvable:
        se = e.s[0]
        dissolve = True
        fleft, fright = se.face, sym(se).face
        if fleft is not cdt.outer and fright is not cdt.outer and (fleft.has_ids or fright.has_ids):
            se2 = se.next
            while dissolve and se2 is not se:
                if sym(se2).face is fright or (se2.vert is not se.next.vert and vert_touches_face(se2.vert, fright)):
                    dissolve = False
                se2 = se2.next
        if dissolve:
            dissolve_symedge(cdt, se)


def remove_outer_edges_until_constraints(cdt: CDT) -> None:
    cdt.visit_count += 1
    visit = cdt.visit_count
    cdt.outer.visit = visit
    fstack = []
    se = start = cdt.outer.symedge
    while True:
        if not se.edge.constrained:
            fsym = sym(se).face
            if fsym.visit != visit:
                fstack.append(fsym)
        se = se.next
        if se is start:
            break
    while fstack:
        f = fstack.pop()
        if f.visit == visit:
            continue
        f.visit = visit
        to_dissolve = []
        se = start = f.symedge
        while True:
            if not se.edge.constrained:
                fsym = sym(se).face
                if fsym.visit != visit:
                    fstack.append(fsym)
                else:
                    to_dissolve.insert(0, se)  # BLI_linklist_prepend
            se = se.next
            if se is start:
                break
        for se in to_dissolve:
            if se.next is not None:
                dissolve_symedge(cdt, se)


def remove_faces_in_holes(cdt: CDT) -> None:
    for f in cdt.faces:
        if not f.deleted and f.hole:
            f.deleted = True
            se = start = f.symedge
            while True:
                nxt = se.next
                if se.edge is not None and not se.edge.constrained:
                    se.next = None
                se = nxt
                if se is start:
                    break


def detect_holes(cdt: CDT) -> None:
    for f in cdt.faces:
        f.visit = -1
    region, reps = -1, []
    cdt.outer.visit = -2
    for f in cdt.faces:
        if f.deleted or f.symedge is None or f.visit != -1:
            continue
        region += 1
        reps.append(f)
        stack = [f]
        while stack:
            g = stack.pop()
            if g.visit != -1:
                continue
            g.visit = region
            se = start = g.symedge
            while True:
                if se.edge is not None and not se.edge.constrained:
                    fsym = sym(se).face
                    if fsym is not None and not fsym.deleted and fsym.visit == -1:
                        stack.append(fsym)
                se = se.next
                if se is start:
                    break
    cdt.visit_count = region + 1
    ray_end = (123456.0, 654321.0)
    for f in reps:
        a, b, c = f.symedge.vert, f.symedge.next.vert, f.symedge.next.next.vert
        mid = ((a.x + b.x + c.x) / 3, (a.y + b.y + c.y) / 3)
        hits = 0
        for e in cdt.edges:
            if _deleted(e) or not e.constrained or e.s[0].face.visit == e.s[1].face.visit:
                continue
            u, v = e.s[0].vert, e.s[1].vert
            if isect_seg_seg(ray_end, mid, (u.x, u.y), (v.x, v.y))[0] == CROSS:
                hits += 1
        f.hole = hits % 2 == 0
    for f in cdt.faces:
        if f.visit >= 0:
            f.hole = reps[f.visit].hole


def delaunay_2d(points, faces: list, output_type: int) -> tuple:
    """(per output vertex: its input vertex, or -1 - k for the k-th added one; faces as tuples
    of output vertices; per added vertex: the two input segments (pairs of input vertices) it
    is the crossing of; the edges as pairs of output vertices, in the order of Blender's result
    (the CDT's edges as made, less the deleted)): Blender's delaunay_2d_calc with these points,
    no edges, these faces, epsilon 0, need_ids off."""
    if output_type not in (CDT_INSIDE_WITH_HOLES, CDT_CONSTRAINTS_VALID_BMESH_WITH_HOLES):
        raise ValueError(f"output type {output_type} is not ported")
    cdt = CDT(points)
    initial_triangulation(cdt)
    if add_face_constraints(cdt, faces) == 0:
        output_type = 1  # CDT_INSIDE: no faces, no holes to look for
    if cdt.edges:
        for e in cdt.edges:
            if not _deleted(e):
                for se in e.s:
                    if se.face.symedge is None:
                        se.face.symedge = se
        if output_type != 1:
            detect_holes(cdt)
        remove_outer_edges_until_constraints(cdt)
        if output_type == CDT_CONSTRAINTS_VALID_BMESH_WITH_HOLES:
            remove_non_constraint_edges_leave_valid_bmesh(cdt)
        if output_type != 1:
            remove_faces_in_holes(cdt)
    out_index, source, n_in = {}, [], len(points)
    for v in cdt.verts:
        if v.merge_to == -1:
            out_index[v.index] = len(source)
            source.append(v.index if v.index < n_in else n_in - 1 - v.index)
    for v in cdt.verts:
        if v.merge_to != -1:
            out_index[v.index] = out_index[v.merge_to]
    out_faces = []
    for f in cdt.faces:
        if f.deleted or f is cdt.outer:
            continue
        cycle, se = [], f.symedge
        while True:
            cycle.append(out_index[se.vert.index])
            se = se.next
            if se is f.symedge:
                break
        out_faces.append(tuple(cycle))
    out_edges = tuple((out_index[e.s[0].vert.index], out_index[e.s[1].vert.index]) for e in cdt.edges if not _deleted(e))
    return tuple(source), tuple(out_faces), tuple(cdt.crossings), out_edges

