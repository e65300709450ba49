"""The README's node table: generated from geonodes/node_names.py, listing exactly the node types
the compiler supports (the registry's evaluated types, groups, dropped layout nodes), each by
Blender's UI name (checked against bpy)."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from geonodes.node_names import MENU, UI_NAMES, markdown_table, supported_types, table_in
from geonodes.node_types import COMPILED_NODE_TYPES, DROPPED_NODE_TYPES, GROUP_TYPES
from geonodes.nodes import REGISTRY

README = Path(__file__).resolve().parent.parent / "README.md"


def _listed(table: str) -> dict:
    """{bl_idname: UI name} of a table's rows."""
    out = {}
    for line in table.splitlines():
        if line.startswith("| ") and "`" in line and not line.startswith("| Blender menu"):
            for name, type_ in re.findall(r"([^,|]+?): `(\w+)`", line.split("|")[2]):
                assert type_ not in out, f"{type_} listed twice"
                out[type_] = name.strip()
    return out


def test_readme_table_is_the_generated_one():
    current = table_in(README.read_text())
    assert current is not None, "README.md lost its node table markers"
    assert current == markdown_table(), "stale: run python scripts/node_table.py --write"


def test_readme_lists_exactly_the_supported_types():
    listed = _listed(table_in(README.read_text()))
    assert set(listed) == supported_types()
    evaluated = set(listed) - set(GROUP_TYPES) - DROPPED_NODE_TYPES
    assert evaluated == set(REGISTRY) == COMPILED_NODE_TYPES
    assert listed == {t: UI_NAMES[t] for t in listed}


def test_every_type_is_in_one_menu_group():
    seen = [t for group in MENU.values() for t in group]
    assert len(seen) == len(set(seen))


def test_a_missing_name_is_an_error(monkeypatch):
    import geonodes.node_names as nn
    monkeypatch.setattr(nn, "UI_NAMES", {k: v for k, v in UI_NAMES.items() if k != "GeometryNodeMeshCube"})
    with pytest.raises(ValueError, match="GeometryNodeMeshCube"):
        nn.markdown_table()


@pytest.mark.blender
def test_ui_names_are_blenders():
    bpy = pytest.importorskip("bpy", reason="needs bpy (pip install 'procsplat[blender]')")
    # (the group node's RNA name is its class name; its menu entry and header say "Group")
    blender = {t: "Group" if t == "GeometryNodeGroup" else getattr(bpy.types, t).bl_rna.name for t in UI_NAMES}
    wrong = {t: (name, blender[t]) for t, name in UI_NAMES.items() if blender[t] != name}
    assert not wrong, wrong
