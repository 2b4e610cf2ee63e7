"""Parity: run an exported graph in ONNX Runtime (onnxruntime-node; there is no Python ORT here) on the same
inputs PyTorch saw, and fail when any output differs by more than the tolerance."""

import json
import os
import subprocess
import tempfile
from typing import Dict

import numpy as np

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
ORT_RUN = os.path.join(REPO, "gpu-worker", "export", "ort-run.ts")


class ParityError(RuntimeError):
    pass


def tolerance(reference: np.ndarray, fp16: bool) -> float:
    """Absolute tolerance, scaled by the output's magnitude once that exceeds 1."""
    scale = max(1.0, float(np.abs(reference).max()))
    return (2e-2 if fp16 else 1e-4) * scale


def run_onnxruntime(model_path: str, inputs: Dict[str, np.ndarray], output_names) -> Dict[str, np.ndarray]:
    with tempfile.TemporaryDirectory() as tmp:
        job = {"model": os.path.abspath(model_path), "inputs": {}, "outputs": {}}
        for name, array in inputs.items():
            job["inputs"][name] = os.path.join(tmp, f"in-{name}.npy")
            np.save(job["inputs"][name], array)
        for name in output_names:
            job["outputs"][name] = os.path.join(tmp, f"out-{name}.npy")
        job_path = os.path.join(tmp, "job.json")
        with open(job_path, "w") as f:
            json.dump(job, f)
        subprocess.run(["node", "--import", "tsx", ORT_RUN, job_path], cwd=REPO, check=True)
        return {name: np.load(path) for name, path in job["outputs"].items()}


def check_parity(graph: str, model_path: str, inputs, expected: Dict[str, np.ndarray], fp16: bool) -> Dict[str, float]:
    """Returns the max abs error per output; raises ParityError past tolerance."""
    actual = run_onnxruntime(model_path, inputs, list(expected))
    errors = {}
    for name, reference in expected.items():
        got = actual[name]
        if got.shape != reference.shape:
            raise ParityError(f"{graph}.{name}: ONNX Runtime shape {got.shape}, PyTorch {reference.shape}")
        error = float(np.abs(got.astype(np.float64) - reference).max())
        limit = tolerance(reference, fp16)
        if not error <= limit:
            raise ParityError(f"{graph}.{name}: max abs error {error:.3g} exceeds {limit:.3g}")
        errors[name] = error
    return errors
