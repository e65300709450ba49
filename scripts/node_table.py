"""Write the README's table of supported nodes (between its markers) from geonodes/node_names.py.

    python scripts/node_table.py            # print the table
    python scripts/node_table.py --write    # replace it in README.md
    python scripts/node_table.py --check    # exit 1 if README.md's table is stale
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from geonodes.node_names import markdown_table, table_in

README = Path(__file__).resolve().parent.parent / "README.md"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true")
    parser.add_argument("--check", action="store_true")
    args = parser.parse_args(argv)
    table, text = markdown_table(), README.read_text()
    current = table_in(text)
    if args.check:
        if current != table:
            print("README.md's node table is stale (run python scripts/node_table.py --write)", file=sys.stderr)
            return 1
        return 0
    if args.write:
        if current is None:
            print("README.md has no node table markers", file=sys.stderr)
            return 1
        README.write_text(text.replace(current, table))
        return 0
    print(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
