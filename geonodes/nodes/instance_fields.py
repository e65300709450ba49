"""Instance on Points with fields: Selection, Rotation and Scale evaluated on the points (one
value per point, in point order), as Blender's node_geo_instance_on_points.cc does. Rows whose
selections differ get different instance lists (the batch splits by them)."""
from __future__ import annotations

import numpy as np

from ..errors import IRError
from ..geometry import GeomStruct, Instance, Piecewise, Rows, Xform, euler_to_matrix, realize
from .field_nodes import mesh_context


def instances_with_fields(n, points: Piecewise, instance: Piecewise, selection, rotation, scale) -> Piecewise:
    placed = []  # (rows, per selected point: its Xform)
    for rows, struct in points.pieces:
        if struct.instances:
            raise IRError(f"{n.where}: instancing on the points of instances is not supported (realize them first)")
        if struct.curves:
            raise IRError(f"{n.where}: instancing on the points of curves with fields is not supported "
                          "(only single values)")
        # the mesh's vertices, then the point cloud's points: each component its own field domain
        sources = [c for c in (struct.parts, struct.points) if c]
        if not sources:
            placed.append((rows, ()))
            continue
        index = rows.index(n.device)
        keeps, xforms = [], []
        for source in sources:
            prim = realize(GeomStruct(source), n.geometry_cache)
            ctx = mesh_context(prim, index, "POINT")
            b, count = ctx.b, ctx.n
            m = euler_to_matrix(ctx.value(rotation)).view(b, count, 3, 3) * ctx.grid(scale)[:, :, None, :]
            t = prim.dense
            if b != n.batch:  # whole-batch tensors: the other rows are never read
                m = m.new_zeros((n.batch, count, 3, 3)).index_copy(0, index, m)
            keeps.append(ctx.grid(selection).cpu().numpy().reshape(b, count))
            xforms += [Xform(lambda cache, k=k, m=m, t=t: (m[:, k], t[:, k])) for k in range(count)]  # this m, t
        masks, inverse = np.unique(np.concatenate(keeps, axis=1), axis=0, return_inverse=True)
        inverse = inverse.reshape(-1)
        all_rows = index.cpu().numpy()
        for i, mask in enumerate(masks):
            chosen = np.zeros(rows.n, bool)
            chosen[all_rows[inverse == i]] = True
            placed.append((Rows.from_numpy(chosen), tuple(xforms[k] for k in np.flatnonzero(mask))))
    out = []
    for rows, xforms in placed:
        for inst_rows, geometry in instance.pieces:
            both = rows & inst_rows
            if both.any():
                out.append((both, GeomStruct((), tuple(Instance(geometry, (x,)) for x in xforms))))
    return Piecewise(out).merged()
