#!/usr/bin/env bash
# Build the Lambda deployment package: dist/lambda.zip (or --output) holding app/ (every file: the
# modules and their data, e.g. the email templates app/notifications/templates/), lambda_handler.py
# and the runtime requirements (requirements.txt; Jinja2 and MarkupSafe for the emails) minus what the
# code never imports (NOT_SHIPPED below: boto3 and s3transfer, since app/ talks to AWS through botocore
# alone; dnspython, which email-validator imports only for deliverability checks, never made here).
# botocore's data is pruned to the service models the code creates clients for (BOTOCORE_SERVICES)
# and what botocore reads at client creation; type stubs, test suites, C sources and the file lists
# of dropped files are left out, and native libraries are stripped of their symbol tables
# (llvm-strip, or <arch>-linux-gnu-strip). Target: under 11 MiB zipped (docs/performance.md "Package").
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
    -h|--help) sed -n '2,19p' "$0"; exit 0 ;;
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

# Pinned in requirements.txt (the dev environment and the floor benchmark use them) but never imported
# by app/ or lambda_handler.py: not installed into the package (tests/ops/test_build_lambda.py imports
# every module of app/ from the unzipped package alone, so an import of one of these fails there).
not_shipped="boto3 s3transfer dnspython"
# The services app/ creates botocore clients for (create_client("<service>"), see app/db/client.py,
# streams.py, kms.py and app/notifications/senders.py): only their models are shipped. A client for a
# service missing here fails at run time with UnknownServiceError; the test derives the list from the
# code and fails first.
botocore_services="dynamodb dynamodbstreams kms s3 sesv2"

# Native libraries lose their symbol tables (.symtab/.strtab: names for debuggers, never read when
# loading; .dynsym stays). llvm-strip handles every architecture; binutils' strip only its own.
strip_tool=""
for candidate in llvm-strip "$machine-linux-gnu-strip"; do
  if command -v "$candidate" >/dev/null 2>&1; then strip_tool="$candidate"; break; fi
done
if [ -z "$strip_tool" ] && [ "$machine" = "$(uname -m)" ] && command -v strip >/dev/null 2>&1; then strip_tool=strip; fi
if [ -z "$strip_tool" ]; then
  echo "build_lambda: no strip tool for $machine: install llvm (llvm-strip) or binutils-$machine-linux-gnu" >&2
  exit 1
fi

stage="$(mktemp -d "${TMPDIR:-/tmp}/lambda-build.XXXXXX")"
trap 'rm -rf "$stage"' EXIT
"$PYTHON" - requirements.txt "$stage/requirements.txt" $not_shipped <<'PY'
import re, sys
source, target, dropped = sys.argv[1], sys.argv[2], set(sys.argv[3:])
canonical = lambda name: re.sub(r"[-_.]+", "-", name).lower()
kept = [line for line in open(source).read().splitlines()
        if canonical(line.split("#", 1)[0].split("==")[0].split("[")[0].strip()) not in dropped]
open(target, "w").write("\n".join(kept) + "\n")
PY
# --no-index + only our cache: the package is built from exactly the wheels downloaded above.
# --no-deps: requirements.txt pins the whole closure, so the filtered list is installed as written
# (pip would otherwise pull boto3's s3transfer back in ... if anything still required it).
PIP_FIND_LINKS="" "$PYTHON" -m pip install --quiet --disable-pip-version-check --no-index --no-deps \
  --find-links "$wheels" --target "$stage/root" --no-compile "${target_args[@]}" -r "$stage/requirements.txt" >&2

"$PYTHON" - "$stage/root" "$output" requirements.txt "$strip_tool" "$not_shipped" "$botocore_services" <<'PY'
"""Check the install matches the pins, prune, add our code, write a deterministic zip, enforce the size limits."""
import gzip
import json
import os
import re
import stat
import subprocess
import sys
import zipfile
from pathlib import Path

root, output, requirements = Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3])
strip_tool, not_shipped, botocore_services = sys.argv[4], set(sys.argv[5].split()), sys.argv[6].split()
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
if set(installed) != set(pinned) - not_shipped:
    sys.exit(f"build_lambda: installed {sorted(installed)}, expected requirements.txt minus {sorted(not_shipped)}")
