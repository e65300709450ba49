"""procsplat's viser viewer: `procsplat view RUN_DIR` and the live view of `procsplat train --view`."""
