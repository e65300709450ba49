"""Fields against live Blender (bpy): Position and Index inputs, Set Position with Selection,
Position and Offset, and the function nodes on fields, each on random parameter sets with edge
values, evaluated as one batch; vertices within 1e-5 of Blender's, identical polygons."""
import pytest

from fieldtools import GI, compare_batch, set_position_program, value_sets
from geonodes.nodes.field_nodes import BOOLEAN_OPS
from geonodes.nodes.compare_nodes import COMPARE_OPS
from geonodes.nodes.math_nodes import MATH_OPS, VECTOR_OPS
from irtools import fparams, link, node

bpy = pytest.importorskip("bpy", reason="needs Blender (pip install 'procsplat[blender]')")
pytestmark = pytest.mark.blender

POS = [node("P", "GeometryNodeInputPosition"), node("Sep", "ShaderNodeSeparateXYZ")]
POS_LINKS = [link(("P", "Position"), ("Sep", "Vector"))]


def param_vector(name, names):
    """A Combine XYZ node `name` fed by three float parameters."""
    return node(name, "ShaderNodeCombineXYZ"), [link((GI, k), (name, axis)) for k, axis in zip(names, "XYZ")]


@pytest.mark.parametrize("mesh", ["grid", "ico", "cylinder"])
def test_set_position_position_offset_selection(mesh):
    """Position = position * a (a field), Offset = (b, c, 0), Selection = x > c."""
    vec, vec_links = param_vector("V", ("b", "c", "z0"))
    nodes = POS + [vec, node("Scale", "ShaderNodeVectorMath", {"operation": "SCALE"}),
                   node("Cmp", "FunctionNodeCompare", {"data_type": "FLOAT", "operation": "GREATER_THAN"})]
    links = POS_LINKS + vec_links + [
        link(("P", "Position"), ("Scale", "Vector")), link((GI, "a"), ("Scale", "Scale")),
        link(("Sep", "X"), ("Cmp", "A")), link((GI, "c"), ("Cmp", "B"))]
    ir = set_position_program(nodes, links, fparams("a", "b", "c", "z0"), offset=("V", "Vector"),
                              position=("Scale", "Vector"), selection=("Cmp", "Result"), mesh=mesh)
    compare_batch(ir, value_sets(["a", "b", "c", "z0"], 24, seed=1))


def test_set_position_single_value_selection_per_row():
    """A single-value Selection that differs between rows (the symbolic path)."""
    nodes = [node("Cmp", "FunctionNodeCompare", {"data_type": "FLOAT", "operation": "GREATER_THAN"}),
             node("C", "ShaderNodeCombineXYZ")]
    links = [link((GI, "a"), ("Cmp", "A")), link((GI, "b"), ("C", "X")), link((GI, "c"), ("C", "Z"))]
    for position in (None, ("C", "Vector")):
        ir = set_position_program(nodes, links, fparams("a", "b", "c"), offset=("C", "Vector"), position=position,
                                  selection=("Cmp", "Result"))
        compare_batch(ir, value_sets("abc", 16, seed=2))


@pytest.mark.parametrize("op", sorted(MATH_OPS))
def test_math_on_fields(op):
    """Offset z = op(x * a, y + b, c) per vertex (x, y: the vertex's position)."""
    nodes = POS + [node("Ax", "ShaderNodeMath", {"operation": "MULTIPLY"}),
                   node("By", "ShaderNodeMath", {"operation": "ADD"}),
                   node("M", "ShaderNodeMath", {"operation": op, "use_clamp": op in ("SUBTRACT", "SINE")}),
                   node("C", "ShaderNodeCombineXYZ")]
    links = POS_LINKS + [link(("Sep", "X"), ("Ax", "Value")), link((GI, "a"), ("Ax", "Value_001")),
                         link(("Sep", "Y"), ("By", "Value")), link((GI, "b"), ("By", "Value_001")),
                         link(("Ax", "Value"), ("M", "Value")), link(("By", "Value"), ("M", "Value_001")),
                         link((GI, "c"), ("M", "Value_002")), link(("M", "Value"), ("C", "Z"))]
    ir = set_position_program(nodes, links, fparams("a", "b", "c"), offset=("C", "Vector"))
    sets = value_sets("abc", 12, seed=sum(map(ord, op)))
    if op in ("EXPONENT", "SINH", "COSH"):
        sets = [{k: v * 0.5 for k, v in s.items()} for s in sets]  # keeps exp() in float32's exact range
    compare_batch(ir, sets)


