#!/usr/bin/env bash
# Build the Lambda deployment package: dist/lambda.zip (or --output) holding app/, lambda_handler.py
# and the runtime requirements (requirements.txt, boto3 included: see README "Deploy").
#
#   scripts/build_lambda.sh [--python 3.12] [--arch arm64|x86_64] [--output dist/lambda.zip]
#
# Dependencies are manylinux wheels for the TARGET (pip --platform/--python-version/--only-binary),
# so an x86_64 laptop or CI runner builds an arm64 package. Wheels are cached in .local/wheels/<target>
# and reused while requirements.txt is unchanged (a rebuild then needs no network).
# The zip is reproducible: same inputs -> byte-identical zip (sorted entries, fixed timestamps and
# permissions, no bytecode, no console scripts). It prints the zipped and unzipped sizes and fails
# above Lambda's limits for a direct upload: 50 MB zipped, 250 MB unzipped.
set -euo pipefail
cd "$(dirname "$0")/.."

py_version="${LAMBDA_PYTHON:-3.12}"
arch="${LAMBDA_ARCH:-arm64}"
output="dist/lambda.zip"
while [ $# -gt 0 ]; do
  case "$1" in
    --python) py_version="$2"; shift 2 ;;
    --arch) arch="$2"; shift 2 ;;
    --output) output="$2"; shift 2 ;;
    -h|--help) sed -n '2,13p' "$0"; exit 0 ;;
    *) echo "unknown argument: $1" >&2; exit 2 ;;
  esac
done

case "$arch" in
  arm64|aarch64) machine=aarch64 ;;
  x86_64|amd64) machine=x86_64 ;;
  *) echo "--arch must be arm64 or x86_64 (got $arch)" >&2; exit 2 ;;
esac
if ! [[ "$py_version" =~ ^3\.[0-9]+$ ]]; then echo "--python must look like 3.12 (got $py_version)" >&2; exit 2; fi

# Lambda's python3.12+ runtimes run on Amazon Linux 2023 (glibc 2.34); older ones on Amazon Linux 2 (2.26).
minor="${py_version#3.}"
if [ "$minor" -ge 12 ]; then max_glibc=34; else max_glibc=26; fi
platforms=(--platform "manylinux2014_$machine")
for glibc in $(seq 17 "$max_glibc"); do platforms+=(--platform "manylinux_2_${glibc}_$machine"); done
target_args=("${platforms[@]}" --python-version "$py_version" --implementation cp --only-binary=:all:)

PYTHON="${PYTHON:-$(command -v python3)}"
tag="cp${py_version/./}-$machine"
wheels=".local/wheels/$tag"
stamp="$wheels/.requirements.sha256"
wanted="$(sha256sum requirements.txt | cut -d' ' -f1)"
mkdir -p "$wheels" "$(dirname "$output")"

if [ "$(cat "$stamp" 2>/dev/null || true)" != "$wanted" ]; then
  echo "Downloading wheels for $tag ..." >&2
  # (this machine's pip config names local mirrors that lack most packages: drop pip's noise about them)
  "$PYTHON" -m pip download --quiet --disable-pip-version-check --dest "$wheels" "${target_args[@]}" \
    -r requirements.txt 2> >(grep -v "is ignored: it is neither a file nor a directory" >&2) >&2
  echo "$wanted" > "$stamp"
fi

stage="$(mktemp -d "${TMPDIR:-/tmp}/lambda-build.XXXXXX")"
trap 'rm -rf "$stage"' EXIT
# --no-index + only our cache: the package is built from exactly the wheels downloaded above.
PIP_FIND_LINKS="" "$PYTHON" -m pip install --quiet --disable-pip-version-check --no-index \
  --find-links "$wheels" --target "$stage/root" --no-compile "${target_args[@]}" -r requirements.txt >&2

"$PYTHON" - "$stage/root" "$output" requirements.txt <<'PY'
"""Check the install matches the pins, add our code, write a deterministic zip, enforce the size limits."""
import os
import re
import stat
import sys
import zipfile
from pathlib import Path

root, output, requirements = Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3])
MAX_ZIPPED, MAX_UNZIPPED = 50 * 1024 * 1024, 250 * 1024 * 1024
EPOCH = (1980, 1, 1, 0, 0, 0)  # the earliest time a zip can hold: no build time leaks in


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


pinned = {}
for line in requirements.read_text().splitlines():
    line = line.split("#", 1)[0].strip()
    if line:
        name, _, version = line.partition("==")
        pinned[canonical(name.split("[")[0])] = version.split(";")[0].strip()
installed = {}
for meta in root.glob("*.dist-info/METADATA"):
    fields = dict(re.findall(r"^(Name|Version): (.+)$", meta.read_text(errors="replace"), re.M))
    installed[canonical(fields["Name"])] = fields["Version"]
unpinned = sorted(set(installed) - set(pinned))
if unpinned:
    sys.exit(f"build_lambda: dependencies not pinned in requirements.txt: {unpinned}")
mismatched = {n: (installed[n], v) for n, v in pinned.items() if n in installed and installed[n] != v}
if mismatched:
    sys.exit(f"build_lambda: installed versions differ from the pins: {mismatched}")

# Never shipped: bytecode, console scripts (their shebang names the build machine), headers, man
# pages, test suites, hidden files.
DROP_TOP = {"bin", "include", "share", "tests", "test"}


def shipped(relative: Path) -> bool:
    parts = relative.parts
    return not (
        parts[0] in DROP_TOP
        or "__pycache__" in parts
        or "tests" in parts[:-1]
        or any(part.startswith(".") for part in parts)
        or relative.suffix in {".pyc", ".pyo"}
    )


entries: dict[str, Path] = {}
for path in root.rglob("*"):
    if path.is_file() and shipped(path.relative_to(root)):
        entries[path.relative_to(root).as_posix()] = path
clash = sorted(name for name in entries if name.split("/")[0] in {"app", "lambda_handler.py"})
if clash:
    sys.exit(f"build_lambda: a dependency ships files that clash with our code: {clash[:5]}")
for path in Path("app").rglob("*"):
    if path.is_file() and shipped(path):
        entries[path.as_posix()] = path
entries["lambda_handler.py"] = Path("lambda_handler.py")

output.parent.mkdir(parents=True, exist_ok=True)
partial = output.with_name(output.name + ".partial")
unzipped = 0
with zipfile.ZipFile(partial, "w") as archive:
    for name in sorted(entries):
        info = zipfile.ZipInfo(name, date_time=EPOCH)
        info.create_system = 3  # unix, so the permission bits below are honoured
        info.external_attr = (stat.S_IFREG | 0o644) << 16
        info.compress_type = zipfile.ZIP_DEFLATED
        data = entries[name].read_bytes()
        unzipped += len(data)
        archive.writestr(info, data, compresslevel=9)
os.replace(partial, output)

zipped = output.stat().st_size
print(f"{output}: {len(entries)} files, zipped {zipped / 1e6:.1f} MB ({zipped} bytes), "
      f"unzipped {unzipped / 1e6:.1f} MB ({unzipped} bytes)")
if zipped > MAX_ZIPPED or unzipped > MAX_UNZIPPED:
    output.unlink()  # an oversized package must not be deployed by accident
    sys.exit("build_lambda: over Lambda's limits for a direct upload (50 MB zipped / 250 MB unzipped)")
PY
