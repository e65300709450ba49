"""Everything that talks to Blender: .blend -> IR import, IR -> .blend export, Blender as oracle.

bpy is imported lazily inside the functions that need it (it is an optional extra, heavy, and
not thread-safe: keep every call on one thread). Nothing here runs at program run time.

Facts about Blender this package relies on (measured with bpy 4.2.23 and 5.0.1):
- Multi-input sockets (Join Geometry) evaluate their links in *descending*
  `link.multi_input_sort_id` (the same order as `socket.links`): the link with the highest id
  comes first in the joined geometry. A newly created link gets the highest id so far, so the
  exporter creates the links of a multi-input socket from the last `order` to the first.
- In 5.0 Transform Geometry's mode is a MENU input socket ("Components"/"Matrix") and its
  Transform (matrix) socket stays `enabled` in COMPONENTS mode; the IR keeps `mode` as a property.
- After changing a modifier input, `obj.update_tag()` is needed or the evaluated mesh is stale.
- A modifier input's socket min/max are only the *soft* range of its property
  (`mod.id_properties_ui(id)`); the hard range is float32's / int32's. Blender evaluates any
  stored value unclamped (cabinet's dividing boards at 0 or -3, widths of 20000); an int input
  refuses floats and values beyond int32, a bool input refuses ints.
- bpy 4.2 cannot open a file saved by 5.0. In 5.0 many node options are menu sockets (names in
  common.py); a built-in menu lists its items only in the TypeError for a value that is not one.

importer.py and parameters.py: .blend -> IR; exporter.py: IR -> .blend; oracle.py: evaluation
in Blender and golden files; common.py: shared names. Nothing here imports torch.
"""
from .common import IR_FORMAT, IR_META_PROPERTY, IR_VERSION, write_json_atomic
from .exporter import build_blender_tree, export_blend
from .importer import import_blend, node_kinds
from .oracle import (evaluate_in_blender, evaluate_tree_in_blender, read_goldens, sample_parameter_sets,
                     sample_within_limits, write_goldens)

__all__ = ["IR_FORMAT", "IR_META_PROPERTY", "IR_VERSION", "write_json_atomic", "build_blender_tree",
           "export_blend", "import_blend", "node_kinds", "evaluate_in_blender", "evaluate_tree_in_blender", "read_goldens",
           "sample_parameter_sets", "sample_within_limits", "write_goldens"]
