"""Errors procsplat raises on purpose for bad input: a scan, a run folder, a config or an edit.

Every message names the file, frame, object, field or parameter. The CLI prints these on one
line and exits 2; anything else is a bug and keeps its traceback.
"""


class ProcsplatError(ValueError):
    """Base of every error procsplat raises for bad input (catch this, not ValueError)."""
