"""Regenerate the tiny test bundles committed under test/fixtures/bundles (fixed seeds, one thread; floats may
differ in the last bits between CPUs, so compare_bundles.py compares them with tolerances).

  /usr/bin/python3 gpu-worker/export/make_test_bundles.py OUT_ROOT
"""

import os
import subprocess
import sys
import tempfile

import numpy as np

from configs import TINY

HERE = os.path.dirname(os.path.abspath(__file__))
GRID = (4, 5, 6)

BUNDLES = {
    "mindeye1-subj01-tiny": ["--family", "mindeye1", "--mask", "{mask}"],
    "mindeye1-subj01-tiny-fp16": ["--family", "mindeye1", "--fp16"],
    # voxel2clip only: a bundle that embeds and retrieves but cannot reconstruct
    "mindeye1-1x768-subj01-tiny": ["--family", "mindeye1-1x768"],
}


def tiny_mask(path: str) -> None:
    """A fixed mask over a 4x5x6 grid selecting exactly TINY.voxels voxels, so the mask path is exercised."""
    rng = np.random.default_rng(0)
    mask = np.zeros(GRID, np.uint8)
    mask.flat[np.sort(rng.choice(mask.size, TINY.voxels, replace=False))] = 1
    np.save(path, mask)


def main(out_root: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        mask = os.path.join(tmp, "mask.npy")
        tiny_mask(mask)
        for name, extra in BUNDLES.items():
            command = [sys.executable, os.path.join(HERE, "export.py"), "--subject", "1"]
            command += ["--config", "tiny", "--random-init", "--out", os.path.join(out_root, name)]
            subprocess.run(command + [a.format(mask=mask) for a in extra], check=True)


if __name__ == "__main__":
    main(sys.argv[1])
