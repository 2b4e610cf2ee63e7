#!/usr/bin/env bash
# The decoder-graphs bench on a GPU (issue 13, deliverable 5): the same three full-width graphs in float16 on
# ONNX Runtime's CUDA provider, each timed against a float16 MatMul on the same GPU. Not run yet: no GPU has
# been lent to this work. Run from the repository root on a machine with an NVIDIA GPU, CUDA 12 and cuDNN 9:
#   bash bench/decoder-graphs-gpu.sh [BUNDLE_DIR]
# BUNDLE_DIR: float16 bundle with unet, vae_decoder and clip_image (exported here when absent, which needs
# Debian's python3-torch and python3-onnx and ~12 GB of RAM). The table goes to stdout and, when $OUT is set,
# to $OUT/decoder-graphs-gpu.md.
set -euo pipefail
cd "$(dirname "$0")/.."
provider_lib=node_modules/onnxruntime-node/bin/napi-v6/linux/x64/libonnxruntime_providers_cuda.so
if [ ! -f "$provider_lib" ]; then
  # .npmrc skips the CUDA providers for development machines; fetch them as the Dockerfile does
  ONNXRUNTIME_NODE_INSTALL=cuda12 npm ci --no-audit --no-fund
fi
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
args=(--provider cuda --precision float16 --runs 10)
if [ $# -ge 1 ]; then args+=(--bundle "$1"); fi
npx tsx bench/decoder-graphs.ts "${args[@]}" | tee "${OUT:-/tmp}/decoder-graphs-gpu.md"
