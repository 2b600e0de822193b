#!/usr/bin/env bash
# Packs what the GPU check needs into .gpu/ (git-ignored) so that it can travel to a machine that has
# a GPU but no Node.js, no registry and no network: Node itself, a production deployment of
# @staircase/bench (the bench CLI, the trainer, the benchmark harness, the backends, onnxruntime-node
# and -web, the `webgpu` package with Dawn) trimmed to linux-x64, and the Vulkan loader's Debian
# package. Run it from the repository root after `pnpm install && pnpm build`; then run
# tools/bench/gpu/run.sh there (see tools/bench/README.md, "On a GPU machine").
set -euo pipefail
cd "$(git rev-parse --show-toplevel)"
[ -f tools/bench/dist/cli.js ] && [ -f apps/trainer/dist/cli.js ] || { echo "pack.sh: build first: pnpm build" >&2; exit 1; }
[ "$(uname -sm)" = "Linux x86_64" ] || { echo "pack.sh: packs linux-x64 binaries; run it on Linux x86-64" >&2; exit 1; }

out=.gpu
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
app=$stage/staircase-gpu/app

# pnpm deploy records a production-only install in the workspace's state, and the next pnpm
# command would prune the dev dependencies to match: reinstall them (offline, from the store).
pnpm --filter @staircase/bench deploy --prod --legacy "$app" > "$stage/deploy.log" 2>&1 || { cat "$stage/deploy.log" >&2; exit 1; }
pnpm install --frozen-lockfile --offline > /dev/null

# Linux x64 only, no source maps or type declarations, only the onnxruntime-web files Node loads
# (the WebGPU bundle, the Node build, and their two WASM builds).
store=$app/node_modules/.pnpm
find "$app" \( -name '*.map' -o -name '*.d.ts' -o -name '*.d.mts' -o -name '*.d.cts' \) -type f -delete
find "$store"/onnxruntime-node@*/node_modules/onnxruntime-node/bin/napi-v6 -mindepth 2 -maxdepth 2 -type d ! -path '*/linux/x64' -exec rm -rf {} +
find "$store"/webgpu@*/node_modules/webgpu/dist -mindepth 1 -maxdepth 1 -type d ! -name linux-x64 -exec rm -rf {} +
find "$store"/onnxruntime-web@*/node_modules/onnxruntime-web/dist -type f \
  ! -name ort.webgpu.bundle.min.mjs ! -name ort.node.min.mjs ! -name 'ort-wasm-simd-threaded.mjs' ! -name 'ort-wasm-simd-threaded.wasm' \
  ! -name 'ort-wasm-simd-threaded.asyncify.mjs' ! -name 'ort-wasm-simd-threaded.asyncify.wasm' -delete

cp "$(command -v node)" "$stage/staircase-gpu/node"
# The Vulkan loader (Dawn opens libvulkan.so.1); the NVIDIA driver brings its own ICD.
mkdir -p "$stage/staircase-gpu/debs"
(cd "$stage/staircase-gpu/debs" && apt-get download libvulkan1 > /dev/null 2>&1) || echo "pack.sh: could not download libvulkan1; the GPU machine must have the Vulkan loader" >&2
git rev-parse --short HEAD > "$stage/staircase-gpu/COMMIT"

mkdir -p "$out"
tar -C "$stage" -cf - staircase-gpu | xz -T0 -6 > "$out/staircase-gpu.tar.xz.partial"
mv "$out/staircase-gpu.tar.xz.partial" "$out/staircase-gpu.tar.xz"
echo "pack.sh: $out/staircase-gpu.tar.xz, $(du -m "$out/staircase-gpu.tar.xz" | cut -f1) MiB ($(du -sm "$stage/staircase-gpu" | cut -f1) MiB unpacked), tree $(cat "$stage/staircase-gpu/COMMIT")"
