"""geonodes: Blender Geometry Nodes programs compiled to batched, differentiable PyTorch."""
from .errors import GeonodesError, IRError, ParameterError
from .program import Mesh, MeshGroup, Program, load_program

__all__ = ["GeonodesError", "IRError", "ParameterError", "Mesh", "MeshGroup", "Program", "load_program"]
