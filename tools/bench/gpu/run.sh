#!/usr/bin/env bash
# The GPU check of issue 6, in one run on a machine with a GPU (e.g. the device tool's, where $OUT
# is the folder that comes back): unpacks what tools/bench/gpu/pack.sh put in .gpu/ (Node, the
# deployed bench, the Vulkan loader), names the GPU, then measures
#   1. TensorFlow.js WebGPU training and evaluation and ONNX Runtime WebGPU inference (evaluation
#      and streaming latency) for the bench's five models at the reference size, and
#   2. `staircase bench` with its defaults, unchanged (it should pick WebGPU by itself), on one model.
# Outputs in $OUT (or the first argument): gpu-info.txt, gpu-bench.{json,md}, default-bench.{json,md},
# gpu-check.log. Stage time limits (seconds) fit the device tool's 10-minute call: STAGE1 (330),
# STAGE2 (150). SIZE=tiny makes a quick rehearsal on any machine (e.g. on lavapipe).
set -uo pipefail
cd "$(dirname "$0")/../../.."
out=${OUT:-${1:-/tmp/staircase-gpu-out}}
size=${SIZE:-reference}
mkdir -p "$out"
exec > >(tee -a "$out/gpu-check.log") 2>&1
[ -f .gpu/staircase-gpu.tar.xz ] || { echo "run.sh: .gpu/staircase-gpu.tar.xz is missing: run tools/bench/gpu/pack.sh here first (and carry .gpu)"; exit 1; }

root=$(mktemp -d)/staircase-gpu
tar -C "$(dirname "$root")" -xJf .gpu/staircase-gpu.tar.xz || exit 1
node=$root/node
staircase=$root/app/node_modules/@staircase/trainer/dist/cli.js
echo "package from tree $(cat "$root/COMMIT"), Node $("$node" --version)"

# Dawn opens libvulkan.so.1: use the packed loader where the system has none (no change to /).
if ! ldconfig -p | grep -q 'libvulkan\.so\.1'; then
  for f in "$root"/debs/*.deb; do dpkg -x "$f" "$root/vulkan"; done
  export LD_LIBRARY_PATH=$root/vulkan/usr/lib/x86_64-linux-gnu${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
fi
# The NVIDIA driver's Vulkan ICD, where it is mounted outside the loader's search path.
icd=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
if [ -z "${VK_DRIVER_FILES:-}" ] && [ -f "$icd" ]; then export VK_DRIVER_FILES=$icd; fi

{
  date -u
  command -v nvidia-smi > /dev/null && nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm --format=csv
  echo "VK_DRIVER_FILES=${VK_DRIVER_FILES:-} LD_LIBRARY_PATH=${LD_LIBRARY_PATH:-}"
  "$node" "$staircase" info --model staircase
} > "$out/gpu-info.txt" 2>&1
cat "$out/gpu-info.txt"

status=0
echo "== stage 1: WebGPU only (TensorFlow.js training and evaluation, ONNX Runtime inference), size $size"
timeout "${STAGE1:-330}" "$node" "$staircase" bench --size "$size" --backends webgpu --onnx-devices webgpu --steps 20 --warmup 3 \
  --out "$out/gpu-bench.json" --markdown "$out/gpu-bench.md" > /dev/null || status=$?
[ -f "$out/gpu-bench.md" ] && cat "$out/gpu-bench.md"
echo "== stage 2: staircase bench with its defaults (auto picks the backends and ONNX devices), one model"
timeout "${STAGE2:-150}" "$node" "$staircase" bench --size "$size" --kinds transformer-xl --steps 5 \
  --out "$out/default-bench.json" --markdown "$out/default-bench.md" > /dev/null || status=$((status ? status : $?))
[ -f "$out/default-bench.md" ] && cat "$out/default-bench.md"
echo "run.sh: exit $status (124: a stage ran out of time; its report is missing)"
exit "$status"
