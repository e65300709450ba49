"""Symbolic, batched geometry.

A batch of B parameter sets can produce different topologies (a Switch picks another branch,
a count changes). Geometry values are therefore *piecewise*: a list of (rows, structure)
pairs, where every row of a `Rows` set shares one structure. A structure is symbolic: it lists
the primitive meshes it is made of and, for each, the chain of transforms applied to it.
Vertex positions are only computed at the end: every primitive is linear in per-row
coefficients and every transform is affine, so each part reduces to a few per-row numbers
(a `CoefficientTable`), from which each topology's vertices are gathered in one pass.

structure.py: the symbolic values; vertices.py: positions from them; topology.py: polygons;
dense.py: parts realized into one mesh with explicit positions (for nodes that need them).
"""
from .structure import (EMPTY, GeomStruct, Instance, Part, Piecewise, Prim, Rows, Xform, combine, corner_edges, edges_known,
                        euler_to_matrix, prim_edges, select, split_by)
from .topology import Topology, assemble_topology, fan_triangulate
from .vertices import (IDENTITY, CoefficientTable, apply_affine, chain_affine, compose, part_rows_vertices,
                       part_vertices, stack_columns, struct_points)
from .dense import dense_struct, domain_size, realize, with_data

__all__ = ["corner_edges", "edges_known", "prim_edges", "EMPTY", "GeomStruct", "Instance", "Part", "Piecewise", "Prim", "Rows", "Xform", "combine",
           "euler_to_matrix", "select", "split_by", "stack_columns", "Topology", "assemble_topology", "fan_triangulate",
           "IDENTITY", "CoefficientTable", "apply_affine", "chain_affine", "compose", "part_rows_vertices", "part_vertices", "struct_points",
           "dense_struct", "domain_size", "realize", "with_data"]