@pytest.mark.parametrize("op", sorted(VECTOR_OPS))
def test_vector_math_on_fields(op):
    """Offset = op(position, (a, b, c), position * d, scale e) (a float result offsets all axes)."""
    probe_node = bpy.data.node_groups.new("probe", "GeometryNodeTree").nodes.new("ShaderNodeVectorMath")
    if op not in [e.identifier for e in probe_node.bl_rna.properties["operation"].enum_items]:
        pytest.skip(f"Blender {bpy.app.version_string} has no Vector Math {op}")
    vec, vec_links = param_vector("B", "abc")
    out = VECTOR_OPS[op][1]
    nodes = POS + [vec, node("D", "ShaderNodeVectorMath", {"operation": "SCALE"}),
                   node("V", "ShaderNodeVectorMath", {"operation": op})]
    links = POS_LINKS + vec_links + [
        link(("P", "Position"), ("D", "Vector")), link((GI, "d"), ("D", "Scale")),
        link(("P", "Position"), ("V", "Vector")), link(("B", "Vector"), ("V", "Vector_001")),
        link(("D", "Vector"), ("V", "Vector_002")), link((GI, "e"), ("V", "Scale"))]
    ir = set_position_program(nodes, links, fparams(*"abcde"), offset=("V", out))
    sets = value_sets("abcde", 12, seed=sum(map(ord, op)))
    if op == "MODULO":  # x % 0 is NaN in Blender
        sets = [{k: (1.0 if k in "abc" and v == 0 else v) for k, v in s.items()} for s in sets]
    compare_batch(ir, sets)


@pytest.mark.parametrize("data_type", ["FLOAT", "INT", "VECTOR"])
@pytest.mark.parametrize("op", COMPARE_OPS)
def test_compare_on_fields(data_type, op):
    """Selection = compare(position-derived field, parameters); Offset = (0, 0, 1)."""
    a_id, b_id = {"FLOAT": ("A", "B"), "INT": ("A_INT", "B_INT"), "VECTOR": ("A_VEC3", "B_VEC3")}[data_type]
    vec, vec_links = param_vector("B", "abc")
    nodes = POS + [vec, node("Cmp", "FunctionNodeCompare", {"data_type": data_type, "operation": op, "mode": "ELEMENT"}),
                   node("Up", "FunctionNodeInputVector", {"vector": [0.0, 0.0, 1.0]}),
                   node("X3", "ShaderNodeMath", {"operation": "MULTIPLY"}, {"Value_001": 3.0})]
    links = POS_LINKS + vec_links + [link((GI, "e"), ("Cmp", "Epsilon"))]
    if data_type == "VECTOR":
        links += [link(("P", "Position"), ("Cmp", a_id)), link(("B", "Vector"), ("Cmp", b_id))]
    else:
        links += [link(("Sep", "X"), ("X3", "Value")), link(("X3", "Value"), ("Cmp", a_id)), link((GI, "a"), ("Cmp", b_id))]
    ir = set_position_program(nodes, links, fparams("a", "b", "c", "e"), offset=("Up", "Vector"),
                              selection=("Cmp", "Result"))
    compare_batch(ir, value_sets("abce", 12, seed=sum(map(ord, op + data_type))))


@pytest.mark.parametrize("op", sorted(BOOLEAN_OPS))
def test_boolean_math_on_fields(op):
    nodes = POS + [node("C1", "FunctionNodeCompare", {"data_type": "FLOAT", "operation": "GREATER_THAN"}),
                   node("C2", "FunctionNodeCompare", {"data_type": "FLOAT", "operation": "LESS_THAN"}),
                   node("Bool", "FunctionNodeBooleanMath", {"operation": op}),
                   node("Up", "FunctionNodeInputVector", {"vector": [0.0, 0.5, 1.0]})]
    links = POS_LINKS + [link(("Sep", "X"), ("C1", "A")), link((GI, "a"), ("C1", "B")),
                         link(("Sep", "Y"), ("C2", "A")), link((GI, "b"), ("C2", "B")),
                         link(("C1", "Result"), ("Bool", "Boolean")), link(("C2", "Result"), ("Bool", "Boolean_001"))]
    ir = set_position_program(nodes, links, fparams("a", "b"), offset=("Up", "Vector"), selection=("Bool", "Boolean"))
    compare_batch(ir, value_sets("ab", 12, seed=sum(map(ord, op))))


