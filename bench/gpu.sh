#!/usr/bin/env bash
# Every GPU check of this project in one run, for a session that is lent a device (15 minutes in all):
# the decoder graphs against a float16 MatMul (issue 13) and MindEye1's whole reconstruction at full width,
# N = 16 (issue 14), both in float16 on ONNX Runtime's CUDA provider. Results go to stdout and, when $OUT is
# set (the device tool sets it), to $OUT/*.md. Needs CUDA 12, cuDNN 9, Debian's python3-torch and python3-onnx.
#   bash bench/gpu.sh
set -euo pipefail
cd "$(dirname "$0")/.."
out="${OUT:-/tmp}"
provider_lib=node_modules/onnxruntime-node/bin/napi-v6/linux/x64/libonnxruntime_providers_cuda.so
if [ ! -f "$provider_lib" ]; then
  # .npmrc skips the CUDA providers for development machines; fetch them as the Dockerfile does
  ONNXRUNTIME_NODE_INSTALL=cuda12 npm ci --no-audit --no-fund
fi
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader | tee "$out/gpu.txt"
# GPU memory in use, sampled every 500 ms while the benches run (its peak is what a worker needs).
nvidia-smi --query-gpu=memory.used --format=csv,noheader -lms 500 > "$out/gpu-memory.csv" &
sampler=$!
trap 'kill $sampler 2>/dev/null || true' EXIT
# One float16 bundle with every graph serves both benches (exported once: ~1.7 GB of UNet weights).
bundle="${TMPDIR:-/tmp}/mindeye-bench-gpu-float16"
if [ ! -f "$bundle/manifest.json" ]; then
  "${MINDEYE_EXPORT_PYTHON:-/usr/bin/python3}" gpu-worker/export/export.py --family mindeye1 --subject 1 \
    --config full --random-init --fp16 --out "$bundle"
fi
node --expose-gc --import tsx bench/reconstruction-gpu.ts --bundle "$bundle" | tee "$out/reconstruction-gpu.md"
npx tsx bench/decoder-graphs.ts --provider cuda --precision float16 --runs 10 --bundle "$bundle" |
  tee "$out/decoder-graphs-gpu.md"
echo "peak GPU memory: $(sort -n "$out/gpu-memory.csv" | tail -1)" | tee -a "$out/gpu.txt"
