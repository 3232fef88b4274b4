#!/usr/bin/env bash
# Print (and record in dist/sidekick-image.size.json) the size of an oci-archive: the archive file, its
# layers compressed, and its layers uncompressed (the sum of the layer tars, what a node unpacks).
set -euo pipefail
archive="${1:-dist/sidekick-image.oci.tar}"
[ -f "$archive" ] || { echo "image: error: $archive not found; run make image" >&2; exit 1; }
python3 - "$archive" <<'PY'
import gzip, json, os, sys, tarfile, zlib

path = sys.argv[1]
with tarfile.open(path) as tar:
    def blob(digest: str) -> bytes:
        f = tar.extractfile("blobs/" + digest.replace(":", "/"))
        assert f is not None, digest
        return f.read()

    index = json.loads(tar.extractfile("index.json").read())  # type: ignore[union-attr]
    manifest = json.loads(blob(index["manifests"][0]["digest"]))
    layers = []
    for layer in manifest["layers"]:
        data = blob(layer["digest"])
        raw = gzip.decompress(data) if "gzip" in layer["mediaType"] else data
        layers.append({"digest": layer["digest"], "compressed": len(data), "uncompressed": len(raw)})

summary = {
    "archive": path,
    "archive_bytes": os.path.getsize(path),
    "layers_compressed_bytes": sum(x["compressed"] for x in layers),
    "layers_uncompressed_bytes": sum(x["uncompressed"] for x in layers),
    "layers": layers,
}
out = os.path.join(os.path.dirname(path) or ".", "sidekick-image.size.json")
with open(out, "w") as f:
    json.dump(summary, f, indent=2)
mb = lambda n: f"{n / 1e6:.1f} MB ({n:,} bytes)"  # noqa: E731
print(f"sidekick image {path}")
print(f"  archive (compressed layers): {mb(summary['archive_bytes'])}")
print(f"  layers uncompressed:         {mb(summary['layers_uncompressed_bytes'])}")
for i, x in enumerate(layers):
    print(f"    layer {i}: {x['uncompressed'] / 1e6:6.1f} MB uncompressed, {x['compressed'] / 1e6:5.1f} MB compressed")
PY
