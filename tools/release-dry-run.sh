#!/usr/bin/env bash
# Versions every package with the pending changesets and packs each one, as a release would,
# without publishing and without touching this working tree (it works in a temporary clone).
set -euo pipefail
root=$(git rev-parse --show-toplevel)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
git clone -q "$root" "$tmp/repo"
# Uncommitted changesets count too: copy the working tree's .changeset over the clone's.
cp -r "$root/.changeset/." "$tmp/repo/.changeset/"
cd "$tmp/repo"
pnpm install --frozen-lockfile --prefer-offline >/dev/null
pnpm changeset version
pnpm install --prefer-offline --no-frozen-lockfile >/dev/null
pnpm -r --filter './packages/*' --filter './apps/*' run build >/dev/null
mkdir -p "$root/.tmp/release"
pnpm -r --filter './packages/*' --filter './apps/*' pack --pack-destination "$root/.tmp/release"
echo "Versions after 'changeset version':"
for p in packages/*/package.json apps/*/package.json; do node -e "const p=require('./$p');console.log('  '+p.name+'@'+p.version)"; done
echo "Tarballs: $root/.tmp/release"
