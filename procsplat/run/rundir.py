"""The run directory: one checkpoint schema, loaded as data only, and one rule for edits.

    <run>/model.pt                the model (`save_run`), what `export` and `view` load
    <run>/checkpoints/latest.pt   the same schema plus the training state (optimiser, step, RNG)
    <run>/scene.json              versioned scene document (per object program, parameters, pose)
    <run>/fits/object_NNN.json    each fitted object as soon as its search finishes (resume reuses it)

A checkpoint holds tensors, numbers, strings, lists and dicts only and is read with
`torch.load(weights_only=True)`: a run folder from someone else cannot run code (a pickle
payload is refused with one error naming the file). `apply_edit` is the one way to change an
object's parameters or pose: `procsplat export --params`, the viewer's sliders and its reset.
"""
from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, replace
from pathlib import Path

import torch

from geonodes.meshio import atomic_write
from procsplat.errors import ProcsplatError
from procsplat.fit.spec import ObjectSpec

SCENE_SCHEMA, SCENE_VERSION = "procsplat-scene", 1
MODEL_SCHEMA, MODEL_VERSION = "procsplat-model", 2
RUN_FILES = ("scene.json", "model.pt", "splats.ply")
MODEL_FILE, CHECKPOINT = "model.pt", "checkpoints/latest.pt"


class RunDirError(ProcsplatError):
    """A run directory or checkpoint that is missing, incomplete or unreadable (the message names the file)."""


def write_json(path: Path, doc: dict) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(path, lambda tmp: Path(tmp).write_text(json.dumps(doc, indent=1) + "\n"))


def read_json(path: Path, what: str = "file") -> dict:
    try:
        doc = json.loads(Path(path).read_text())
    except FileNotFoundError:
        raise RunDirError(f"{path}: {what} not found") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise RunDirError(f"{path}: cannot read {what} ({e})") from None
    if not isinstance(doc, dict):
        raise RunDirError(f"{path}: {what} must be a JSON object")
    return doc


# -- checkpoints ------------------------------------------------------------------------------------
def model_state(model) -> dict:
    """The model as plain data: specs (JSON), sizes, and the state dict (tensors)."""
    # The specs as fitted, with the current discrete values (the topology the Gaussians sit on after a
    # discrete edit) and groups; float values and the pose are in the state dict.
    specs = [replace(s, parameters={**s.parameters, **obj.fixed}, group=cur.group)
             for s, obj, cur in zip(model.specs, model.objects, model.current_specs())]
    return {"schema": MODEL_SCHEMA, "version": MODEL_VERSION, "specs": [s.to_json() for s in specs],
            "sh_degree": int(model.sh_degree), "counts": [int(a.face.shape[0]) for a in model.anchored],
            "background_size": 0 if model.background is None else int(model.background.means.shape[0]),
            "model": model.state_dict()}


def save_checkpoint(path: Path, model, train_state: dict | None = None) -> None:
    """model.pt (train_state None) or a training checkpoint (with optimiser, step, RNG, seconds)."""
    state = model_state(model)
    if train_state is not None:
        state["train"] = train_state
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(path, lambda tmp: torch.save(state, tmp))


_CODE_REFUSALS = ("GLOBAL", "Unsupported class", "Can only create new object", "Can only build",
                  "unrecognized function")  # torch's weights-only unpickler refusing a callable or class


def _load_failure(e: Exception) -> str:
    """Why torch.load(weights_only=True) refused a file, in one line: a pickle that names Python callables
    (code it would run) is told apart from bytes that are no checkpoint at all."""
    lines = [line.strip() for line in str(e).splitlines() if line.strip()]
    if any(sign in line for line in lines for sign in _CODE_REFUSALS):
        named = re.search(r"GLOBAL (\S+)", str(e))
        what = f" ({named.group(1)})" if named else ""
        return (f"it contains Python objects{what}, not only tensors and plain data (refused unread: loading it "
                "could run code)")
    detail = lines[0] if lines else ""
    marker = "WeightsUnpickler error:"  # the cause follows torch's explanation after this marker
    at = next((k for k, line in enumerate(lines) if marker in line), None)
    if at is not None:
        rest = lines[at].split(marker, 1)[1].strip()
        detail = rest or (lines[at + 1] if at + 1 < len(lines) else "")
    cause = f"{type(e).__name__}: {detail}" if detail else type(e).__name__
    return f"not a PyTorch file, or a corrupt or truncated one ({cause})"


