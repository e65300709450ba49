"""`geonodes import-blend` / `geonodes export-blend` (argument parsing and messages)."""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from ..errors import IRError
from .common import write_json_atomic
from .exporter import export_blend
from .importer import import_blend


def main(argv=None) -> int:
    """`import-blend IN.blend OUT.json [--spec S] [--object O]` or `export-blend IN.json OUT.blend`."""
    argv = list(sys.argv[1:] if argv is None else argv)
    command = "import-blend"
    if argv and argv[0] in ("import-blend", "export-blend"):
        command = argv.pop(0)
    parser = argparse.ArgumentParser(prog=f"geonodes {command}")
    if command == "import-blend":
        parser.add_argument("blend", help="input .blend file")
        parser.add_argument("out", help="output IR JSON")
        parser.add_argument("--spec", help="parameter spec JSON (ranges, dependencies)")
        parser.add_argument("--object", dest="object_name", help="object carrying the modifier")
    else:
        parser.add_argument("ir", help="input IR JSON")
        parser.add_argument("out", help="output .blend file")
    args = parser.parse_args(argv)
    try:
        if command == "import-blend":
            if not Path(args.out).parent.exists():
                raise IRError(f"{args.out}: output folder does not exist")
            ir = import_blend(args.blend, args.spec, args.object_name)
            write_json_atomic(ir, args.out)
            print(f"wrote {args.out}: {len(ir['groups'])} groups, "
                  f"{sum(len(g['nodes']) for g in ir['groups'])} nodes, "
                  f"{len(ir['parameters'])} parameters")
        else:
            try:
                ir = json.loads(Path(args.ir).read_text())
            except (OSError, json.JSONDecodeError) as exc:
                raise IRError(f"{args.ir}: cannot read IR JSON ({exc})") from exc
            export_blend(ir, args.out)
            print(f"wrote {args.out}")
    except IRError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
