"""Compare two bundle folders as a regenerated bundle must match a committed one: structure exactly, floats
within tolerance. Floating-point results (weights after folding, PyTorch outputs) may differ in their last bits
between CPUs, as BLAS and vectorised kernels differ; hashes of them cannot be compared.

  /usr/bin/python3 gpu-worker/export/compare_bundles.py COMMITTED REGENERATED
prints {"equal": bool, "differences": [...], "files": N, "max_relative_error": x} and exits 1 when they differ.
"""

import json
import os
import sys

import numpy as np
import onnx
from onnx import numpy_helper

# relative to max(1, max |committed|): float32 results agree to ~1e-7 across kernels; a float16 weight rounded
# from a float32 that moved by one bit can move by one float16 step
RELATIVE_TOLERANCE = {np.dtype(np.float32): 1e-5, np.dtype(np.float64): 1e-5, np.dtype(np.float16): 2.0**-10}


class Comparison:
    def __init__(self):
        self.differences, self.max_relative_error = [], 0.0

    def arrays(self, where: str, a: np.ndarray, b: np.ndarray) -> None:
        if a.dtype != b.dtype or a.shape != b.shape:
            self.differences.append(f"{where}: {a.dtype}{list(a.shape)} committed, {b.dtype}{list(b.shape)} regenerated")
        elif a.dtype in RELATIVE_TOLERANCE:
            scale = max(1.0, float(np.abs(a).max(initial=0.0)))
            error = float(np.abs(a.astype(np.float64) - b.astype(np.float64)).max(initial=0.0)) / scale
            self.max_relative_error = max(self.max_relative_error, error)
            if not error <= RELATIVE_TOLERANCE[a.dtype]:
                self.differences.append(f"{where}: max error {error:.3g} x max(1, |value|), allowed {RELATIVE_TOLERANCE[a.dtype]:.3g}")
        elif not np.array_equal(a, b):
            self.differences.append(f"{where}: {a.dtype} values differ")

    def values(self, where: str, a, b) -> None:
        """JSON values: numbers within tolerance (a manifest's parity tolerances come from float outputs), the rest exact."""
        if isinstance(a, dict) and isinstance(b, dict):
            if a.keys() != b.keys():
                self.differences.append(f"{where}: keys {sorted(a)} committed, {sorted(b)} regenerated")
            for key in a.keys() & b.keys():
                self.values(f"{where}.{key}", a[key], b[key])
        elif isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
            for i, (x, y) in enumerate(zip(a, b)):
                self.values(f"{where}[{i}]", x, y)
        elif isinstance(a, float) and isinstance(b, float):
            self.arrays(where, np.array([a]), np.array([b]))
        elif a != b:
            self.differences.append(f"{where}: {json.dumps(a)} committed, {json.dumps(b)} regenerated")

    def onnx_models(self, where: str, a: onnx.ModelProto, b: onnx.ModelProto) -> None:
        """The graph exactly (nodes, attributes, signature, opsets); weights and tensor constants by value."""
        if [(o.domain, o.version) for o in a.opset_import] != [(o.domain, o.version) for o in b.opset_import]:
            self.differences.append(f"{where}: opsets differ")
        for kind in ("input", "output"):
            if [str(v) for v in getattr(a.graph, kind)] != [str(v) for v in getattr(b.graph, kind)]:
                self.differences.append(f"{where}: graph {kind}s differ")
        if len(a.graph.node) != len(b.graph.node):
            self.differences.append(f"{where}: {len(a.graph.node)} nodes committed, {len(b.graph.node)} regenerated")
            return
        for i, (x, y) in enumerate(zip(a.graph.node, b.graph.node)):
            head = lambda n: (n.op_type, n.domain, list(n.input), list(n.output))  # noqa: E731
            if head(x) != head(y) or [t.name for t in x.attribute] != [t.name for t in y.attribute]:
                self.differences.append(f"{where}: node {i} ({x.op_type} {x.name}) differs")
                continue
            for p, q in zip(x.attribute, y.attribute):
                if p.type == onnx.AttributeProto.TENSOR and q.type == onnx.AttributeProto.TENSOR:
                    self.arrays(f"{where}: node {x.name} {p.name}", numpy_helper.to_array(p.t), numpy_helper.to_array(q.t))
                elif p != q:
                    self.differences.append(f"{where}: node {x.name} attribute {p.name} differs")
        ia = {t.name: t for t in a.graph.initializer}
        ib = {t.name: t for t in b.graph.initializer}
        if ia.keys() != ib.keys():
            self.differences.append(f"{where}: initializers {sorted(ia.keys() ^ ib.keys())} in only one")
        for name in sorted(ia.keys() & ib.keys()):
            self.arrays(f"{where}: {name}", numpy_helper.to_array(ia[name]), numpy_helper.to_array(ib[name]))


def listing(folder: str):
    files = set()
    for root, _, names in os.walk(folder):
        files.update(os.path.relpath(os.path.join(root, n), folder).replace(os.sep, "/") for n in names)
    return files


def compare(committed: str, regenerated: str) -> dict:
    c = Comparison()
    files_a, files_b = listing(committed), listing(regenerated)
    for only, where in ((files_a - files_b, "committed"), (files_b - files_a, "regenerated")):
        if only:
            c.differences.append(f"only in the {where} bundle: {sorted(only)}")
    for rel in sorted(files_a & files_b):
        pa, pb = os.path.join(committed, rel), os.path.join(regenerated, rel)
        if rel == "manifest.json":
            ma, mb = (json.load(open(p)) for p in (pa, pb))
            # each file's sha256 is compared through the file itself, below
            if ma.get("files", {}).keys() != mb.get("files", {}).keys():
                c.differences.append("manifest.json: the files listed differ")
            ma["files"] = mb["files"] = None
            c.values("manifest.json", ma, mb)
        elif rel.endswith(".npy"):
            c.arrays(rel, np.load(pa), np.load(pb))
        elif rel.endswith(".onnx"):
            c.onnx_models(rel, onnx.load(pa), onnx.load(pb))  # loads external data from beside each file
        elif rel.endswith(".onnx.data"):
            continue  # its tensors are the initializers compared with their graph
        elif open(pa, "rb").read() != open(pb, "rb").read():
            c.differences.append(f"{rel}: bytes differ")
    return {
        "equal": not c.differences,
        "differences": c.differences,
        "files": len(files_a & files_b),
        "max_relative_error": c.max_relative_error,
    }


if __name__ == "__main__":
    report = compare(sys.argv[1], sys.argv[2])
    print(json.dumps(report, indent=2))
    sys.exit(0 if report["equal"] else 1)
