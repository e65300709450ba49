"""Small .blend programs built with bpy (4.2 or 5.0: only bpy is imported here, so the bpy 5.0
check of scripts/check_import_bpy5.sh builds the same files) around nodes that do not change
the mesh, a Menu Switch, opaque sockets and an unsupported node."""
from __future__ import annotations

import bpy


def _tree(name: str = "Main"):
    bpy.ops.wm.read_factory_settings(use_empty=True)
    tree = bpy.data.node_groups.new(name, "GeometryNodeTree")
    tree.interface.new_socket("Geometry", in_out="OUTPUT", socket_type="NodeSocketGeometry")
    return tree


def _input(tree, name, socket_type, default, limits=None):
    sock = tree.interface.new_socket(name, in_out="INPUT", socket_type=socket_type)
    if default is not None:
        sock.default_value = default
    if limits is not None:
        sock.min_value, sock.max_value = limits
    return sock


def _nodes(tree, *types):
    return [tree.nodes.new(t) for t in types]


def _link(tree, a, b):
    tree.links.new(a, b)


def _save(tree, path, values=None):
    obj = bpy.data.objects.new("Thing", bpy.data.meshes.new("Thing"))
    bpy.context.scene.collection.objects.link(obj)
    mod = obj.modifiers.new("GN", "NODES")
    mod.node_group = tree
    for ident, value in (values or {}).items():
        mod[ident] = value
    bpy.ops.wm.save_as_mainfile(filepath=str(path), check_existing=False)
    return path


def _viewer(tree, geometry_socket):
    viewer = tree.nodes.new("GeometryNodeViewer")
    if hasattr(viewer, "viewer_items"):  # 5.0: the Viewer's inputs are items
        viewer.viewer_items.new("GEOMETRY", "Geometry")
    _link(tree, geometry_socket, viewer.inputs["Geometry"])
    return viewer


def _set_menu(node, socket_name, prop, item_name, value):
    """A node option that is a property in 4.2 and a menu socket in 5.0."""
    if hasattr(node, prop):
        setattr(node, prop, value)
    else:
        node.inputs[socket_name].default_value = item_name


def chain_program(path):
    """Cube(Width, Width, Height) -> Set Material -> Set Shade Smooth -> Store Named Attribute
    (float and colour) -> Set Material Index -> Set ID -> Remove Named Attribute (wildcard) ->
    (reroute) -> Transform (menu-socket Mode in 5.0) -> Join with a Mesh Line of Count points;
    a Viewer on the Set Material, the cube in a Frame, a Material input on the modifier."""
    tree = _tree()
    width = _input(tree, "Width", "NodeSocketFloat", 1.0, (0.1, 5.0))
    _input(tree, "Height", "NodeSocketFloat", 0.5)
    count = _input(tree, "Count", "NodeSocketInt", 3, (1, 8))
    _input(tree, "Smooth", "NodeSocketBool", True)
    material = _input(tree, "Material", "NodeSocketMaterial", None)
    material.default_value = bpy.data.materials.new("Wood")
    gi, out, xyz, cube, setmat, smooth, store, store_col, index, set_id, remove, reroute, transform, line, join, \
        frame = _nodes(tree, "NodeGroupInput", "NodeGroupOutput", "ShaderNodeCombineXYZ", "GeometryNodeMeshCube",
                       "GeometryNodeSetMaterial", "GeometryNodeSetShadeSmooth", "GeometryNodeStoreNamedAttribute",
                       "GeometryNodeStoreNamedAttribute", "GeometryNodeSetMaterialIndex", "GeometryNodeSetID",
                       "GeometryNodeRemoveAttribute", "NodeReroute", "GeometryNodeTransform", "GeometryNodeMeshLine",
                       "GeometryNodeJoinGeometry", "NodeFrame")
    cube.parent = frame
    store_col.data_type = "FLOAT_COLOR"
    store.inputs["Name"].default_value = "weight"
    store_col.inputs["Name"].default_value = "Col"
    remove.inputs["Name"].default_value = "wei*"
    _set_menu(remove, "Pattern Mode", "pattern_mode", "Wildcard", "WILDCARD")
    transform.inputs["Translation"].default_value = (0.0, 0.0, 0.25)
    transform.inputs["Rotation"].default_value = (0.0, 0.0, 0.3)
    line.inputs["Offset"].default_value = (0.1, 0.2, 0.3)
    _link(tree, gi.outputs["Width"], xyz.inputs["X"])
    _link(tree, gi.outputs["Width"], xyz.inputs["Y"])
    _link(tree, gi.outputs["Height"], xyz.inputs["Z"])
    _link(tree, xyz.outputs["Vector"], cube.inputs["Size"])
    _link(tree, cube.outputs["Mesh"], setmat.inputs["Geometry"])
    _link(tree, gi.outputs["Material"], setmat.inputs["Material"])
    _link(tree, setmat.outputs["Geometry"], smooth.inputs["Geometry"])
    _link(tree, gi.outputs["Smooth"], smooth.inputs["Shade Smooth"])
    _link(tree, smooth.outputs["Geometry"], store.inputs["Geometry"])
    _link(tree, gi.outputs["Height"], store.inputs["Value"])
    _link(tree, store.outputs["Geometry"], store_col.inputs["Geometry"])
    _link(tree, gi.outputs["Width"], store_col.inputs["Value"])  # float -> colour
    _link(tree, store_col.outputs["Geometry"], index.inputs["Geometry"])
    _link(tree, gi.outputs["Count"], index.inputs["Material Index"])
    _link(tree, index.outputs["Geometry"], set_id.inputs["Geometry"])
    _link(tree, set_id.outputs["Geometry"], remove.inputs["Geometry"])
    _link(tree, remove.outputs["Geometry"], reroute.inputs[0])
    _link(tree, reroute.outputs[0], transform.inputs["Geometry"])
    _link(tree, gi.outputs["Count"], line.inputs["Count"])
    _link(tree, line.outputs["Mesh"], join.inputs["Geometry"])
    _link(tree, transform.outputs["Geometry"], join.inputs["Geometry"])
    _link(tree, join.outputs["Geometry"], out.inputs[0])
    _viewer(tree, setmat.outputs["Geometry"])
    return _save(tree, path, {width.identifier: 1.25, count.identifier: 4})


