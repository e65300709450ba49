"""Regenerate geonodes/library/<name>.json from the Python sources in geonodes/library/.

    python scripts/build_library.py            # write all
    python scripts/build_library.py --check    # exit 1 if a committed JSON is stale
"""
from __future__ import annotations

import argparse
import json
import sys

from geonodes.ir import parse_ir
from geonodes.library import PROGRAMS, build, json_path


def render(ir: dict) -> str:
    return json.dumps(ir, indent=1) + "\n"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="compare instead of writing")
    parser.add_argument("names", nargs="*", default=list(PROGRAMS))
    args = parser.parse_args(argv)
    stale = []
    for name in args.names:
        ir = build(name)
        parse_ir(ir, f"library program '{name}'")  # never write an invalid program
        text = render(ir)
        path = json_path(name)
        if args.check:
            if not path.is_file() or path.read_text() != text:
                stale.append(name)
            continue
        path.write_text(text)
        nodes = sum(len(g["nodes"]) for g in ir["groups"])
        print(f"wrote {path}: {len(ir['groups'])} groups, {nodes} nodes, {len(ir['parameters'])} parameters")
    if stale:
        print(f"stale: {', '.join(stale)} (run python scripts/build_library.py)", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
