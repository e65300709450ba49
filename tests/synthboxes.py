"""A synthetic room without labels and the true boxes of its objects (for the `--objects-from` and viewer
box tests)."""
import json

TINY_GA = ["ga:fast", "--ga.population", "8", "--ga.keep", "2", "--ga.offspring", "5", "--ga.generations", "1",
           "--ga.refine-steps", "0", "--ga.final-steps", "2", "--ga.sweep-rounds", "0"]


def boxed_room(root):
    """(labelled scene folder, the same frames as a 7-Scenes folder without labels): a synthetic room with a
    table and a chair, 16 frames at 160x120."""
    from procsplat.data.readers import load_scene
    from procsplat.data.readers.sevenscenes import write_sevenscenes
    from procsplat.data.synth import SynthConfig, generate

    scene_dir = generate(SynthConfig(out=root, seed=21, num_frames=16, width=160, height=120, num_objects=2,
                                     categories=("table", "chair")), progress=False)
    room = load_scene(scene_dir)
    seven = write_sevenscenes(root / "seven", [(f.rgb, f.depth, f.cam_to_world) for f in room.frames], room.frames.K)
    return scene_dir, seven


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
