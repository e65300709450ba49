"""procsplat's viser viewer: `procsplat view RUN_DIR`, `procsplat view --scene PATH` (boxes placed on a scan, programs
fitted into them) and the live view of `procsplat train --view`."""
