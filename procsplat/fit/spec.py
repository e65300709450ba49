"""ObjectSpec: what fitting produced for one object -- program, parameters, pose -- and what a run's
`scene.json` and checkpoints store per object (plain JSON, so a model rebuilds without the scan)."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass
class ObjectSpec:
    """What fitting produced for one object (and what `scene.json` stores)."""

    instance_id: int
    category: str
    program: str  # library name or path of the program
    parameters: dict
    yaw: float
    translation: list
    scale: float = 1.0
    group: int | None = None
    """Consistency group (`procsplat.fit.consistency`): objects of one group share their discrete
    parameters. None: in no group (also what documents without the field mean)."""

    def to_json(self) -> dict:
        doc = {"instance_id": self.instance_id, "category": self.category, "program": self.program,
               "parameters": self.parameters, "pose": {"yaw": self.yaw, "translation": list(self.translation),
                                                        "scale": self.scale}}
        if self.group is not None:
            doc["group"] = self.group
        return doc

    @staticmethod
    def from_json(d: dict) -> "ObjectSpec":
        pose = d["pose"]
        return ObjectSpec(int(d["instance_id"]), d.get("category", ""), d["program"], dict(d["parameters"]),
                          float(pose["yaw"]), [float(x) for x in pose["translation"]], float(pose.get("scale", 1.0)),
                          None if d.get("group") is None else int(d["group"]))