mismatched = {n: (installed[n], v) for n, v in pinned.items() if n in installed and installed[n] != v}
if mismatched:
    sys.exit(f"build_lambda: installed versions differ from the pins: {mismatched}")

# Never shipped: bytecode, console scripts (their shebang names the build machine), headers, man
# pages, test suites, hidden files.
DROP_TOP = {"bin", "include", "share", "tests", "test"}


# botocore/data: what botocore reads when a client is created (endpoint and partition data, retry and
# defaults-mode configuration), then per shipped service only its newest API version's model, endpoint
# rules, paginators and waiters (plus the sdk-extras botocore merges into them); never examples-1
# (documentation) nor older API versions.
BOTOCORE_DATA_FILES = {"endpoints.json", "partitions.json", "sdk-default-configuration.json", "_retry.json"}
BOTOCORE_MODEL_FILES = re.compile(r"^(service-2|endpoint-rule-set-1|paginators-1|waiters-2)(\.sdk-extras)?\.json(\.gz)?$")
data_dir = root / "botocore" / "data"
newest = {}
for service in botocore_services:
    versions = sorted(p.parent.name for p in (data_dir / service).glob("*/service-2.json*"))
    if not versions:
        sys.exit(f"build_lambda: botocore {installed.get('botocore')} has no model for service {service!r}")
    newest[service] = versions[-1]


def botocore_data_shipped(parts: tuple[str, ...]) -> bool:
    if len(parts) == 3:
        return parts[2] in BOTOCORE_DATA_FILES
    return (
        len(parts) == 5
        and newest.get(parts[2]) == parts[3]
        and bool(BOTOCORE_MODEL_FILES.match(parts[4]))
    )


def shipped(relative: Path) -> bool:
    parts = relative.parts
    return not (
        parts[0] in DROP_TOP
        or "__pycache__" in parts
        or "tests" in parts[:-1]
        or any(part.startswith(".") for part in parts)
        or relative.suffix in {".pyc", ".pyo", ".pyi", ".c"}  # bytecode, type stubs, C sources of built extensions
        or relative.name == "py.typed"
        or (parts[:2] == ("botocore", "data") and not botocore_data_shipped(parts))
    )


# endpoints.json lists every service of every partition (1.2 MB), keyed by each model's endpointPrefix
# (dynamodbstreams is "streams.dynamodb", sesv2 "email"): keep the shipped services' entries.
prefixes = set()
for service, version in newest.items():
    model = next((data_dir / service / version).glob("service-2.json*"))
    text = gzip.decompress(model.read_bytes()) if model.suffix == ".gz" else model.read_bytes()
    prefixes.add(json.loads(text)["metadata"]["endpointPrefix"])
endpoints_file = data_dir / "endpoints.json"
endpoints = json.loads(endpoints_file.read_text())
for partition in endpoints["partitions"]:
    partition["services"] = {k: v for k, v in partition["services"].items() if k in prefixes}
endpoints_file.write_text(json.dumps(endpoints, indent=1) + "\n")


entries: dict[str, Path] = {}
for path in root.rglob("*"):
    if path.is_file() and shipped(path.relative_to(root)):
        entries[path.relative_to(root).as_posix()] = path

# Native libraries: symbol tables stripped (in the staging copy; the cached wheels stay intact).
for name, path in sorted(entries.items()):
    if re.search(r"\.so(\.[0-9.]+)?$", name):
        subprocess.run([strip_tool, "--strip-unneeded", str(path)], check=True)
# Each RECORD lists only the files shipped (botocore's listed every model of every service); the
# .dist-info directories stay (names, versions, entry points: opentelemetry finds its context that way).
for name in [n for n in entries if re.fullmatch(r"[^/]+\.dist-info/RECORD", n)]:
    lines = entries[name].read_text().splitlines()
    kept = [line for line in lines if line.split(",", 1)[0] in entries or line.split(",", 1)[0] == name]
    entries[name].write_text("\n".join(kept) + "\n")
clash = sorted(name for name in entries if name.split("/")[0] in {"app", "lambda_handler.py"})
if clash:
    sys.exit(f"build_lambda: a dependency ships files that clash with our code: {clash[:5]}")
# All of app/, not only *.py: the email templates are read from app/notifications/templates at run time.
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
