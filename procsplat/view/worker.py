"""The one thread that owns the model while a viewer is editing it.

viser runs GUI callbacks on a thread pool, and a slider sends many updates per second while it is
dragged. Callbacks therefore never touch the model: they post an edit here. Edits are coalesced
(the latest value per object and field wins), applied in one batch, and each changed object is
re-evaluated once per batch. Other work (reset, save, export) is queued as tasks and runs on the
same thread after the edits that were posted before it.
"""
from __future__ import annotations

import threading
from collections import deque
from concurrent.futures import Future
from typing import Callable

from procsplat.run.rundir import edit_object

PARAM, YAW, TRANSLATION = "param", "yaw", "translation"


def apply_object_edit(model, index: int, field: str, name: str | None, value):
    """One control's edit of object `index`: a parameter (a discrete one re-anchors its Gaussians: returns
    the `ReanchorStats`), the yaw or the translation, by the rule of `procsplat.run.rundir.edit_object`
    (the same as `procsplat export`)."""
    obj = model.objects[index]
    # a run's model has Gaussians to re-anchor; the box editor's fitted programs (no splats) have none
    anchored = model.anchored[index] if getattr(model, "anchored", None) is not None else None
    if field == PARAM:
        return edit_object(obj, parameters={name: value}, anchored=anchored)
    elif field == YAW:
        edit_object(obj, pose={"yaw": value})
    elif field == TRANSLATION:
        edit_object(obj, pose={"translation": list(value)})
    else:
        raise ValueError(f"unknown edit field {field!r}")


class EditWorker:
    def __init__(self, model, on_objects_changed: Callable[[list], None], on_error: Callable[[str], None] = print):
        self.model = model
        self._on_changed = on_objects_changed
        self._on_error = on_error  # the status line: errors, and what a discrete edit did to the Gaussians
        self._cv = threading.Condition()
        self._edits: dict = {}  # (object index, field, name) -> latest value
        self._tasks: deque = deque()
        self._busy = False
        self._stopping = False
        self.batches = 0  # edit batches applied (a dragged slider gives far fewer batches than updates)
        self.thread = threading.Thread(target=self._loop, name="procsplat-viewer-model", daemon=True)
        self.thread.start()

    # -- called from any thread ----------------------------------------------------------------
    def edit(self, index: int, field: str, name: str | None, value) -> None:
        with self._cv:
            self._edits[(index, field, name)] = value
            self._cv.notify()

    def call(self, fn: Callable) -> Future:
        """Run fn(model) on the worker after the edits posted so far; the Future holds its result."""
        fut: Future = Future()
        with self._cv:
            self._tasks.append((fn, fut))
            self._cv.notify()
        return fut

    def wait_idle(self, timeout: float = 30.0) -> bool:
        with self._cv:
            return self._cv.wait_for(lambda: not (self._edits or self._tasks or self._busy), timeout)

    def stop(self, timeout: float = 10.0) -> None:
        with self._cv:
            self._stopping = True
            self._cv.notify_all()
        if threading.current_thread() is not self.thread:
            self.thread.join(timeout)

    # -- the worker thread ---------------------------------------------------------------------
    def _loop(self) -> None:
        while True:
            with self._cv:
                self._cv.wait_for(lambda: self._edits or self._tasks or self._stopping)
                if self._stopping:
                    self._cv.notify_all()
                    return
                edits, self._edits = self._edits, {}
                tasks, self._tasks = list(self._tasks), deque()
                self._busy = True
            try:
                self._apply(edits)
                for fn, fut in tasks:
                    if fut.set_running_or_notify_cancel():
                        try:
                            fut.set_result(fn(self.model))
                        except Exception as e:  # noqa: BLE001 - reported to the caller and the GUI
                            fut.set_exception(e)
                            self._on_error(f"{getattr(fn, '__name__', 'task')}: {e}")
            finally:
                with self._cv:
                    self._busy = False
                    self._cv.notify_all()

    def _apply(self, edits: dict) -> None:
        if not edits:
            return
        changed = []
        for (index, field, name), value in edits.items():
            try:
                stats = apply_object_edit(self.model, index, field, name, value)
            except Exception as e:  # noqa: BLE001 - one bad edit must not stop the viewer
                self._on_error(str(e))  # edit_object's message names the object
                continue
            if stats is not None:  # a discrete edit: say what became of the Gaussians
                obj = self.model.objects[index]
                self._on_error(f"object {obj.instance_id}: {name} = {value}: re-anchored, {stats.describe()}")
            if index not in changed:
                changed.append(index)
        self.batches += 1
        if changed:
            try:
                self._on_changed(sorted(changed))
            except Exception as e:  # noqa: BLE001
                self._on_error(f"re-evaluating objects {changed}: {e}")
