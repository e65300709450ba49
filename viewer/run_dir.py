"""Opening a run directory for viewing: checks that it is complete, reads scene.json, rebuilds the model."""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from procsplat.export import RUN_FILES, SCENE_SCHEMA


class RunDirError(ValueError):
    """A run directory that is missing, incomplete or unreadable (the message names the file)."""


@dataclass
class RunInfo:
    run: Path
    scene_doc: dict  # the run's scene.json as written by export.scene_document

    @property
    def scene_name(self) -> str:
        return str(self.scene_doc.get("scene", self.run.name))

    @property
    def source(self) -> str:
        return str(self.scene_doc.get("source", ""))


def check_run_dir(run) -> RunInfo:
    """Refuse (RunDirError) unless `run` holds every file `procsplat export` needs and a valid scene.json."""
    run = Path(run)
    if not run.exists():
        raise RunDirError(f"{run}: run directory not found")
    if not run.is_dir():
        raise RunDirError(f"{run}: not a directory (expected a procsplat run directory)")
    missing = [f for f in RUN_FILES if not (run / f).is_file()]
    if missing:
        raise RunDirError(f"{run}: incomplete run directory, missing {', '.join(missing)} "
                          f"(a finished `procsplat train` run has {', '.join(RUN_FILES)})")
    path = run / "scene.json"
    try:
        doc = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as e:
        raise RunDirError(f"{path}: cannot read ({e})") from None
    if not isinstance(doc, dict) or doc.get("schema") != SCENE_SCHEMA:
        raise RunDirError(f"{path}: not a procsplat scene document (expected \"schema\": \"{SCENE_SCHEMA}\")")
    if not isinstance(doc.get("objects"), list):
        raise RunDirError(f"{path}: field 'objects' missing or not a list")
    return RunInfo(run, doc)


def open_run(run):
    """(RunInfo, SceneModel) of a finished run; RunDirError naming the file when it cannot be used."""
    from procsplat.export import load_model

    info = check_run_dir(run)
    try:
        model = load_model(info.run)
    except (ValueError, FileNotFoundError, KeyError, RuntimeError) as e:
        raise RunDirError(f"{info.run / 'model.pt'}: cannot rebuild the model ({e})") from None
    ids_doc = sorted(int(o["instance_id"]) for o in info.scene_doc["objects"])
    ids_model = sorted(o.instance_id for o in model.objects)
    if ids_doc != ids_model:
        raise RunDirError(f"{info.run / 'scene.json'}: objects {ids_doc} do not match model.pt's {ids_model} "
                          "(re-run `procsplat export` on this run)")
    return info, model
