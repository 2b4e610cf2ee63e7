"""manifest.json for a bundle; the schema is core/contracts/bundle-manifest.ts (keep the two in step)."""

import hashlib
import json
import math
import os
from typing import Dict, List, Optional

from configs import MindEye1Config

SCHEMA_VERSION = 1


def tensor_spec(name: str, shape: List) -> Dict:
    return {"name": name, "dtype": "float32", "shape": ["batch", *shape]}


def embedding_spaces(cfg: MindEye1Config, family: str, graphs: List[str]) -> Dict:
    if family == "mindeye1-1x768":
        # the pooled CLIP image embedding (what OpenAI CLIP's encode_image returns); the query for LAION-scale search
        space = {"tokens": cfg.clip_tokens, "dim": cfg.clip_dim, "space": "clip-vit-l14-image"}
        return {"backbone": {**space, "normalization": "none"}, "retrieval": {**space, "normalization": "l2"}}
    space = {"tokens": cfg.clip_tokens, "dim": cfg.clip_dim, "space": "clip-vit-l14-hidden"}
    spaces = {
        # fed to the prior as is
        "backbone": {**space, "normalization": "none"},
        # compared after flattening all tokens and L2-normalising (reference §2.6)
        "retrieval": {**space, "normalization": "flatten_l2"},
        # prior samples are divided by the norm of their CLS token, like CLIP targets (§2.2, §2.3)
        "prior": {**space, "normalization": "cls_token"},
    }
    if "clip_image" in graphs:
        # image_embeds as MindEye's Clipper uses them: divided by token 0's norm (reference §4.4)
        spaces["clip_image"] = {"tokens": cfg.clip.tokens, "dim": cfg.clip.projection_dim, "space": space["space"], "normalization": "cls_token"}
    return spaces


def training_input() -> Dict:
    """input.training: MindEye1 trained on NSD betas z-scored per voxel over each 750-trial session."""
    return {
        "zscore": "session",
        "session_trials": 750,
        "voxel_mean": 0.0,
        "voxel_std": 1.0,
        "units": "percent signal change, stored x300 as int16",
    }


def sampler_settings(cfg: MindEye1Config, graphs: List[str]) -> Dict:
    """MindEye1's reconstruction settings (reconstruction reference §1-§3), for the host's samplers."""
    settings = {}
    if "prior" in graphs:
        settings["prior"] = {
            "kind": "ddpm",
            "train_timesteps": 100,
            "steps": 100,
            "beta_schedule": "cosine",
            "cosine_s": 0.008,
            "max_beta": 0.999,
            "prediction": "x_start",
            "image_embed_scale": math.sqrt(cfg.clip_dim),
            "cond_scale": 1.0,
            # one seeded generator for the whole reconstruction, re-seeded per image (§1.3)
            "samples": 16,
            "seed": 42,
        }
    if "unet" in graphs:
        settings["decoder"] = {
            "kind": "unipc",
            "solver_type": "bh2",
            "solver_order": 2,
            "lower_order_final": True,
            "prediction": "epsilon",
            "train_timesteps": 1000,
            "beta_schedule": "scaled_linear",
            "beta_start": 0.00085,
            "beta_end": 0.012,
            "steps": 20,
            "guidance_scale": 3.5,
            "img2img_strength": 0.85,
            "vae_scale_factor": 0.18215,
        }
    return settings


def sha256_file(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 22), b""):
            digest.update(chunk)
    return digest.hexdigest()


def write_manifest(out_dir: str, body: Dict) -> None:
    """Adds the sha256 of every file under out_dir (except the manifest itself) and writes manifest.json."""
    files = {}
    for root, _, names in os.walk(out_dir):
        for name in names:
            rel = os.path.relpath(os.path.join(root, name), out_dir).replace(os.sep, "/")
            if rel != "manifest.json":
                files[rel] = sha256_file(os.path.join(root, name))
    manifest = {"schema_version": SCHEMA_VERSION, **body, "files": dict(sorted(files.items()))}
    with open(os.path.join(out_dir, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=2)
        f.write("\n")


def bundle_id(family: str, subject: int, config: str, fp16: bool, explicit: Optional[str]) -> str:
    if explicit:
        return explicit
    return f"{family}-subj{subject:02d}" + ("-tiny" if config == "tiny" else "") + ("-fp16" if fp16 else "")
