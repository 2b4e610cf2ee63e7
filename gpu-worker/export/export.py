"""Export MindEye1 checkpoints (or seeded random weights) to an ONNX bundle, checked against PyTorch.

  /usr/bin/python3 gpu-worker/export/export.py --family mindeye1 --subject 1 \
      (--checkpoint last.pth [--lowlevel-checkpoint epoch120.pth] \
       [--unet vd/image_unet] [--vae vd/vae] [--clip clip-vit-large-patch14] | --random-init) \
      [--config full|tiny] [--fp16] [--graphs voxel2clip,prior,...] [--mask nsdgeneral.nii.gz] --out DIR
  ... --family mindeye1-1x768 --checkpoint prior_1x768_final_subj01_bimixco_softclip_byol/last.pth ...
  ... --dry-run   prints the parameter count of each graph as JSON (built on the meta device; writes nothing)
"""

import argparse
import json
import os
import shutil
import sys

import numpy as np
import torch

from configs import FAMILIES, family_config, mindeye1_config
from graphs import FAMILY_GRAPHS, GRAPHS, random_inputs
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
from weights import UNUSED_PREFIXES, WeightsError, load_exact, read_state_dict

# the published file (or diffusers/transformers folder) each decoder graph loads, by command-line option
DECODER_SOURCES = {"unet": "unet", "vae_encoder": "vae", "vae_decoder": "vae", "clip_image": "clip"}

PARITY_BATCH = 2


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--family", required=True, choices=FAMILIES)
    p.add_argument("--subject", required=True, type=int)
    source = p.add_mutually_exclusive_group()
    source.add_argument("--checkpoint", help="prior_257_final_subj0X_bimixco_softclip_byol/last.pth (or prior_1x768_...)")
    source.add_argument("--random-init", action="store_true", help="seeded random weights (tests, benchmarks)")
    p.add_argument("--lowlevel-checkpoint", help="autoencoder_subj0X_4x_locont_no_reconst/epoch120.pth")
    p.add_argument("--unet", help="Versatile Diffusion's image_unet/ folder or its weights file")
    p.add_argument("--vae", help="Versatile Diffusion's vae/ folder or its weights file")
    p.add_argument("--clip", help="openai/clip-vit-large-patch14 folder or its weights file")
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
    decoder_weights = [f"--{o}" for o in ("unet", "vae", "clip") if getattr(args, o)]
    if args.random_init and decoder_weights:
        p.error(f"--random-init exports no published weights; drop {' '.join(decoder_weights)}")
    if not args.dry_run:
        if not (args.checkpoint or args.random_init or args.lowlevel_checkpoint or decoder_weights):
            p.error("give weights (--checkpoint, --lowlevel-checkpoint, --unet, --vae, --clip) or --random-init")
        if not args.out:
            p.error("--out is required")
    return args


def selected_graphs(args):
    family = FAMILY_GRAPHS[args.family]
    if args.graphs:
        names = args.graphs.split(",")
        unknown = [n for n in names if n not in family]
        if unknown:
            raise SystemExit(f"unknown graphs {unknown} for {args.family}; known: {family}")
        return names
    if args.random_init or args.dry_run and not args.checkpoint:
        return family
    # a graph whose weights were given
    given = {"voxel2clip": args.checkpoint, "prior": args.checkpoint, "lowlevel": args.lowlevel_checkpoint}
    given.update({name: getattr(args, option) for name, option in DECODER_SOURCES.items()})
    return [name for name in family if given.get(name)]


def parameter_parts(name, module):
    """Sub-counts the reference states: voxel2clip's backbone and projector, each VAE half's conv, CLIP's projection."""
    if name == "voxel2clip":
        backbone = module.backbone_parameters()
        return {"backbone": backbone, "projector": sum(p.numel() for p in module.parameters()) - backbone}
    if name in ("vae_encoder", "vae_decoder", "clip_image"):
        return {child: sum(p.numel() for p in sub.parameters()) for child, sub in module.named_children()}
    return None


