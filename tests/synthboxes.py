"""The true boxes of a synthetic scene's objects (for the `--objects-from` and viewer box tests)."""
import json


def gt_boxes(scene_dir) -> list:
    """The boxes of a synthetic scene's objects: each true mesh's bounds in its object frame, posed."""
    import math

    import torch
    from geonodes import load_program

    boxes = []
    for o in json.loads((scene_dir / "gt.json").read_text())["objects"]:
        v = load_program(o["program"]).evaluate_one(o["parameters"], dtype=torch.float64).vertices.numpy()
        lo, hi = v.min(0), v.max(0)
        c, cy, sy = (lo + hi) / 2, math.cos(o["yaw"]), math.sin(o["yaw"])
        t = o["translation"]
        boxes.append({"id": o["instance_id"], "category": o["category"], "yaw": o["yaw"], "size": (hi - lo).tolist(),
                      "center": [cy * c[0] - sy * c[1] + t[0], sy * c[0] + cy * c[1] + t[1], c[2] + t[2]]})
    return boxes