def load_checkpoint(path: Path) -> dict:
    """A checkpoint's contents, read as data only; RunDirError naming the file otherwise."""
    path = Path(path)
    if not path.is_file():
        raise RunDirError(f"{path}: checkpoint not found")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # noqa: BLE001 - an unreadable or unsafe file is bad input, whatever torch raises
        raise RunDirError(f"{path}: not a procsplat checkpoint: {_load_failure(e)}") from None
    if not isinstance(state, dict) or state.get("schema") != MODEL_SCHEMA:
        raise RunDirError(f"{path}: not a procsplat checkpoint (expected \"schema\": \"{MODEL_SCHEMA}\")")
    if state.get("version") != MODEL_VERSION:
        raise RunDirError(f"{path}: checkpoint version {state.get('version')!r}, this procsplat reads "
                          f"version {MODEL_VERSION} (re-run `procsplat train`)")
    for key, kind in (("specs", list), ("counts", list), ("model", dict), ("sh_degree", int),
                      ("background_size", int)):
        if not isinstance(state.get(key), kind):
            raise RunDirError(f"{path}: field '{key}' missing or not a {kind.__name__}")
    return state


def model_from_state(state: dict, where: Path):
    """Rebuild the SceneModel of a checkpoint (no scan needed)."""
    from procsplat.splat.model import BackgroundGaussians, SceneModel

    try:
        specs = [ObjectSpec.from_json(d) for d in state["specs"]]
        n, sh = int(state["background_size"]), int(state["sh_degree"])
        background = BackgroundGaussians(torch.zeros(n, 3), torch.zeros(n, 3), 0.01, sh_degree=sh) if n else None
        model = SceneModel(specs, background, sh_degree=sh, counts=[int(c) for c in state["counts"]])
        weights = dict(state["model"])
        for k, a in enumerate(model.anchored):  # saved before objects had a shading gain: none (1 everywhere)
            weights.setdefault(f"anchored.{k}.shading", torch.zeros_like(a.shading))
        model.load_state_dict(weights)
    except (KeyError, TypeError, ValueError, RuntimeError, IndexError) as e:
        raise RunDirError(f"{where}: cannot rebuild the model ({type(e).__name__}: {e})") from None
    return model


# -- the scene document --------------------------------------------------------------------------------
def scene_document(model, scene_name: str, source, groups: list | None = None) -> dict:
    """The scene.json document. `groups` (default: from the objects' `group` fields, see
    `procsplat.fit.consistency.group_list`): objects that share one discrete assignment."""
    from procsplat.fit.consistency import group_list

    specs = model.current_specs()
    objects = [{**spec.to_json(), "num_gaussians": int(a.face.shape[0])} for spec, a in zip(specs, model.anchored)]
    nb = 0 if model.background is None else int(model.background.means.shape[0])
    return {"schema": SCENE_SCHEMA, "version": SCENE_VERSION, "scene": scene_name, "source": str(source),
            "up": [0, 0, 1], "sh_degree": model.sh_degree, "objects": objects, "background": {"num_gaussians": nb},
            "groups": group_list(specs) if groups is None else groups}


def check_scene_document(doc: dict, path: Path) -> dict:
    if doc.get("schema") != SCENE_SCHEMA:
        raise RunDirError(f"{path}: not a procsplat scene document (expected \"schema\": \"{SCENE_SCHEMA}\")")
    if not isinstance(doc.get("objects"), list):
        raise RunDirError(f"{path}: field 'objects' missing or not a list")
    return doc


@dataclass
class RunInfo:
    run: Path
    scene_doc: dict  # the run's scene.json

    @property
    def scene_name(self) -> str:
        return str(self.scene_doc.get("scene", self.run.name))

    @property
    def source(self) -> str:
        return str(self.scene_doc.get("source", ""))


