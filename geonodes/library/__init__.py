"""The shipped shape-program library, written with `geonodes.authoring`.

Each `<name>.py` has `build() -> IR dict` and documents its parameters; `<name>.json` is the
generated IR (`scripts/build_library.py`), what `load_program("<name>")` reads at run time.
"""
from __future__ import annotations

import importlib
from pathlib import Path

from ..errors import GeonodesError

PROGRAMS = ("chair", "table", "sofa", "cabinet", "bed", "bookshelf", "desk", "nightstand", "trash_bin", "toilet",
            "floor_lamp", "round_table")
LIBRARY_DIR = Path(__file__).resolve().parent


def build(name: str) -> dict:
    """The IR of a library program, freshly built from its Python source."""
    if name not in PROGRAMS:
        raise GeonodesError(f"no library program '{name}' (library: {', '.join(PROGRAMS)})")
    return importlib.import_module(f"{__name__}.{name}").build()


def json_path(name: str) -> Path:
    return LIBRARY_DIR / f"{name}.json"


def program_source(source):
    """`source` itself, or the JSON of the library program it names when it is a name and not
    an existing file ("chair")."""
    if isinstance(source, str) and not source.lstrip().startswith("{") and not Path(source).exists():
        lib = json_path(source)
        if lib.is_file():
            return lib
    return source
