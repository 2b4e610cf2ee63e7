"""Checks of the decoder graphs that need no published weights (issue 13, deliverable 4), each on a tiny graph
exported to ONNX and run in ONNX Runtime, with a control that must fail where the property would not hold:

- unet: an all-zero context gives K = V = 0 in every cross-attention, so each one returns its `to_out` bias
  (reconstruction reference §1.2): the graph equals a UNet whose cross-attentions output that bias;
- vae_encoder: the log-variance is clamped to [-30, 20], as diffusers clamps it;
- clip_image: the 257 (here 5) tokens come out as MindEye's Clipper gives them: class token, then patches row by row.

  /usr/bin/python3 gpu-worker/export/weightless_checks.py   prints the measured errors as JSON
"""

import json
import os
import sys
import tempfile

import numpy as np
import torch

from configs import TINY
from graphs import GRAPHS, random_inputs
from onnx_io import export_onnx
from parity import run_onnxruntime
from random_init import perturb_norms
from vae import LOGVAR_MAX, LOGVAR_MIN


def tiny(name: str, seed: int):
    torch.manual_seed(seed)
    module = GRAPHS[name].build(TINY, None).eval()
    perturb_norms(module, torch.Generator().manual_seed(seed + 1))
    return module


def run_graph(name: str, module, inputs, tmp: str):
    """Export `module` as graph `name` and run it in ONNX Runtime on `inputs` (numpy); returns its outputs."""
    definition = GRAPHS[name]
    shapes = {k: ["batch", *s] for k, s in [*definition.inputs(TINY).items(), *definition.outputs(TINY).items()]}
    outputs = list(definition.outputs(TINY))
    tensors = {k: torch.from_numpy(v) for k, v in inputs.items()}
    folder = os.path.join(tmp, name)
    os.makedirs(folder)
    files = export_onnx(module, tensors, outputs, shapes, folder, name, fp16=False)
    return run_onnxruntime(os.path.join(folder, files[0]), inputs, outputs)


def max_error(a, b) -> float:
    return float(np.abs(np.asarray(a, np.float64) - np.asarray(b, np.float64)).max())


def unet_zero_context(tmp: str):
    unet = tiny("unet", 11)
    generator = torch.Generator().manual_seed(12)
    inputs = {k: v.numpy() for k, v in random_inputs("unet", TINY, 2, generator).items()}
    zero = {**inputs, "encoder_hidden_states": np.zeros_like(inputs["encoder_hidden_states"])}
    graph_zero = run_graph("unet", unet, zero, tmp)["eps"]
    # the same UNet with every cross-attention replaced by its to_out bias, which ignores the context
    for name, block in unet.named_modules():
        if name.endswith(".attn2"):
            block.forward = lambda x, context=None, bias=block.to_out[0].bias: bias.expand(x.shape)
    with torch.no_grad():
        bias_only = unet(*(torch.from_numpy(v) for v in inputs.values())).numpy()
    graph_context = run_onnxruntime(os.path.join(tmp, "unet", "unet.onnx"), inputs, ["eps"])["eps"]
    return {
        "zero_context_vs_bias_only": max_error(graph_zero, bias_only),
        # control: with a real context the cross-attentions do contribute
        "random_context_vs_bias_only": max_error(graph_context, bias_only),
        "output_scale": float(np.abs(bias_only).max()),
    }


def vae_logvar_clamp(tmp: str):
    encoder = tiny("vae_encoder", 21)
    c = TINY.vae.latent_channels
    with torch.no_grad():
        # push the first log-variance channel far above the clamp and the second far below it
        encoder.quant_conv.bias[c] += 100.0
        encoder.quant_conv.bias[c + 1] -= 100.0
    image = torch.randn(2, *GRAPHS["vae_encoder"].inputs(TINY)["image"], generator=torch.Generator().manual_seed(22))
    out = run_graph("vae_encoder", encoder, {"image": image.numpy()}, tmp)
    with torch.no_grad():
        moments = encoder.quant_conv(encoder.encoder(image))
    unclamped = moments[:, c:].numpy()
    logvar = out["logvar"]
    return {
        "logvar_channel_max": [float(logvar[:, i].max()) for i in range(c)],
        "logvar_channel_min": [float(logvar[:, i].min()) for i in range(c)],
        # control: the input really reaches past both bounds before the clamp
        "unclamped_max": float(unclamped.max()),
        "unclamped_min": float(unclamped.min()),
        "bounds": [LOGVAR_MIN, LOGVAR_MAX],
        "mean_vs_pytorch": max_error(out["mean"], moments[:, :c].numpy()),
        "inner_channels_vs_unclamped": max_error(logvar[:, 2:], unclamped[:, 2:]),
    }


def layer_norm(x, norm):
    w, b = norm.weight.detach().numpy().astype(np.float64), norm.bias.detach().numpy().astype(np.float64)
    mean = x.mean(-1, keepdims=True)
    return (x - mean) / np.sqrt(((x - mean) ** 2).mean(-1, keepdims=True) + norm.eps) * w + b


def clip_token_order(tmp: str):
    clip = tiny("clip_image", 31)
    with torch.no_grad():
        # every encoder layer adds zero: each token's output then depends on its own patch only
        for layer in clip.vision_model.encoder.layers:
            for linear in (layer.self_attn.out_proj, layer.mlp.fc2):
                linear.weight.zero_()
                linear.bias.zero_()
    image = torch.rand(1, *GRAPHS["clip_image"].inputs(TINY)["image"], generator=torch.Generator().manual_seed(32))
    tokens = run_graph("clip_image", clip, {"image": image.numpy()}, tmp)["image_embeds"][0]
    # Clipper's tokens, computed here without the graph: resize and normalise, then the class token and the
    # patches row by row (or, for the control, column by column), each embedded on its own
    size, patch = TINY.clip.image_size, TINY.clip.patch
    pixels = torch.nn.functional.interpolate(image, size=(size, size), mode="bicubic", align_corners=False)
    pixels = ((pixels - clip.mean) / clip.std)[0].numpy().astype(np.float64)
    emb = clip.vision_model.embeddings
    kernel = emb.patch_embedding.weight.detach().numpy().astype(np.float64)
    positions = emb.position_embedding.weight.detach().numpy().astype(np.float64)
    grid = size // patch

    def expected(row_major: bool):
        rows = [emb.class_embedding.detach().numpy().astype(np.float64)]
        for i in range(grid * grid):
            r, col = (i // grid, i % grid) if row_major else (i % grid, i // grid)
            window = pixels[:, r * patch : (r + 1) * patch, col * patch : (col + 1) * patch]
            rows.append(np.einsum("ochw,chw->o", kernel, window))
        hidden = layer_norm(np.stack(rows) + positions, clip.vision_model.pre_layrnorm)
        hidden = layer_norm(hidden, clip.vision_model.post_layernorm)
        return hidden @ clip.visual_projection.weight.detach().numpy().astype(np.float64).T

    return {
        "tokens": int(tokens.shape[0]),
        "row_major_error": max_error(tokens, expected(True)),
        # control: the transposed patch order, which a wrong flatten would give
        "column_major_error": max_error(tokens, expected(False)),
        "output_scale": float(np.abs(tokens).max()),
    }


def main() -> None:
    torch.set_num_threads(1)
    with tempfile.TemporaryDirectory() as tmp:
        report = {
            "unet_zero_context": unet_zero_context(tmp),
            "vae_logvar_clamp": vae_logvar_clamp(tmp),
            "clip_token_order": clip_token_order(tmp),
        }
    json.dump(report, sys.stdout, indent=2)


if __name__ == "__main__":
    main()
