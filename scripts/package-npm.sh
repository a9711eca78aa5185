#!/usr/bin/env bash
# Builds wxflow's npm packages and leaves their `npm pack` tarballs in OUTDIR:
#   wxflow-VERSION.tgz                   the launcher (npm/wxflow), whose
#                                        optionalDependencies name every platform
#   wxflow-cli-PLATFORM-VERSION.tgz      @wxflow/cli-PLATFORM: one binary, with
#                                        the package's `os` and `cpu`
#
# Usage: scripts/package-npm.sh OUTDIR
#
# Binaries, in this order:
#   WXFLOW_DIST=DIR   DIR/PLATFORM/wxflow (wxflow.exe on win32) for each of
#                     linux-x64 linux-arm64 darwin-x64 darwin-arm64 win32-x64
#                     present (the release workflow); packages only those
#   WXFLOW_BIN=FILE   one binary, for this machine's platform
#   otherwise         target/dist/wxflow, built with `cargo build --profile dist`
#                     if it is not there
set -euo pipefail

out=${1:?usage: scripts/package-npm.sh OUTDIR}
root=$(cd "$(dirname "$0")/.." && pwd)
mkdir -p "$out"
out=$(cd "$out" && pwd)
version=$(sed -n 's/^version = "\(.*\)"/\1/p' "$root/Cargo.toml" | head -1)
platforms=(linux-x64 linux-arm64 darwin-x64 darwin-arm64 win32-x64)
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT

exe() { case $1 in win32-*) echo wxflow.exe ;; *) echo wxflow ;; esac; }

# The binaries to package: PLATFORM=FILE lines.
binaries=()
if [ -n "${WXFLOW_DIST:-}" ]; then
  for p in "${platforms[@]}"; do
    f="$WXFLOW_DIST/$p/$(exe "$p")"
    [ -f "$f" ] && binaries+=("$p=$f")
  done
  [ ${#binaries[@]} -gt 0 ] || { echo "error: no binary under $WXFLOW_DIST/PLATFORM/" >&2; exit 2; }
else
  host=$(node -p 'process.platform + "-" + process.arch')
  printf '%s\n' "${platforms[@]}" | grep -qx "$host" \
    || { echo "error: no npm package for this platform ($host)" >&2; exit 2; }
  bin=${WXFLOW_BIN:-$root/target/dist/wxflow}
  if [ -z "${WXFLOW_BIN:-}" ] && [ ! -x "$bin" ]; then
    (cd "$root" && cargo build --profile dist --locked)
  fi
  [ -x "$bin" ] || { echo "error: $bin is not an executable" >&2; exit 2; }
  binaries+=("$host=$bin")
fi

for entry in "${binaries[@]}"; do
  p=${entry%%=*}
  f=${entry#*=}
  dir="$stage/$p"
  mkdir -p "$dir"
  cp "$f" "$dir/$(exe "$p")"
  chmod 755 "$dir/$(exe "$p")"
  PLATFORM=$p VERSION=$version EXE=$(exe "$p") node -e '
    const { PLATFORM, VERSION, EXE } = process.env;
    const [os, cpu] = PLATFORM.split("-");
    const pkg = {
      name: `@wxflow/cli-${PLATFORM}`,
      version: VERSION,
      description: `The wxflow binary for ${PLATFORM}; install the package wxflow, which picks it`,
      license: "MIT",
      os: [os],
      cpu: [cpu],
      files: [EXE],
      preferUnplugged: true,
    };
    require("fs").writeFileSync(`${process.argv[1]}/package.json`, JSON.stringify(pkg, null, 2) + "\n");
  ' "$dir"
  printf '# @wxflow/cli-%s\n\nThe wxflow binary for %s. Install `wxflow`, which picks this package.\n' "$p" "$p" > "$dir/README.md"
  (cd "$dir" && npm pack --silent --pack-destination "$out" >/dev/null)
done

main="$stage/wxflow"
cp -R "$root/npm/wxflow" "$main"
VERSION=$version PLATFORMS="${platforms[*]}" node -e '
  const fs = require("fs");
  const file = `${process.argv[1]}/package.json`;
  const pkg = JSON.parse(fs.readFileSync(file, "utf8"));
  pkg.version = process.env.VERSION;
  pkg.optionalDependencies = Object.fromEntries(
    process.env.PLATFORMS.split(" ").map((p) => [`@wxflow/cli-${p}`, process.env.VERSION]),
  );
  fs.writeFileSync(file, JSON.stringify(pkg, null, 2) + "\n");
' "$main"
chmod 755 "$main/bin/wxflow.js"
(cd "$main" && npm pack --silent --pack-destination "$out" >/dev/null)
ls -1 "$out"/*.tgz
