"""Scan category label -> shape program. Objects of other categories stay background.

ScanNet labels are free text from annotators (`raw_category`, e.g. "office chair",
"kitchen cabinets"); the table maps the common ones and their synonyms (nyu40 names included)
to the library programs. Matching ignores case, plural "s" and surrounding spaces.
"""
from __future__ import annotations

SYNONYMS = {
    "chair": ["chair", "office chair", "armchair", "desk chair", "swivel chair", "rolling chair", "computer chair",
              "dining chair", "folding chair", "stool", "rocking chair", "high chair", "bar stool", "kitchen chair"],
    "table": ["table", "coffee table", "dining table", "end table", "side table", "kitchen table",
              "work table", "conference table", "counter"],
    "round_table": ["round table", "round dining table", "round coffee table", "bistro table", "cafe table"],
    "desk": ["desk", "computer desk", "writing desk", "office desk", "study desk"],
    "sofa": ["sofa", "couch", "sofa chair", "loveseat", "sectional", "futon", "sofa bed", "ottoman"],
    "cabinet": ["cabinet", "kitchen cabinet", "file cabinet", "wardrobe", "cupboard", "tv stand", "storage cabinet",
                "closet", "otherfurniture cabinet"],
    "nightstand": ["nightstand", "night stand", "nightstand table", "bedside table", "dresser", "chest of drawers",
                   "drawer", "drawers"],
    "bed": ["bed", "bunk bed", "loft bed", "crib"],
    "bookshelf": ["bookshelf", "bookcase", "shelf", "shelves", "book shelf", "rack", "shelving"],
    "trash_bin": ["trash can", "trash bin", "garbage bin", "garbage can", "wastebasket", "waste bin",
                  "recycling bin"],
    "toilet": ["toilet"],
    "floor_lamp": ["lamp", "floor lamp", "standing lamp", "arc lamp", "reading lamp", "lamp stand"],
}

_LOOKUP = {}
for program, names in SYNONYMS.items():
    for name in names:
        _LOOKUP[name] = program


def normalise(label: str) -> str:
    s = " ".join(str(label).lower().replace("_", " ").split())
    return s[:-1] if s.endswith("s") and s[:-1] in _LOOKUP else s


def program_for(label: str) -> str | None:
    """Library program name for a scan label, or None (the object stays background)."""
    return _LOOKUP.get(normalise(label))