def menu_program(path, shape: str, size: str):
    """A Menu Switch (geometry) choosing the Box, Tube or Ball by its unlinked menu, scaled by a
    Menu Switch (float) choosing Small or Large. The Box item is removed and made again, so the
    item sockets' identifiers are not in order."""
    tree = _tree()
    _input(tree, "Scale", "NodeSocketFloat", 1.0)
    gi, out, shapes, sizes, cube, tube, ball, scale, transform = _nodes(
        tree, "NodeGroupInput", "NodeGroupOutput", "GeometryNodeMenuSwitch", "GeometryNodeMenuSwitch",
        "GeometryNodeMeshCube", "GeometryNodeMeshCylinder", "GeometryNodeMeshUVSphere", "ShaderNodeMath",
        "GeometryNodeTransform")
    shapes.enum_items.remove(shapes.enum_items[0])
    shapes.enum_items[0].name = "Tube"
    shapes.enum_items.new("Ball")
    shapes.enum_items.new("Box")
    sizes.data_type = "FLOAT"
    sizes.enum_items[0].name, sizes.enum_items[1].name = "Small", "Large"
    sizes.inputs[1].default_value, sizes.inputs[2].default_value = 0.5, 2.0
    shapes.inputs["Menu"].default_value = shape
    sizes.inputs["Menu"].default_value = size
    ball.inputs["Segments"].default_value, ball.inputs["Rings"].default_value = 8, 5
    scale.operation = "MULTIPLY"
    items = {s.name: s for s in shapes.inputs if s.identifier.startswith("Item_")}
    _link(tree, cube.outputs["Mesh"], items["Box"])
    _link(tree, tube.outputs["Mesh"], items["Tube"])
    _link(tree, ball.outputs["Mesh"], items["Ball"])
    _link(tree, sizes.outputs["Output"], scale.inputs[0])
    _link(tree, gi.outputs["Scale"], scale.inputs[1])
    _link(tree, shapes.outputs["Output"], transform.inputs["Geometry"])
    _link(tree, scale.outputs["Value"], transform.inputs["Scale"])
    _link(tree, transform.outputs["Geometry"], out.inputs[0])
    return _save(tree, path)


def unsupported_program(path):
    """A cube through a nested group 'Legs' holding a Split Edges and a Subdivide Curve (two
    node types geonodes does not support)."""
    tree = _tree()
    legs = bpy.data.node_groups.new("Legs", "GeometryNodeTree")
    legs.interface.new_socket("Geometry", in_out="INPUT", socket_type="NodeSocketGeometry")
    legs.interface.new_socket("Geometry", in_out="OUTPUT", socket_type="NodeSocketGeometry")
    lin, lout, split, subdivide = _nodes(legs, "NodeGroupInput", "NodeGroupOutput", "GeometryNodeSplitEdges",
                                         "GeometryNodeSubdivideCurve")
    _link(legs, lin.outputs[0], split.inputs["Mesh"])
    _link(legs, split.outputs["Mesh"], subdivide.inputs["Curve"])
    _link(legs, subdivide.outputs["Curve"], lout.inputs[0])
    out, cube, group = _nodes(tree, "NodeGroupOutput", "GeometryNodeMeshCube", "GeometryNodeGroup")
    group.node_tree = legs
    _link(tree, cube.outputs["Mesh"], group.inputs[0])
    _link(tree, group.outputs[0], out.inputs[0])
    return _save(tree, path)


def constants_program(path):
    """Value (0.75, kept on its output socket), Integer (7), Boolean and Vector nodes feeding a
    cylinder (radius Value * Scale, Integer vertices), a switch and a transform."""
    tree = _tree()
    scale = _input(tree, "Scale", "NodeSocketFloat", 1.0, (0.1, 3.0))
    gi, out, value, integer, boolean, vector, mul, cyl, switch, transform = _nodes(
        tree, "NodeGroupInput", "NodeGroupOutput", "ShaderNodeValue", "FunctionNodeInputInt", "FunctionNodeInputBool",
        "FunctionNodeInputVector", "ShaderNodeMath", "GeometryNodeMeshCylinder", "GeometryNodeSwitch",
        "GeometryNodeTransform")
    value.outputs[0].default_value = 0.75
    integer.integer = 7
    boolean.boolean = True
    vector.vector = (0.1, -0.2, 0.3)
    mul.operation = "MULTIPLY"
    switch.input_type = "FLOAT"
    switch.inputs["False"].default_value = 0.5
    _link(tree, value.outputs[0], mul.inputs[0])
    _link(tree, gi.outputs["Scale"], mul.inputs[1])
    _link(tree, mul.outputs[0], cyl.inputs["Radius"])
    _link(tree, integer.outputs[0], cyl.inputs["Vertices"])
    _link(tree, boolean.outputs[0], switch.inputs["Switch"])
    _link(tree, value.outputs[0], switch.inputs["True"])
    _link(tree, switch.outputs[0], cyl.inputs["Depth"])
    _link(tree, cyl.outputs["Mesh"], transform.inputs["Geometry"])
    _link(tree, vector.outputs[0], transform.inputs["Translation"])
    _link(tree, transform.outputs[0], out.inputs[0])
    return _save(tree, path, {scale.identifier: 1.5})
