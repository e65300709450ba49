"""geonodes: Blender Geometry Nodes programs compiled to batched, differentiable PyTorch."""
import os as _os

# Before torch loads: OpenMP threads that wait sleep instead of spinning, so that torch processes
# sharing a machine do not steal each other's cores (a user's value is kept). The same default as
# procsplat's thread policy (procsplat/threads.py, which has the measurements; geonodes imports
# nothing from procsplat, and a test checks the two agree).
_ENV_DEFAULTS = {"OMP_WAIT_POLICY": "PASSIVE"}
for _key, _value in _ENV_DEFAULTS.items():
    _os.environ.setdefault(_key, _value)

from .errors import GeonodesError, IRError, ParameterError  # noqa: E402
from .program import Mesh, MeshGroup, Program, load_program  # noqa: E402

__all__ = ["GeonodesError", "IRError", "ParameterError", "Mesh", "MeshGroup", "Program", "load_program"]
