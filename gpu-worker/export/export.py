"""Export MindEye1 checkpoints (or seeded random weights) to an ONNX bundle, checked against PyTorch.

  /usr/bin/python3 gpu-worker/export/export.py --family mindeye1 --subject 1 \
      (--checkpoint last.pth [--lowlevel-checkpoint epoch120.pth] | --random-init) \
      [--config full|tiny] [--fp16] [--graphs voxel2clip,prior,lowlevel] [--mask nsdgeneral.nii.gz] --out DIR
  ... --dry-run   prints the parameter count of each graph as JSON (built on the meta device; writes nothing)
"""

import argparse
import json
import os
import shutil
import sys

import numpy as np
import torch

from configs import mindeye1_config
from graphs import GRAPHS, random_inputs
from manifest import (
    bundle_id,
    embedding_spaces,
    sampler_settings,
    tensor_spec,
    training_input,
    write_manifest,
)
from onnx_io import OPSET, export_onnx
from parity import check_parity, tolerance
from random_init import perturb_norms
from state_dict import LOWLEVEL_CHECKPOINT_PREFIX, PRIOR_CHECKPOINT_PREFIXES, load_by_prefix, read_checkpoint

PARITY_BATCH = 2


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--family", required=True, choices=["mindeye1"])
    p.add_argument("--subject", required=True, type=int)
    source = p.add_mutually_exclusive_group()
    source.add_argument("--checkpoint", help="prior_257_final_subj0X_bimixco_softclip_byol/last.pth")
    source.add_argument("--random-init", action="store_true", help="seeded random weights (tests, benchmarks)")
    p.add_argument("--lowlevel-checkpoint", help="autoencoder_subj0X_4x_locont_no_reconst/epoch120.pth")
    p.add_argument("--config", choices=["full", "tiny"], default="full")
    p.add_argument("--graphs", help="comma-separated subset of " + ",".join(GRAPHS))
    p.add_argument("--fp16", action="store_true", help="float16 weights and compute; float32 inputs and outputs")
    p.add_argument("--mask", help="voxel mask over the input grid (.npy, .nii, .nii.gz) to ship in the bundle")
    p.add_argument("--id", help="bundle id (default mindeye1-subjNN[-tiny][-fp16])")
    p.add_argument("--version", default="1", help="bundle version string")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out")
    p.add_argument("--dry-run", action="store_true")
    args = p.parse_args(argv)
    if not args.dry_run:
        if not (args.checkpoint or args.random_init):
            p.error("one of --checkpoint or --random-init is required")
        if not args.out:
            p.error("--out is required")
    return args


def selected_graphs(args):
    if args.graphs:
        names = args.graphs.split(",")
        unknown = [n for n in names if n not in GRAPHS]
        if unknown:
            raise SystemExit(f"unknown graphs {unknown}; known: {list(GRAPHS)}")
        return names
    if args.checkpoint and not args.lowlevel_checkpoint:
        return ["voxel2clip", "prior"]
    return list(GRAPHS)


def dry_run(args, cfg, names):
    report = {"family": args.family, "subject": args.subject, "config": cfg.name, "voxels": cfg.voxels, "graphs": {}}
    for name in names:
        module = GRAPHS[name].build(cfg, "meta")
        entry = {"parameters": sum(p.numel() for p in module.parameters())}
        if name == "voxel2clip":
            backbone = module.backbone_parameters()
            entry["parts"] = {"backbone": backbone, "projector": entry["parameters"] - backbone}
        entry["tensors"] = {k: list(p.shape) for k, p in module.named_parameters()}
        report["graphs"][name] = entry
    print(json.dumps(report, indent=2))


def build_modules(args, cfg, names):
    torch.manual_seed(args.seed)
    modules = {name: GRAPHS[name].build(cfg, None).eval() for name in names}
    if args.random_init:
        generator = torch.Generator().manual_seed(args.seed + 1)
        for module in modules.values():
            perturb_norms(module, generator)
        return modules
    prior_state = read_checkpoint(args.checkpoint)
    for name in names:
        if name == "lowlevel":
            if not args.lowlevel_checkpoint:
                raise SystemExit("the lowlevel graph needs --lowlevel-checkpoint")
            state = read_checkpoint(args.lowlevel_checkpoint)
            load_by_prefix(modules[name], state, LOWLEVEL_CHECKPOINT_PREFIX, args.lowlevel_checkpoint)
        else:
            load_by_prefix(modules[name], prior_state, PRIOR_CHECKPOINT_PREFIXES[name], args.checkpoint)
    return modules


