#!/usr/bin/env bash
# Refetch the staff console's vendored JavaScript from the npm registry and check it against
# console/static/vendor/vendor.json (name, exact version, npm integrity, sha256 of each file).
#
#   scripts/vendor-assets.sh           fetch, verify, and copy the files into console/static/vendor/
#   scripts/vendor-assets.sh --check   fetch and verify only (the committed files are left alone)
#
# Upgrading: change the version in vendor.json, run with --update to rewrite the integrity and
# sha256 values from what npm serves, read the library's changelog, commit files and vendor.json.
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
vendor="$root/console/static/vendor"
mode="${1:-}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

python3 - "$vendor/vendor.json" "$work" "$mode" <<'PY'
import base64, hashlib, json, shutil, subprocess, sys, tarfile
from pathlib import Path

manifest_path, work, mode = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3]
manifest = json.loads(manifest_path.read_text())
failed = False
for package in manifest["packages"]:
    spec = f'{package["name"]}@{package["version"]}'
    out = subprocess.run(["npm", "pack", spec, "--json", "--pack-destination", str(work)],
                         check=True, capture_output=True, text=True, cwd=work)
    packed = json.loads(out.stdout)[0]
    tarball = work / packed["filename"]
    integrity = "sha512-" + base64.b64encode(hashlib.sha512(tarball.read_bytes()).digest()).decode()
    if mode == "--update":
        package["integrity"] = integrity
    elif integrity != package["integrity"] or packed["integrity"] != package["integrity"]:
        print(f"{spec}: npm integrity {integrity} differs from vendor.json", file=sys.stderr)
        failed = True
        continue
    with tarfile.open(tarball) as archive:
        for entry in package["files"]:
            data = archive.extractfile(f'package/{entry["from"]}').read()
            digest = hashlib.sha256(data).hexdigest()
            if mode == "--update":
                entry["sha256"] = digest
            elif digest != entry["sha256"]:
                print(f'{spec} {entry["from"]}: sha256 {digest} differs from vendor.json', file=sys.stderr)
                failed = True
                continue
            if mode != "--check":
                (manifest_path.parent / entry["file"]).write_bytes(data)
            print(f'{spec} {entry["from"]} -> {entry["file"]} ok')
if mode == "--update":
    manifest_path.write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n")
sys.exit(1 if failed else 0)
PY