def dry_run(args, cfg, names):
    report = {"family": args.family, "subject": args.subject, "config": cfg.name, "voxels": cfg.voxels, "graphs": {}}
    for name in names:
        module = GRAPHS[name].build(cfg, "meta")
        entry = {"parameters": sum(p.numel() for p in module.parameters())}
        parts = parameter_parts(name, module)
        if parts:
            entry["parts"] = parts
        entry["tensors"] = {k: list(p.shape) for k, p in module.named_parameters()}
        report["graphs"][name] = entry
    if "vae_encoder" in names and "vae_decoder" in names:
        # the whole AutoencoderKL, as the reference counts it
        halves = [report["graphs"][n] for n in ("vae_encoder", "vae_decoder")]
        report["vae"] = {"parameters": sum(h["parameters"] for h in halves), "parts": {**halves[0]["parts"], **halves[1]["parts"]}}
    print(json.dumps(report, indent=2))


def build_module(name, args, cfg, states):
    """The graph's module with seeded random weights or its published weights (read once per file, in `states`)."""
    index = list(GRAPHS).index(name)
    # seeded per graph, so a graph's weights do not depend on which others are exported with it
    torch.manual_seed(args.seed + index)
    module = GRAPHS[name].build(cfg, None).eval()
    if args.random_init:
        perturb_norms(module, torch.Generator().manual_seed(args.seed + 1000 + index))
        return module
    if name in DECODER_SOURCES:
        path = getattr(args, DECODER_SOURCES[name])
        if path not in states:
            states.clear()  # one published file in memory at a time
            states[path] = read_state_dict(path)
        load_exact(module, states[path], path, UNUSED_PREFIXES[name])
    elif name == "lowlevel":
        if not args.lowlevel_checkpoint:
            raise SystemExit("the lowlevel graph needs --lowlevel-checkpoint")
        load_by_prefix(module, read_checkpoint(args.lowlevel_checkpoint), LOWLEVEL_CHECKPOINT_PREFIX, args.lowlevel_checkpoint)
    else:
        if not args.checkpoint:
            raise SystemExit(f"the {name} graph needs --checkpoint")
        if args.checkpoint not in states:
            states.clear()
            states[args.checkpoint] = read_checkpoint(args.checkpoint)
        load_by_prefix(module, states[args.checkpoint], PRIOR_CHECKPOINT_PREFIXES[name], args.checkpoint)
    return module


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
    cfg = family_config(mindeye1_config(args.config, args.subject), args.family)
    names = selected_graphs(args)
    if not names:
        raise SystemExit("no graph to export: give the weights of at least one (see --help)")
    missing = [n for n in names if n in DECODER_SOURCES and not args.random_init and not getattr(args, DECODER_SOURCES[n])]
    if missing and not args.dry_run:
        raise SystemExit(f"graphs {missing} need --{' --'.join(sorted({DECODER_SOURCES[n] for n in missing}))}")
    if args.dry_run:
        dry_run(args, cfg, names)
        return
    out_dir = args.out
    if os.path.isdir(out_dir) and os.listdir(out_dir):
        raise SystemExit(f"{out_dir} is not empty; every file in a bundle is hashed into its manifest")
    os.makedirs(out_dir, exist_ok=True)
    grid, mask = copy_mask(args.mask, out_dir, cfg.voxels) if args.mask else (None, None)
    graphs, parity, states = {}, {}, {}
    for name in names:
        try:
            module = build_module(name, args, cfg, states)
        except WeightsError as error:
            raise SystemExit(f"{name}: {error}") from error
        graphs[name], parity[name] = export_graph(name, module, cfg, args, out_dir, list(GRAPHS).index(name))
        del module
    states.clear()
    paths = (args.checkpoint, args.lowlevel_checkpoint, args.unet, args.vae, args.clip)
    sources = [os.path.basename(os.path.normpath(p)) for p in paths if p]
    write_manifest(
        out_dir,
        {
            "id": bundle_id(args.family, args.subject, args.config, args.fp16, args.id),
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
            "embeddings": embedding_spaces(cfg, args.family, names),
            "graphs": graphs,
            "sampler": sampler_settings(cfg, names),
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