@pytest.mark.parametrize("input_type", ["FLOAT", "VECTOR", "BOOLEAN"])
def test_switch_on_fields(input_type):
    """A switch with a field condition (x > a) and field / single-value branches."""
    nodes = POS + [node("Cmp", "FunctionNodeCompare", {"data_type": "FLOAT", "operation": "GREATER_THAN"}),
                   node("Sw", "GeometryNodeSwitch", {"input_type": input_type}),
                   node("Up", "FunctionNodeInputVector", {"vector": [0.0, 0.0, 1.0]})]
    links = POS_LINKS + [link(("Sep", "X"), ("Cmp", "A")), link((GI, "a"), ("Cmp", "B")),
                         link(("Cmp", "Result"), ("Sw", "Switch"))]
    if input_type == "FLOAT":
        links += [link(("Sep", "Y"), ("Sw", "True")), link((GI, "b"), ("Sw", "False"))]
        kw = {"offset": ("Sw", "Output")}
    elif input_type == "VECTOR":
        links += [link(("P", "Position"), ("Sw", "True"))]
        kw = {"position": ("Sw", "Output")}
        nodes[-2]["inputs"] = {"False": [0.0, 0.0, 0.25]}
    else:
        nodes.append(node("C2", "FunctionNodeCompare", {"data_type": "FLOAT", "operation": "LESS_THAN"}))
        links += [link(("Sep", "Y"), ("C2", "A")), link((GI, "b"), ("C2", "B")), link(("C2", "Result"), ("Sw", "True"))]
        kw = {"offset": ("Up", "Vector"), "selection": ("Sw", "Output")}
    ir = set_position_program(nodes, links, fparams("a", "b"), **kw)
    compare_batch(ir, value_sets("ab", 12, seed=5))


@pytest.mark.parametrize("data_type", ["FLOAT", "FLOAT_VECTOR"])
@pytest.mark.parametrize("interpolation", ["LINEAR", "STEPPED", "SMOOTHSTEP", "SMOOTHERSTEP"])
def test_map_range_on_fields(data_type, interpolation):
    """Map Range of the x coordinate (or the position) from [a, b] to [c, d], steps e."""
    clamp = interpolation != "SMOOTHSTEP"
    nodes = POS + [node("MR", "ShaderNodeMapRange", {"data_type": data_type, "interpolation_type": interpolation,
                                                     "clamp": clamp})]
    if data_type == "FLOAT":
        links = POS_LINKS + [link(("Sep", "X"), ("MR", "Value"))] + [
            link((GI, k), ("MR", s)) for k, s in zip("abcde", ("From Min", "From Max", "To Min", "To Max", "Steps"))]
        nodes.append(node("C", "ShaderNodeCombineXYZ"))
        links.append(link(("MR", "Result"), ("C", "Z")))
        offset = ("C", "Vector")
    else:
        links = POS_LINKS + [link(("P", "Position"), ("MR", "Vector"))]
        for k, s in zip("abcde", ("From_Min_FLOAT3", "From_Max_FLOAT3", "To_Min_FLOAT3", "To_Max_FLOAT3",
                                  "Steps_FLOAT3")):
            nodes.append(node("V" + k, "ShaderNodeCombineXYZ"))
            links += [link((GI, k), ("V" + k, "X")), link((GI, k), ("V" + k, "Y")), link((GI, "f"), ("V" + k, "Z")),
                      link(("V" + k, "Vector"), ("MR", s))]
        offset = ("MR", "Vector")
    ir = set_position_program(nodes, links, fparams(*"abcdef"), offset=offset)
    compare_batch(ir, value_sets("abcdef", 16, seed=sum(map(ord, interpolation + data_type))))


@pytest.mark.parametrize("data_type,factor_mode", [("FLOAT", "UNIFORM"), ("VECTOR", "UNIFORM"),
                                                   ("VECTOR", "NON_UNIFORM")])