# -- save / load a run ------------------------------------------------------------------------------------
def save_run(run: Path, model, scene_name: str, source) -> None:
    """model.pt and scene.json of a run (exports such as splats.ply are `procsplat.run.export`'s)."""
    save_checkpoint(Path(run) / MODEL_FILE, model)
    write_json(Path(run) / "scene.json", scene_document(model, scene_name, source))


def load_run(run: Path):
    """(RunInfo, SceneModel) of a finished run; RunDirError naming the file when it cannot be used."""
    run = Path(run)
    if not run.exists():
        raise RunDirError(f"{run}: run directory not found")
    if not run.is_dir():
        raise RunDirError(f"{run}: not a directory (expected a procsplat run directory)")
    missing = [f for f in RUN_FILES if not (run / f).is_file()]
    if missing:
        raise RunDirError(f"{run}: incomplete run directory, missing {', '.join(missing)} "
                          f"(a finished `procsplat train` run has {', '.join(RUN_FILES)})")
    doc = check_scene_document(read_json(run / "scene.json", "scene document"), run / "scene.json")
    model = model_from_state(load_checkpoint(run / MODEL_FILE), run / MODEL_FILE)
    ids_doc = sorted(int(o["instance_id"]) for o in doc["objects"])
    ids_model = sorted(o.instance_id for o in model.objects)
    if ids_doc != ids_model:
        raise RunDirError(f"{run / 'scene.json'}: objects {ids_doc} do not match model.pt's {ids_model} "
                          "(re-run `procsplat export` on this run)")
    return RunInfo(run, doc), model


# -- edits ---------------------------------------------------------------------------------------------------
def _number(value, what: str) -> float:
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise ProcsplatError(f"{what} must be a number, got {value!r}") from None
    if not math.isfinite(v):
        raise ProcsplatError(f"{what} must be finite, got {value!r}")
    return v


def _discrete(p, value, label: str):
    """A discrete parameter's value by the edit rule: an int within its search range, a bool (or 0/1)."""
    if p.kind == "bool":
        if isinstance(value, bool) or (isinstance(value, (int, float)) and value in (0, 1)):
            return bool(value)
        raise ProcsplatError(f"{label}: parameter '{p.name}' is a bool, got {value!r} (true/false)")
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) \
            or value != int(value):
        raise ProcsplatError(f"{label}: parameter '{p.name}' is an int, got {value!r}")
    if not p.min <= int(value) <= p.max:
        raise ProcsplatError(f"{label}: parameter '{p.name}' = {int(value)} is out of range {p.describe_range()}")
    return int(value)


