#!/usr/bin/env bash
# The GPU check of issue 6, in one run on a machine with a GPU (e.g. the device tool's, where $OUT
# is the folder that comes back): unpacks what tools/bench/gpu/pack.sh put in .gpu/ (Node, the
# deployed bench, the Vulkan loader), names the GPU, then runs `staircase bench` at the reference
# size in three stages, each under its own time limit so that one slow stage cannot cost the others:
#   1. ONNX Runtime WebGPU inference (evaluation, streaming latency), the five models   (STAGE1, 90 s)
#   2. TensorFlow.js WebGPU training and evaluation, one model at a time (STAGE2_MODEL, 50 s each)
#   3. `staircase bench` with its defaults, unchanged, on Transformer-XL: auto must find the GPU (STAGE3, 60 s)
# Outputs in $OUT (or the first argument), seven files at most: gpu-check.log, onnx-webgpu.{json,md},
# tfjs-webgpu.{json,md} (the models merged), default-bench.{json,md}. SIZE=tiny makes a quick
# rehearsal on any Linux x64 machine (lavapipe here).
set -uo pipefail
cd "$(dirname "$0")/../../.."
out=${OUT:-${1:-/tmp/staircase-gpu-out}}
size=${SIZE:-reference}
mkdir -p "$out"
exec > >(tee -a "$out/gpu-check.log") 2>&1
[ -f .gpu/staircase-gpu.tar.xz ] || { echo "run.sh: .gpu/staircase-gpu.tar.xz is missing: run tools/bench/gpu/pack.sh here first (and carry .gpu)"; exit 1; }

work=$(mktemp -d)
root=$work/staircase-gpu
tar -C "$work" -xJf .gpu/staircase-gpu.tar.xz || exit 1
node=$root/node
trainer=$root/app/node_modules/@staircase/trainer/dist
staircase=$trainer/cli.js
benchmark=$root/app/node_modules/@staircase/benchmark/dist   # the harness: models, merging, markdown
echo "package from tree $(cat "$root/COMMIT"), Node $("$node" --version), size $size"

# Dawn opens libvulkan.so.1: use the packed loader where the system has none (no change to /).
if ! ldconfig -p | grep -q 'libvulkan\.so\.1'; then
  for f in "$root"/debs/*.deb; do dpkg -x "$f" "$root/vulkan"; done
  export LD_LIBRARY_PATH=$root/vulkan/usr/lib/x86_64-linux-gnu${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
fi
# The NVIDIA driver's Vulkan ICD, where it is mounted outside the loader's search path.
icd=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
if [ -z "${VK_DRIVER_FILES:-}" ] && [ -f "$icd" ]; then export VK_DRIVER_FILES=$icd; fi

date -u
command -v nvidia-smi > /dev/null && nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm --format=csv
echo "VK_DRIVER_FILES=${VK_DRIVER_FILES:-} LD_LIBRARY_PATH=${LD_LIBRARY_PATH:-}"
# Where Vulkan drivers could come from, for when no adapter is found.
ls /usr/share/vulkan/icd.d /etc/vulkan/icd.d /usr/local/nvidia/share/vulkan/icd.d 2> /dev/null
ldconfig -p | grep -E 'libvulkan\.so|libnvidia-(vulkan|gl|eglcore)' | head -5
"$node" "$staircase" info --model staircase

status=0
fail() { echo "run.sh: $1 ended with exit $2 (124: out of time)"; [ "$status" -ne 0 ] || status=$2; }
bench=("$node" "$staircase" bench --size "$size")   # progress on stderr (the log); reports in files

echo "== stage 1: ONNX Runtime WebGPU inference, every model"
timeout "${STAGE1:-90}" "${bench[@]}" --backends '' --onnx-devices webgpu --steps 20 --warmup 3 \
  --out "$out/onnx-webgpu.json" --markdown "$out/onnx-webgpu.md" > /dev/null || fail "stage 1" $?
[ -f "$out/onnx-webgpu.md" ] && cat "$out/onnx-webgpu.md"

echo "== stage 2: TensorFlow.js WebGPU training and evaluation, one model at a time"
# The bench's own default models, in its order; their reports are merged below in that order.
models=$("$node" --input-type=module -e "import { DEFAULT_BENCH_MODELS } from '$benchmark/index.js'; console.log(DEFAULT_BENCH_MODELS.join(' '))")
mkdir -p "$work/tfjs"
for kind in $models; do
  timeout "${STAGE2_MODEL:-50}" "${bench[@]}" --backends webgpu --onnx-devices '' --kinds "$kind" --steps 20 --warmup 3 \
    --out "$work/tfjs/$kind.json" > /dev/null || fail "stage 2 ($kind)" $?
done
MODELS=$models "$node" --input-type=module -e "
  import { existsSync, readFileSync, writeFileSync } from 'node:fs';
  import { benchMarkdown, mergeBenchReports } from '$benchmark/index.js';
  const files = process.env.MODELS.split(' ').map((m) => '$work/tfjs/' + m + '.json').filter((f) => existsSync(f));
  if (files.length === 0) process.exit(0);
  const report = mergeBenchReports(files.map((f) => JSON.parse(readFileSync(f, 'utf8'))));
  writeFileSync('$out/tfjs-webgpu.json', JSON.stringify(report, null, 2) + '\n');
  writeFileSync('$out/tfjs-webgpu.md', benchMarkdown(report));
" || fail "merging stage 2" $?
[ -f "$out/tfjs-webgpu.md" ] && cat "$out/tfjs-webgpu.md"

echo "== stage 3: staircase bench with its defaults (auto picks the backends and ONNX devices), Transformer-XL"
timeout "${STAGE3:-60}" "${bench[@]}" --kinds transformer-xl --steps 5 \
  --out "$out/default-bench.json" --markdown "$out/default-bench.md" > /dev/null || fail "stage 3" $?
[ -f "$out/default-bench.md" ] && cat "$out/default-bench.md"
rm -rf "$work"
echo "run.sh: exit $status"
exit "$status"