@pytest.mark.parametrize("clamp", [False, True])
def test_mix_on_fields(data_type, factor_mode, clamp):
    props = {"data_type": data_type, "factor_mode": factor_mode, "clamp_factor": clamp}
    nodes = POS + [node("Mix", "ShaderNodeMix", props)]
    vec, vec_links = param_vector("B", "abc")
    nodes.append(vec)
    links = POS_LINKS + vec_links
    if data_type == "FLOAT":
        links += [link(("Sep", "X"), ("Mix", "Factor_Float")), link(("Sep", "Y"), ("Mix", "A_Float")),
                  link((GI, "a"), ("Mix", "B_Float"))]
        out = ("Mix", "Result_Float")
    else:
        factor = ("P", "Position") if factor_mode == "NON_UNIFORM" else ("Sep", "X")
        links += [link(factor, ("Mix", "Factor_Vector" if factor_mode == "NON_UNIFORM" else "Factor_Float")),
                  link(("P", "Position"), ("Mix", "A_Vector")), link(("B", "Vector"), ("Mix", "B_Vector"))]
        out = ("Mix", "Result_Vector")
    ir = set_position_program(nodes, links, fparams("a", "b", "c"), position=out)
    compare_batch(ir, value_sets("abc", 12, seed=7))


def test_index_and_conversions():
    """Offset = (index * a, index > b, 0): INT fields converted to float and to bool (then vector)."""
    nodes = [node("I", "GeometryNodeInputIndex"), node("M", "ShaderNodeMath", {"operation": "MULTIPLY"}),
             node("Cmp", "FunctionNodeCompare", {"data_type": "INT", "operation": "GREATER_THAN"}),
             node("C", "ShaderNodeCombineXYZ"), node("Sw", "GeometryNodeSwitch", {"input_type": "VECTOR"})]
    links = [link(("I", "Index"), ("M", "Value")), link((GI, "a"), ("M", "Value_001")),
             link(("I", "Index"), ("Cmp", "A_INT")), link((GI, "b"), ("Cmp", "B_INT")),
             link(("M", "Value"), ("C", "X")), link(("Cmp", "Result"), ("C", "Y")),
             link(("Cmp", "Result"), ("Sw", "Switch")), link(("I", "Index"), ("Sw", "True")),
             link(("C", "Vector"), ("Sw", "False"))]
    ir = set_position_program(nodes, links, fparams("a", "b"), offset=("Sw", "Output"), mesh="cube")
    compare_batch(ir, value_sets("ab", 12, seed=9, lo=-3, hi=9))


def test_transform_join_and_switch_after_fields():
    """Transforms after a field Set Position compose as affines; joined with a symbolic mesh,
    under a geometry switch (rows of two topologies), realized as instances on points."""
    nodes = POS + [node("M", "ShaderNodeMath", {"operation": "SINE"}), node("C", "ShaderNodeCombineXYZ"),
                   node("Cube", "GeometryNodeMeshCube", {}, {"Size": [0.2, 0.2, 0.2]}),
                   node("Line", "GeometryNodeMeshLine", {"mode": "OFFSET"}, {"Count": 2, "Offset": [0.0, 0.0, 2.0]})]
    links = POS_LINKS + [link(("Sep", "X"), ("M", "Value")), link(("M", "Value"), ("C", "Z")), link((GI, "a"), ("C", "X"))]
    after = [(node("T", "GeometryNodeTransform"), "Geometry", "Geometry"),
             (node("J", "GeometryNodeJoinGeometry"), "Geometry", "Geometry"),
             (node("Sw", "GeometryNodeSwitch", {"input_type": "GEOMETRY"}), "True", "Output")]
    ir = set_position_program(nodes, links, fparams("a", "b", "c"), offset=("C", "Vector"), after=after)
    g = ir["groups"][0]
    g["nodes"] += [node("IoP", "GeometryNodeInstanceOnPoints"),
                   node("Real", "GeometryNodeRealizeInstances"),
                   node("TV", "ShaderNodeCombineXYZ"), node("Cmp", "FunctionNodeCompare",
                                                              {"data_type": "FLOAT", "operation": "GREATER_THAN"})]
    g["links"] += [link((GI, "b"), ("TV", "X")), link((GI, "c"), ("TV", "Z")), link(("TV", "Vector"), ("T", "Translation")),
                   link(("TV", "Vector"), ("T", "Rotation")), link(("Cube", "Mesh"), ("J", "Geometry"), 1),
                   link(("Line", "Mesh"), ("IoP", "Points")), link(("J", "Geometry"), ("IoP", "Instance")),
                   link(("IoP", "Instances"), ("Real", "Geometry")), link(("Real", "Geometry"), ("Sw", "False")),
                   link((GI, "a"), ("Cmp", "A")), link(("Cmp", "Result"), ("Sw", "Switch"))]
    compare_batch(ir, value_sets("abc", 16, seed=11))


