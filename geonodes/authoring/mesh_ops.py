"""Authoring methods for the mesh operation nodes (mixed into the builders' node methods)."""
from __future__ import annotations

from .handles import Geometry, Value, _geometry_node, _graph_of


class MeshOps:
    """Flip Faces, Triangulate, Scale Elements, Extrude Mesh, Merge by Distance, Mesh to Points,
    Points to Vertices, Dual Mesh. Selections and the other field inputs take single values or
    fields (e.g. built from p.position())."""

    @staticmethod
    def flip_faces(mesh: Geometry, selection=None, name: str | None = None) -> Geometry:
        return _geometry_node("GeometryNodeFlipFaces", {"Mesh": mesh, "Selection": selection}, "Mesh", name,
                              "Flip Faces")

    @staticmethod
    def triangulate(mesh: Geometry, selection=None, quad_method: str = "SHORTEST_DIAGONAL", minimum_vertices=None,
                    name: str | None = None) -> Geometry:
        return _geometry_node("GeometryNodeTriangulate", {"Mesh": mesh, "Selection": selection,
                                                          "Minimum Vertices": minimum_vertices}, "Mesh", name,
                              "Triangulate", {"quad_method": quad_method, "ngon_method": "BEAUTY"})

    @staticmethod
    def scale_elements(geometry: Geometry, scale=None, selection=None, center=None, axis=None, domain: str = "FACE",
                       name: str | None = None) -> Geometry:
        """Scale Elements: uniform, or along `axis` (SINGLE_AXIS) when it is given."""
        mode = "UNIFORM" if axis is None else "SINGLE_AXIS"
        return _geometry_node("GeometryNodeScaleElements", {"Geometry": geometry, "Selection": selection, "Scale": scale,
                                                            "Center": center, "Axis": axis}, "Geometry", name,
                              "Scale Elements", {"domain": domain, "scale_mode": mode})

    @staticmethod
    def extrude(mesh: Geometry, offset=None, offset_scale=None, selection=None, mode: str = "FACES",
                individual=None, name: str | None = None) -> tuple:
        """Extrude Mesh (FACES individually, or as regions with individual=False; EDGES;
        VERTICES): (mesh, top, side); top and side are boolean fields (the extruded faces, edges'
        copies or new points; the side faces)."""
        shared = {}
        inputs = {"Mesh": mesh, "Selection": selection, "Offset": offset, "Offset Scale": offset_scale,
                  "Individual": individual}
        graph = _graph_of(*[v for v in inputs.values() if v is not None])

        def make(g):
            if id(g) not in shared:
                shared[id(g)] = g.add_node("GeometryNodeExtrudeMesh", name or "Extrude Mesh", inputs, {"mode": mode})
            return shared[id(g)]

        geo = Geometry(lambda g: (make(g), "Mesh"), graph, name)
        return (geo, Value("BOOLEAN", lambda g: (make(g), "Top"), graph, "Top"),
                Value("BOOLEAN", lambda g: (make(g), "Side"), graph, "Side"))

    @staticmethod
    def merge_by_distance(geometry: Geometry, distance=None, selection=None, name: str | None = None) -> Geometry:
        return _geometry_node("GeometryNodeMergeByDistance", {"Geometry": geometry, "Selection": selection,
                                                              "Distance": distance}, "Geometry", name, "Merge by Distance",
                              {"mode": "ALL"})

    @staticmethod
    def mesh_to_points(mesh: Geometry, selection=None, position=None, radius=None, mode: str = "VERTICES",
                       name: str | None = None) -> Geometry:
        return _geometry_node("GeometryNodeMeshToPoints", {"Mesh": mesh, "Selection": selection, "Position": position,
                                                           "Radius": radius}, "Points", name, "Mesh to Points",
                              {"mode": mode})

    @staticmethod
    def points_to_vertices(points: Geometry, selection=None, name: str | None = None) -> Geometry:
        return _geometry_node("GeometryNodePointsToVertices", {"Points": points, "Selection": selection}, "Mesh", name,
                              "Points to Vertices")

    @staticmethod
    def dual_mesh(mesh: Geometry, keep_boundaries=None, name: str | None = None) -> Geometry:
        return _geometry_node("GeometryNodeDualMesh", {"Mesh": mesh, "Keep Boundaries": keep_boundaries}, "Dual Mesh",
                              name, "Dual Mesh")
