"""Reading input files: a missing, unreadable or malformed one is an `IRError` naming the file
(raised where the file is opened, so no caller needs to catch OSError). Torch-free: the
Blender modules use it too."""
from __future__ import annotations

import json
from pathlib import Path

from .errors import IRError


def read_text(path, what: str) -> str:
    """The text of input file `path`; `what` names it in messages ("program file", ...)."""
    path = Path(path)
    if not path.is_file():
        raise IRError(f"{path}: no such {what}")
    try:
        return path.read_text()
    except (OSError, UnicodeDecodeError) as e:
        raise IRError(f"{path}: cannot read: {e}") from None


def parse_json(text: str, where: str):
    try:
        return json.loads(text)
    except json.JSONDecodeError as e:
        raise IRError(f"{where}: malformed JSON: {e}") from None


def read_json(path, what: str):
    """The JSON document in input file `path`."""
    return parse_json(read_text(path, what), str(path))