@pytest.mark.parametrize("kind", ["single", "field"])
def test_set_position_moves_instances(kind):
    """Instances on a line's points, moved by Set Position before realizing: a single-value
    Offset (a, 0, b) with a per-row selection, or the field Offset = (index * a, position.z * b, 0)."""
    nodes = [node("L", "GeometryNodeMeshLine", {"mode": "OFFSET"}, {"Count": 4, "Offset": [0.3, 0.0, 0.5]}),
             node("C", "GeometryNodeMeshCube", {}, {"Size": [0.2, 0.2, 0.2]}), node("I", "GeometryNodeInstanceOnPoints"),
             node("SP", "GeometryNodeSetPosition"), node("V", "ShaderNodeCombineXYZ"),
             node("J", "GeometryNodeJoinGeometry"), node("G", "GeometryNodeMeshGrid"),
             node("R", "GeometryNodeRealizeInstances")]
    links = [link(("L", "Mesh"), ("I", "Points")), link(("C", "Mesh"), ("I", "Instance")),
             link(("I", "Instances"), ("J", "Geometry"), 0), link(("G", "Mesh"), ("J", "Geometry"), 1),
             link(("J", "Geometry"), ("SP", "Geometry")), link(("V", "Vector"), ("SP", "Offset")),
             link(("SP", "Geometry"), ("R", "Geometry")), link(("R", "Geometry"), ("Group Output", "Out"))]
    if kind == "single":
        nodes.append(node("Cmp", "FunctionNodeCompare", {"data_type": "FLOAT", "operation": "GREATER_THAN"}))
        links += [link((GI, "a"), ("V", "X")), link((GI, "b"), ("V", "Z")), link((GI, "b"), ("Cmp", "A")),
                  link(("Cmp", "Result"), ("SP", "Selection"))]
    else:
        nodes += [node("Ix", "GeometryNodeInputIndex"), node("M", "ShaderNodeMath", {"operation": "MULTIPLY"}),
                  node("P", "GeometryNodeInputPosition"), node("Sep", "ShaderNodeSeparateXYZ"),
                  node("M2", "ShaderNodeMath", {"operation": "MULTIPLY"})]
        links += [link(("Ix", "Index"), ("M", "Value")), link((GI, "a"), ("M", "Value_001")), link(("M", "Value"), ("V", "X")),
                  link(("P", "Position"), ("Sep", "Vector")), link(("Sep", "Z"), ("M2", "Value")),
                  link((GI, "b"), ("M2", "Value_001")), link(("M2", "Value"), ("V", "Y"))]
    from irtools import program
    compare_batch(program(nodes, links, fparams("a", "b")), value_sets("ab", 12, seed=12))


def test_fields_through_group_sockets():
    """A field made inside a group (position * a) leaves through its output and is used outside."""
    inner = {"name": "inner", "inputs": [{"identifier": "s", "name": "s", "type": "FLOAT", "default": 1.0}],
             "outputs": [{"identifier": "v", "name": "v", "type": "VECTOR"}],
             "nodes": [node("Group Input", "NodeGroupInput"), node("Group Output", "NodeGroupOutput"),
                       node("P", "GeometryNodeInputPosition"), node("K", "ShaderNodeVectorMath", {"operation": "SCALE"})],
             "links": [link(("P", "Position"), ("K", "Vector")), link(("Group Input", "s"), ("K", "Scale")),
                       link(("K", "Vector"), ("Group Output", "v"))]}
    nodes = [node("Gr", "GeometryNodeGroup", group="inner")]
    links = [link((GI, "a"), ("Gr", "s"))]
    ir = set_position_program(nodes, links, fparams("a"), offset=("Gr", "v"), mesh="ico")
    ir["groups"].append(inner)
    compare_batch(ir, value_sets("a", 8, seed=13))