def edit_object(obj, parameters: dict | None = None, pose: dict | None = None, where: str = "",
                anchored=None):
    """Change one ProceduralObject. The rule: a float parameter must be finite and within its range; an
    int one an integer within its range, a bool one true or false; the pose is yaw, translation (3
    numbers) and scale (> 0). Everything is checked before anything changes. A discrete change
    re-anchors the object's Gaussians `anchored` (its AnchoredGaussians) on the new topology
    (`procsplat.splat.reanchor`); a float one alone gives them the colours found at their places in their
    parts' own frames (`procsplat.splat.retexture`: a grown part shows more of its material, not a
    stretched one). The re-anchoring comes after the float values, yaw and scale are set, moving the translation so
    that the parts both topologies share stay in place -- unless the edit gives a translation other than
    the current one, which is then where the object goes (a scene document saved after a discrete edit
    holds the moved translation; one edited by hand keeps the old one). Returns the re-anchoring's
    `ReanchorStats` (None when no discrete value changed)."""
    label = f"{where}object {obj.instance_id}"
    floats, discrete = {}, {}
    for name, value in (parameters or {}).items():
        try:
            p = obj.program.parameter(name)
        except (KeyError, ValueError) as e:
            raise ProcsplatError(f"{label}: {e}") from None
        if p.kind == "float":
            v = _number(value, f"{label}: parameter '{name}'")
            if not p.min <= v <= p.max:
                raise ProcsplatError(f"{label}: parameter '{name}' = {v} is out of range {p.describe_range()}")
            floats[name] = v
        else:
            v = _discrete(p, value, label)
            if v != obj.fixed[name]:
                discrete[name] = v
    if discrete and (anchored is None or anchored.obj is not obj):
        raise ProcsplatError(f"{label}: changing discrete parameters {sorted(discrete)} needs the object's "
                             "anchored Gaussians (they are re-anchored on the new topology)")
    pose = dict(pose or {})
    unknown = set(pose) - {"yaw", "translation", "scale"}
    if unknown:
        raise ProcsplatError(f"{label}: unknown pose field(s) {sorted(unknown)} (known: yaw, translation, scale)")
    yaw = _number(pose["yaw"], f"{label}: yaw") if "yaw" in pose else None
    translation = None
    if "translation" in pose:
        t = pose["translation"]
        if not isinstance(t, (list, tuple)) or len(t) != 3:
            raise ProcsplatError(f"{label}: translation must be 3 numbers, got {t!r}")
        translation = [_number(x, f"{label}: translation") for x in t]
    scale = _number(pose["scale"], f"{label}: scale") if "scale" in pose else None
    if scale is not None and scale <= 0:
        raise ProcsplatError(f"{label}: scale must be > 0, got {scale}")
    before = obj.translation.detach().clone()
    follow = anchored is not None and anchored.obj is obj and floats and not discrete
    if follow:
        from procsplat.splat.retexture import remember

        remember(anchored)
    obj.set_parameters(floats)
    with torch.no_grad():
        if yaw is not None:
            obj.yaw.fill_(yaw)
        if scale is not None:
            obj.log_scale.fill_(math.log(scale))
    stats = None
    if discrete:
        from procsplat.splat.reanchor import reanchor

        stats = reanchor(anchored, discrete, seed=obj.instance_id)
        if translation is not None and torch.allclose(torch.tensor(translation, dtype=torch.float64), before,
                                                      rtol=0, atol=1e-12):
            translation = None  # the document's unchanged translation: the shared parts stay in place
    elif follow:
        from procsplat.splat.retexture import retexture

        retexture(anchored)
    if translation is not None:  # a new translation is where the edited object goes, as given
        with torch.no_grad():
            obj.translation.copy_(torch.tensor(translation, dtype=torch.float64))
    return stats


def apply_edit(model, doc: dict, where: str = "edit") -> list:
    """Apply a scene document (or a subset: {"objects": [{"instance_id", "parameters", "pose"}]}) to a
    model; returns the indices of the objects it names. Checked in full before any object changes."""
    if not isinstance(doc, dict) or not isinstance(doc.get("objects"), list):
        raise ProcsplatError(f"{where}: expected a JSON object with an 'objects' list")
    by_id = {obj.instance_id: k for k, obj in enumerate(model.objects)}
    plan = []
    for k, entry in enumerate(doc["objects"]):
        iid = entry.get("instance_id") if isinstance(entry, dict) else None
        if not isinstance(iid, int) or iid not in by_id:
            raise ProcsplatError(f"{where}: objects[{k}]: unknown instance_id {iid!r} (known: {sorted(by_id)})")
        params, pose = entry.get("parameters", {}), entry.get("pose", {})
        if not isinstance(params, dict) or not isinstance(pose, dict):
            raise ProcsplatError(f"{where}: objects[{k}]: 'parameters' and 'pose' must be JSON objects")
        plan.append((by_id[iid], params, pose, f"{where}: objects[{k}]: "))
    from procsplat.splat import hug
    from procsplat.splat.reanchor import edit_state, restore_edit_state

    before = [(model.objects[i], model.anchored[i], dict(model.objects[i].parameters_dict()),
               model.objects[i].pose_dict(), edit_state(model.anchored[i])) for i, *_ in plan]
    hug.remember(model)  # background Gaussians on an object's surface go with it (`procsplat.splat.hug`)
    try:
        for i, params, pose, label in plan:
            edit_object(model.objects[i], params, pose, label, anchored=model.anchored[i])
    except ProcsplatError:
        for obj, anchored, params, pose, state in reversed(before):  # all or nothing
            edit_object(obj, {n: v for n, v in params.items() if n in obj.float_names}, pose)
            restore_edit_state(anchored, state)
        raise
    hug.follow(model)
    return [i for i, *_ in plan]
