#!/usr/bin/env bash
# procsplat on a CUDA GPU: gsplat's rasteriser built, the demo trained on the GPU, and a render of the
# trained model on the GPU (gsplat) against the CPU (procsplat's torch rasteriser). Needs a GPU, a CUDA
# toolkit (nvcc) and network access to PyPI and PyTorch's wheel index; not part of the tests.
#
#   bash scripts/gpu_check.sh        # settings: VENV=.venv-gpu OUT=runs/gpu_check TORCH=2.5.1
#
# torch and gsplat: gsplat 1.5.3 compiles its CUDA extension on first use with torch's JIT builder
# (nvcc and ninja; it imports `packaging` without declaring it), and that build fails with torch 2.13,
# whose private API it uses has changed. So an older torch, 2.5.1, whose CUDA wheels exist for CUDA
# 11.8, 12.1 and 12.4: torch refuses an nvcc of another major version than its own CUDA (a minor
# difference only warns), so the toolkit found picks the wheel, and a CUDA 13 toolkit is refused here.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${VENV:-.venv-gpu}
OUT=${OUT:-runs/gpu_check}
TORCH=${TORCH:-2.5.1}

NVCC=${CUDA_HOME:+$CUDA_HOME/bin/}nvcc
if ! command -v "$NVCC" >/dev/null; then
    echo "gpu_check: no nvcc (looked in \$CUDA_HOME/bin, then PATH): gsplat's build needs a CUDA toolkit" >&2
    exit 2
fi
CUDA=$("$NVCC" --version | sed -n 's/.*release \([0-9]*\.[0-9]*\).*/\1/p')
case "$CUDA" in
    12.[4-9]*) WHEEL=cu124 ;;
    12.*) WHEEL=cu121 ;;
    11.8) WHEEL=cu118 ;;
    *) echo "gpu_check: nvcc is CUDA $CUDA; torch $TORCH has wheels for CUDA 11.8/12.x only: set CUDA_HOME to" \
            "such a toolkit" >&2
       exit 2 ;;
esac
export CUDA_HOME=${CUDA_HOME:-$(dirname "$(dirname "$(command -v "$NVCC")")")}

[ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
PY=$VENV/bin/python
export PATH="$PWD/$VENV/bin:$PATH"  # ninja, for torch's JIT build
"$PY" -m pip install -q --upgrade pip
"$PY" -m pip install -q "torch==$TORCH" --index-url "https://download.pytorch.org/whl/$WHEEL"
"$PY" -m pip install -q -e . "gsplat==1.5.3" packaging ninja  # torch>=2.1 is met: pip keeps $TORCH

echo "== building gsplat's CUDA extension (CUDA $CUDA toolkit at $CUDA_HOME, torch wheel $WHEEL)"
t0=$(date +%s)
VERBOSE=1 "$PY" -c "
import torch
assert torch.cuda.is_available(), 'torch sees no GPU'
from gsplat.cuda._backend import _C
assert _C is not None, 'gsplat CUDA extension missing'
print('torch', torch.__version__, 'CUDA', torch.version.cuda, 'on', torch.cuda.get_device_name())"
echo "gsplat ready in $(( $(date +%s) - t0 )) s"

echo "== the demo trained on the GPU (fitting runs on the CPU, training and rendering on the GPU)"
rm -rf "$OUT"
t0=$(date +%s)
"$VENV/bin/procsplat" train --out "$OUT" --device cuda --backend gsplat
echo "procsplat train --device cuda: $(( $(date +%s) - t0 )) s"

echo "== one model rendered on the CPU (torch rasteriser) and on the GPU (gsplat)"
"$PY" - "$OUT/synth2024_00" <<'EOF'
import sys
import time

import numpy as np
import torch

from procsplat.data.readers import load_scene
from procsplat.run.rundir import load_run
from procsplat.splat.model import GaussianSet, render_gaussians
from procsplat.train.trainer import split_frames

info, model = load_run(sys.argv[1])
scene = load_scene(info.source, width=320)
_, views = split_frames(len(scene.frames), 8)
with torch.no_grad():
    g, _ = model.gaussians()  # the same Gaussians for both rasterisers
g_cuda = GaussianSet(*[t.cuda() for t in (g.means, g.quats, g.log_scales, g.opacity_logits, g.sh0, g.shN)])
K = torch.from_numpy(np.asarray(scene.frames.K, np.float64))
w, h = int(scene.frames.width), int(scene.frames.height)
worst, depth_worst, t_cpu, t_gpu = 0.0, 0.0, [], []
with torch.no_grad():
    for i in views:
        viewmat = torch.linalg.inv(torch.from_numpy(np.asarray(scene.frames.poses[i], np.float64)))
        t = time.perf_counter()
        rgb_c, depth_c, alpha_c = render_gaussians(g, model.sh_degree, viewmat, K, w, h, backend="torch")
        t_cpu.append(time.perf_counter() - t)
        render_gaussians(g_cuda, model.sh_degree, viewmat, K, w, h, backend="gsplat")  # warm-up
        torch.cuda.synchronize()
        t = time.perf_counter()
        rgb_g, depth_g, alpha_g = render_gaussians(g_cuda, model.sh_degree, viewmat, K, w, h, backend="gsplat")
        torch.cuda.synchronize()
        t_gpu.append(time.perf_counter() - t)
        worst = max(worst, float((rgb_g.cpu() - rgb_c).abs().max()), float((alpha_g.cpu() - alpha_c).abs().max()))
        solid = alpha_c > 0.5
        depth_worst = max(depth_worst, float((depth_g.cpu() - depth_c)[solid].abs().max()))
print(f"{len(g)} Gaussians, {len(views)} held-out views at {w}x{h}: max |GPU - CPU| {worst:.2e} (RGB and alpha; "
      f"limit 1e-3), depth where alpha > 0.5: {depth_worst:.2e} m")
print(f"render: CPU (torch) {1000 * np.mean(t_cpu):.1f} ms/view, GPU (gsplat) {1000 * np.mean(t_gpu):.2f} ms/view, "
      f"{np.mean(t_cpu) / np.mean(t_gpu):.0f}x")
sys.exit(0 if worst <= 1e-3 else 1)
EOF