def test_authored_field_program():
    """A program written with the authoring API's field helpers, exported to Blender."""
    from geonodes.authoring import ProgramBuilder

    p = ProgramBuilder("wave")
    amp = p.float("Amplitude", 0.2, -1.0, 1.0)
    cut = p.float("Cut", 0.3, -1.0, 1.0)
    grid = p.grid(2.0, 2.0, 5, 4)
    pos = p.position()
    waved = p.set_position(grid, offset=p.vec(0.0, 0.0, pos.x * pos.y * amp), selection=pos.x > -0.5)
    shifted = p.set_position(waved, offset=p.normal() * 0.1)
    p.output(p.delete(shifted, p.position().y > cut, domain="FACE").translate(z=amp))
    ir = p.build()
    sets = [{"Amplitude": a, "Cut": c} for a, c in ((0.2, 0.3), (-1.0, 0.9), (0.0, -0.1), (0.7, -0.6), (1.0, 2.0))]
    compare_batch(ir, sets)


@pytest.mark.parametrize("kind", ["fields", "single"])
def test_instance_on_points_with_fields(kind):
    """Cubes on a grid's points: Rotation z = index * a, Scale = 1 + x * b, Selection y > c (fields),
    or a per-row single-value selection a > 0; realized, then joined with the points."""
    nodes = [node("G", "GeometryNodeMeshGrid", {}, {"Size X": 2.0, "Size Y": 1.0, "Vertices X": 4, "Vertices Y": 3}),
             node("C", "GeometryNodeMeshCube", {}, {"Size": [0.1, 0.2, 0.3]}), node("I", "GeometryNodeInstanceOnPoints"),
             node("R", "GeometryNodeRealizeInstances"), node("J", "GeometryNodeJoinGeometry")]
    links = [link(("G", "Mesh"), ("I", "Points")), link(("C", "Mesh"), ("I", "Instance")), link(("I", "Instances"), ("R", "Geometry")),
             link(("R", "Geometry"), ("J", "Geometry"), 0), link(("G", "Mesh"), ("J", "Geometry"), 1),
             link(("J", "Geometry"), ("Group Output", "Out"))]
    if kind == "fields":
        nodes += POS + [node("Ix", "GeometryNodeInputIndex"), node("Ra", "ShaderNodeMath", {"operation": "MULTIPLY"}),
                        node("RV", "ShaderNodeCombineXYZ"), node("Sb", "ShaderNodeMath", {"operation": "MULTIPLY_ADD"}, {"Value_002": 1.0}),
                        node("Cmp", "FunctionNodeCompare", {"data_type": "FLOAT", "operation": "GREATER_THAN"})]
        links += POS_LINKS + [link(("Ix", "Index"), ("Ra", "Value")), link((GI, "a"), ("Ra", "Value_001")),
                              link(("Ra", "Value"), ("RV", "Z")), link(("RV", "Vector"), ("I", "Rotation")),
                              link(("Sep", "X"), ("Sb", "Value")), link((GI, "b"), ("Sb", "Value_001")), link(("Sb", "Value"), ("I", "Scale")),
                              link(("Sep", "Y"), ("Cmp", "A")), link((GI, "c"), ("Cmp", "B")), link(("Cmp", "Result"), ("I", "Selection"))]
    else:
        nodes += [node("Cmp", "FunctionNodeCompare", {"data_type": "FLOAT", "operation": "GREATER_THAN"}),
                  node("RV", "ShaderNodeCombineXYZ")]
        links += [link((GI, "a"), ("Cmp", "A")), link(("Cmp", "Result"), ("I", "Selection")), link((GI, "b"), ("RV", "Y")),
                  link(("RV", "Vector"), ("I", "Rotation")), link((GI, "c"), ("I", "Scale"))]
    from irtools import program
    compare_batch(program(nodes, links, fparams("a", "b", "c")), value_sets("abc", 16, seed=16, lo=-1, hi=1))
