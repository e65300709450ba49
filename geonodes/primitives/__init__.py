"""Blender's mesh primitive nodes as batched, differentiable PyTorch functions.

Each function returns exactly the mesh Blender 4.2 builds for the node: same vertex order,
same polygon order, same loop order (verified against live `bpy` in tests/test_primitives.py).
Integer inputs (counts) are python ints shared by the whole batch: they fix the topology.
Float inputs are tensors with a leading batch dimension n.

Every primitive's vertex positions are *linear* in its float inputs, so a topology is stored
as coefficient tables: `positions = sum_k input_k * table_k`. The tables and the polygon arrays
depend only on the integers and are cached on the CPU (float64), then cast to the inputs'
dtype/device on use. Gradients flow through the multiply-adds.

Invalid integer inputs give an empty mesh, as Blender does (it shows an info message and
outputs no geometry): see each function's docstring.

core.py: shared records, input checks, evaluation; grid_line.py, cube.py, cone.py (cone,
cylinder, circle), spheres.py (UV and ico sphere): the nodes.
"""
from .cone import (cone_topology_flags, mesh_circle, mesh_circle_linear, mesh_cone, mesh_cone_linear, mesh_cylinder,
                   mesh_cylinder_linear)
from .core import FILL_TYPES, Linear, PrimMesh, evaluate_linear
from .cube import mesh_cube, mesh_cube_linear
from .grid_line import (line_resolution_count, mesh_grid, mesh_grid_linear, mesh_line_end_points_resolution,
                        mesh_line_end_points_resolution_linear, mesh_line_end_points_total,
                        mesh_line_end_points_total_linear, mesh_line_offset, mesh_line_offset_linear)
from .spheres import mesh_ico_sphere, mesh_ico_sphere_linear, mesh_uv_sphere, mesh_uv_sphere_linear, uv_sphere_normals

__all__ = ["FILL_TYPES", "Linear", "PrimMesh", "evaluate_linear", "cone_topology_flags", "line_resolution_count",
           "mesh_circle", "mesh_circle_linear", "mesh_cone", "mesh_cone_linear", "mesh_cube", "mesh_cube_linear",
           "mesh_cylinder", "mesh_cylinder_linear", "mesh_grid", "mesh_grid_linear", "mesh_ico_sphere",
           "mesh_ico_sphere_linear", "mesh_line_end_points_resolution", "mesh_line_end_points_resolution_linear",
           "mesh_line_end_points_total", "mesh_line_end_points_total_linear", "mesh_line_offset",
           "mesh_line_offset_linear", "mesh_uv_sphere", "mesh_uv_sphere_linear", "assigned_normals"]


def assigned_normals(fn_name: str, config: tuple):
    """(V, 3) vertex normals a primitive comes with (only the UV Sphere assigns them in Blender),
    else None: computed from the faces."""
    if fn_name == "mesh_uv_sphere":
        return uv_sphere_normals(*config)
    return None
