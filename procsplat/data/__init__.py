"""Scans in: `SceneConfig` + `open_scene` (a folder, a .sens file, a ScanNet id or the demo) -> `Scene`.

scene.py       Scene, FrameSource (lazy, cached frames), instance masks
readers/       ScanNet raw (.sens streamed) and exported layouts, 7-Scenes/TUM style folders; writers
synth.py       synthetic rooms with ground truth in ScanNet's raw layout (`procsplat synth`, the demo)
realistic.py   `synth --realistic`: structured-light depth, bleeding masks (applied on read), partial paths, clutter
categories.py  scan labels -> shape programs
gravity.py     the up and floor of scans without a known up (floor plane, horizontal surfaces, cameras)
boxes.py       objects given as oriented boxes (`--objects-from boxes.json`) for scans without labels
"""
from procsplat.data.config import SceneConfig, open_scene
from procsplat.data.scene import Scene, SceneReadError

__all__ = ["SceneConfig", "open_scene", "Scene", "SceneReadError"]
