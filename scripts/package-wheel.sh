#!/usr/bin/env bash
# Builds wxflow's Python wheels and leaves them in OUTDIR: each carries one
# binary as a script (`wxflow_cli-VERSION.data/scripts/wxflow`), the layout
# of maturin's `bindings = "bin"` that ruff ships, so `pip install` puts
# `wxflow` on the venv's PATH. No Python code, no compile at install time.
# The distribution is `wxflow-cli`: PyPI's `wxflow` is another project
# (NOAA's weather workflow tools).
#
# Usage: scripts/package-wheel.sh OUTDIR
#
# Binaries: as scripts/package-npm.sh (WXFLOW_DIST=DIR with DIR/PLATFORM/,
# WXFLOW_BIN=FILE, or target/dist/wxflow, built if missing). The wheel's
# platform tag is read off the binary: a Linux binary linked to glibc gets
# manylinux_2_N for the newest glibc symbol it needs; a static one also
# musllinux_1_2; macOS gets Rust's deployment targets (10.12 on x86_64,
# 11.0 on arm64); Windows win_amd64.
set -euo pipefail

out=${1:?usage: scripts/package-wheel.sh OUTDIR}
root=$(cd "$(dirname "$0")/.." && pwd)
mkdir -p "$out"
version=$(sed -n 's/^version = "\(.*\)"/\1/p' "$root/Cargo.toml" | head -1)

bins=()
if [ -n "${WXFLOW_DIST:-}" ]; then
  for p in linux-x64 linux-arm64 darwin-x64 darwin-arm64 win32-x64; do
    for f in "$WXFLOW_DIST/$p/wxflow" "$WXFLOW_DIST/$p/wxflow.exe"; do
      [ -f "$f" ] && bins+=("$f")
    done
  done
  [ ${#bins[@]} -gt 0 ] || { echo "error: no binary under $WXFLOW_DIST/PLATFORM/" >&2; exit 2; }
else
  bin=${WXFLOW_BIN:-$root/target/dist/wxflow}
  if [ -z "${WXFLOW_BIN:-}" ] && [ ! -x "$bin" ]; then
    (cd "$root" && cargo build --profile dist --locked)
  fi
  [ -x "$bin" ] || { echo "error: $bin is not an executable" >&2; exit 2; }
  bins+=("$bin")
fi

python3 - "$out" "$version" "$root/README.md" "${bins[@]}" <<'PY'
import base64, hashlib, os, re, struct, sys, zipfile

out, version, readme, *binaries = sys.argv[1:]

def platform_tag(data):
    if data[:4] == b"\x7fELF":
        machine = struct.unpack_from("<H", data, 18)[0]
        arch = {0x3E: "x86_64", 0xB7: "aarch64"}.get(machine)
        if arch is None:
            sys.exit(f"error: ELF machine {machine:#x} has no wheel tag here")
        glibc = [int(m) for m in re.findall(rb"GLIBC_2\.(\d+)", data)]
        if glibc:
            return f"manylinux_2_{max(max(glibc), 17)}_{arch}"
        return f"manylinux_2_17_{arch}.manylinux2014_{arch}.musllinux_1_2_{arch}"
    if data[:4] in (b"\xcf\xfa\xed\xfe", b"\xfe\xed\xfa\xcf"):
        cpu = struct.unpack_from("<I", data, 4)[0]
        return "macosx_11_0_arm64" if cpu == 0x0100000C else "macosx_10_12_x86_64"
    if data[:2] == b"MZ":
        return "win_amd64"
    sys.exit("error: not an ELF, Mach-O or PE binary")

def record_line(name, data):
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"{name},sha256={digest},{len(data)}"

with open(readme, encoding="utf-8") as f:
    description = f.read()
for path in binaries:
    with open(path, "rb") as f:
        binary = f.read()
    tag = platform_tag(binary)
    exe = "wxflow.exe" if path.endswith(".exe") else "wxflow"
    info = f"wxflow_cli-{version}.dist-info"
    metadata = "\n".join([
        "Metadata-Version: 2.1",
        "Name: wxflow-cli",
        f"Version: {version}",
        "Summary: Finds login bugs in WeChat Mini Programs: lint the client's code, test the backend's login",
        "License: MIT",
        "Requires-Python: >=3.7",
        "Description-Content-Type: text/markdown",
        "",
        description,
    ])
    wheel = "\n".join([
        "Wheel-Version: 1.0",
        "Generator: wxflow scripts/package-wheel.sh",
        "Root-Is-Purelib: false",
        *[f"Tag: py3-none-{t}" for t in tag.split(".")],
        "",
    ])
    files = [
        (f"wxflow_cli-{version}.data/scripts/{exe}", binary, 0o755),
        (f"{info}/METADATA", metadata.encode(), 0o644),
        (f"{info}/WHEEL", wheel.encode(), 0o644),
    ]
    record = "\n".join([record_line(n, d) for n, d, _ in files] + [f"{info}/RECORD,,", ""])
    files.append((f"{info}/RECORD", record.encode(), 0o644))
    name = os.path.join(out, f"wxflow_cli-{version}-py3-none-{tag}.whl")
    with zipfile.ZipFile(name, "w", zipfile.ZIP_DEFLATED) as z:
        for n, d, mode in files:
            entry = zipfile.ZipInfo(n, date_time=(2020, 1, 1, 0, 0, 0))
            entry.external_attr = (0o100000 | mode) << 16
            entry.compress_type = zipfile.ZIP_DEFLATED
            z.writestr(entry, d)
    print(name)
PY