def copy_mask(path, out_dir, voxels):
    if path.endswith(".npy"):
        mask, target = np.load(path), "mask.npy"
    else:
        import nibabel  # only needed for NIfTI masks

        mask, target = np.asarray(nibabel.load(path).dataobj), "mask.nii.gz" if path.endswith(".gz") else "mask.nii"
    # voxels are mask > 0, as the runtime reads them: NSD's nsdgeneral holds -1 outside the brain
    count = int((mask > 0).sum())
    if count != voxels:
        raise SystemExit(f"mask {path} selects {count} voxels, the model takes {voxels}")
    shutil.copyfile(path, os.path.join(out_dir, target))
    fmt = "npy" if target == "mask.npy" else "nifti"
    # voxel i of the input is the i-th mask entry > 0 in C order over the grid (numpy's data[..., mask > 0])
    return list(mask.shape[:3]), {"file": target, "format": fmt, "order": "C"}


def export_graph(name, module, cfg, args, out_dir, seed_offset):
    definition = GRAPHS[name]
    generator = torch.Generator().manual_seed(args.seed + 100 + seed_offset)
    inputs = random_inputs(name, cfg, PARITY_BATCH, generator)
    output_names = list(definition.outputs(cfg))
    with torch.no_grad():
        result = module(*inputs.values())
    outputs = dict(zip(output_names, result if isinstance(result, tuple) else (result,)))
    expected = {k: v.numpy().astype(np.float32) for k, v in outputs.items()}
    parameters = sum(p.numel() for p in module.parameters())
    specs = [tensor_spec(k, s) for k, s in [*definition.inputs(cfg).items(), *definition.outputs(cfg).items()]]
    files = export_onnx(module, inputs, output_names, {s["name"]: s["shape"] for s in specs}, out_dir, name, args.fp16)
    arrays = {k: v.numpy().astype(np.float32) for k, v in inputs.items()}
    errors = check_parity(name, os.path.join(out_dir, files[0]), arrays, expected, args.fp16)
    print(f"{name}: max abs error ONNX Runtime vs PyTorch {errors}", file=sys.stderr)
    parity_dir = os.path.join(out_dir, "parity", name)
    os.makedirs(parity_dir, exist_ok=True)
    parity = {"inputs": {}, "outputs": {}, "tolerance": {}}
    for kind, arrays_of_kind in (("inputs", arrays), ("outputs", expected)):
        for tensor_name, array in arrays_of_kind.items():
            rel = f"parity/{name}/{tensor_name}.npy"
            np.save(os.path.join(out_dir, rel), array)
            parity[kind][tensor_name] = rel
    parity["tolerance"] = {k: tolerance(v, args.fp16) for k, v in expected.items()}
    graph = {
        "file": files[0],
        "external_data": files[1:],
        "precision": "float16" if args.fp16 else "float32",
        "parameters": parameters,
        "inputs": specs[: len(inputs)],
        "outputs": specs[len(inputs) :],
    }
    return graph, parity


def main(argv):
    args = parse_args(argv)
    # One thread: identical bytes on every machine, so the committed test bundles can be regenerated in CI.
    torch.set_num_threads(1)
    cfg = mindeye1_config(args.config, args.subject)
    names = selected_graphs(args)
    if args.dry_run:
        dry_run(args, cfg, names)
        return
    out_dir = args.out
    if os.path.isdir(out_dir) and os.listdir(out_dir):
        raise SystemExit(f"{out_dir} is not empty; every file in a bundle is hashed into its manifest")
    os.makedirs(out_dir, exist_ok=True)
    modules = build_modules(args, cfg, names)
    grid, mask = copy_mask(args.mask, out_dir, cfg.voxels) if args.mask else (None, None)
    graphs, parity = {}, {}
    for offset, name in enumerate(names):
        graphs[name], parity[name] = export_graph(name, modules.pop(name), cfg, args, out_dir, offset)
    sources = [os.path.basename(p) for p in (args.checkpoint, args.lowlevel_checkpoint) if p]
    write_manifest(
        out_dir,
        {
            "id": bundle_id(args.subject, args.config, args.fp16, args.id),
            "family": args.family,
            "subject": f"subj{args.subject:02d}",
            "version": args.version,
            "input": {
                "voxels": cfg.voxels,
                "dtype": "float32",
                "grid": grid,
                "mask": mask,
                "training": training_input(),
            },
            "embeddings": embedding_spaces(cfg),
            "graphs": graphs,
            "sampler": sampler_settings(cfg),
            "parity": parity,
            "source": {
                "checkpoints": sources,
                "random_init": bool(args.random_init),
                "seed": args.seed if args.random_init else None,
                "config": cfg.name,
                "torch": torch.__version__,
                "onnx_opset": OPSET,
            },
        },
    )


if __name__ == "__main__":
    main(sys.argv[1:])
