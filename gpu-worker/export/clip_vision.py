"""CLIP ViT-L/14's image tower as MindEye's `Clipper` uses it (HF transformers `CLIPVisionModelWithProjection`
key names): every one of the 257 tokens through `post_layernorm` and `visual_projection` (reference §4.4)."""

import torch
import torch.nn.functional as F
from torch import nn

from configs import CLIPVisionConfig

CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)
CLIP_STD = (0.26862954, 0.26130258, 0.27577711)


class CLIPAttention(nn.Module):
    def __init__(self, dim: int, heads: int, device=None):
        super().__init__()
        self.heads = heads
        self.scale = (dim // heads) ** -0.5
        self.q_proj = nn.Linear(dim, dim, device=device)
        self.k_proj = nn.Linear(dim, dim, device=device)
        self.v_proj = nn.Linear(dim, dim, device=device)
        self.out_proj = nn.Linear(dim, dim, device=device)

    def forward(self, x):
        b, n, c = x.shape
        split = lambda t: t.reshape(b, n, self.heads, c // self.heads).transpose(1, 2)  # noqa: E731
        q, k, v = split(self.q_proj(x) * self.scale), split(self.k_proj(x)), split(self.v_proj(x))
        attn = torch.softmax(q @ k.transpose(-1, -2), dim=-1)
        return self.out_proj((attn @ v).transpose(1, 2).reshape(b, n, c))


class CLIPMLP(nn.Module):
    def __init__(self, dim: int, inner: int, device=None):
        super().__init__()
        self.fc1 = nn.Linear(dim, inner, device=device)
        self.fc2 = nn.Linear(inner, dim, device=device)

    def forward(self, x):
        h = self.fc1(x)
        return self.fc2(h * torch.sigmoid(1.702 * h))  # quick_gelu


class CLIPEncoderLayer(nn.Module):
    def __init__(self, cfg: CLIPVisionConfig, device=None):
        super().__init__()
        self.self_attn = CLIPAttention(cfg.hidden, cfg.heads, device)
        self.layer_norm1 = nn.LayerNorm(cfg.hidden, eps=1e-5, device=device)
        self.mlp = CLIPMLP(cfg.hidden, cfg.intermediate, device)
        self.layer_norm2 = nn.LayerNorm(cfg.hidden, eps=1e-5, device=device)

    def forward(self, x):
        x = x + self.self_attn(self.layer_norm1(x))
        return x + self.mlp(self.layer_norm2(x))


class CLIPEncoder(nn.Module):
    def __init__(self, cfg: CLIPVisionConfig, device=None):
        super().__init__()
        self.layers = nn.ModuleList(CLIPEncoderLayer(cfg, device) for _ in range(cfg.layers))

    def forward(self, x):
        for layer in self.layers:
            x = layer(x)
        return x


class CLIPVisionEmbeddings(nn.Module):
    """Token 0 is the class embedding; tokens 1.. are the patches in row-major order (row by row, left to right)."""

    def __init__(self, cfg: CLIPVisionConfig, device=None):
        super().__init__()
        self.class_embedding = nn.Parameter(torch.randn(cfg.hidden, device=device))
        self.patch_embedding = nn.Conv2d(3, cfg.hidden, cfg.patch, stride=cfg.patch, bias=False, device=device)
        self.position_embedding = nn.Embedding(cfg.tokens, cfg.hidden, device=device)

    def forward(self, pixels):
        patches = self.patch_embedding(pixels).flatten(2).transpose(1, 2)
        cls = self.class_embedding.expand(pixels.shape[0], 1, -1).to(patches.dtype)
        return torch.cat((cls, patches), dim=1) + self.position_embedding.weight[None]


class CLIPVisionTransformer(nn.Module):
    def __init__(self, cfg: CLIPVisionConfig, device=None):
        super().__init__()
        self.embeddings = CLIPVisionEmbeddings(cfg, device)
        self.pre_layrnorm = nn.LayerNorm(cfg.hidden, eps=1e-5, device=device)  # sic: HF's key name
        self.encoder = CLIPEncoder(cfg, device)
        self.post_layernorm = nn.LayerNorm(cfg.hidden, eps=1e-5, device=device)

    def forward(self, pixels):
        return self.encoder(self.pre_layrnorm(self.embeddings(pixels)))  # last_hidden_state, before post_layernorm


class ClipImageEmbedder(nn.Module):
    """image [B,3,S,S] in [0,1] -> image_embeds [B,257,768]: bicubic resize to 224 (no antialias; a square image
    needs no crop after it), CLIP mean/std, the vision tower, then post_layernorm and visual_projection on every
    token. No normalisation: the host divides by token 0's norm as MindEye's Clipper does."""

    def __init__(self, cfg: CLIPVisionConfig, device=None):
        super().__init__()
        self.image_size = cfg.image_size
        self.vision_model = CLIPVisionTransformer(cfg, device)
        self.visual_projection = nn.Linear(cfg.hidden, cfg.projection_dim, bias=False, device=device)
        self.register_buffer("mean", torch.tensor(CLIP_MEAN, device=device).reshape(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(CLIP_STD, device=device).reshape(1, 3, 1, 1), persistent=False)

    def forward(self, image):
        size = (self.image_size, self.image_size)
        pixels = F.interpolate(image, size=size, mode="bicubic", align_corners=False)
        pixels = (pixels - self.mean.to(pixels.dtype)) / self.std.to(pixels.dtype)
        hidden = self.vision_model(pixels)
        return self.visual_projection(self.vision_model.post_layernorm(hidden))
