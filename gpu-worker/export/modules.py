"""MindEye1 inference modules, written from the reference sheet (docs/mindeye-reference.md §2).

Attribute names follow the official checkpoints' state-dict keys (ME1 `models.py`, DALLE2-pytorch 1.14.2,
diffusers 0.13 `Decoder`), so a checkpoint loads by key without renaming. Dropout is absent: these are
inference graphs. Every constructor takes `device` so a full-width model can be built on `meta` for counting.
"""

import math

import torch
import torch.nn.functional as F
from torch import nn

from configs import MindEye1Config
from diffusers_blocks import Decoder

# ---------------------------------------------------------------------------------------------- voxel2clip


class BrainNetwork(nn.Module):
    """voxels (B, V) -> backbone (B, T, D) for the prior, and projector(backbone) (B, T, D) for retrieval."""

    def __init__(self, cfg: MindEye1Config, device=None):
        super().__init__()
        h, d = cfg.hidden, cfg.clip_dim
        self.tokens, self.dim = cfg.clip_tokens, d
        self.lin0 = nn.Sequential(nn.Linear(cfg.voxels, h, device=device), nn.LayerNorm(h, device=device), nn.GELU())
        self.mlp = nn.ModuleList(
            nn.Sequential(nn.Linear(h, h, device=device), nn.LayerNorm(h, device=device), nn.GELU())
            for _ in range(cfg.blocks)
        )
        self.lin1 = nn.Linear(h, cfg.clip_tokens * d, device=device)
        p = cfg.projector_hidden
        self.projector = nn.Sequential(
            nn.LayerNorm(d, device=device),
            nn.GELU(),
            nn.Linear(d, p, device=device),
            nn.LayerNorm(p, device=device),
            nn.GELU(),
            nn.Linear(p, p, device=device),
            nn.LayerNorm(p, device=device),
            nn.GELU(),
            nn.Linear(p, d, device=device),
        )

    def backbone_parameters(self) -> int:
        return sum(p.numel() for name, p in self.named_parameters() if not name.startswith("projector."))

    def forward(self, voxels):
        x = self.lin0(voxels)
        for block in self.mlp:
            x = block(x) + x
        backbone = self.lin1(x).reshape(-1, self.tokens, self.dim)
        return backbone, self.projector(backbone)


# ---------------------------------------------------------------------------------------------- low-level


class Voxel2StableDiffusionModel(nn.Module):
    """voxels (B, V) -> Stable Diffusion VAE latent (B, 4, 64, 64) of the blurry low-level image."""

    def __init__(self, cfg: MindEye1Config, device=None):
        super().__init__()
        h = cfg.lowlevel_hidden
        self.channels, self.side = cfg.lowlevel_channels, cfg.lowlevel_side
        self.lin0 = nn.Sequential(
            nn.Linear(cfg.voxels, h, bias=False, device=device), nn.LayerNorm(h, device=device), nn.SiLU()
        )
        self.mlp = nn.ModuleList(
            nn.Sequential(nn.Linear(h, h, bias=False, device=device), nn.LayerNorm(h, device=device), nn.SiLU())
            for _ in range(cfg.lowlevel_blocks)
        )
        self.lin1 = nn.Linear(h, self.channels * self.side * self.side, bias=False, device=device)
        self.norm = nn.GroupNorm(1, self.channels, device=device)
        self.upsampler = Decoder(
            self.channels, cfg.latent_channels, cfg.decoder_channels, 2, cfg.decoder_groups, device
        )

    def forward(self, voxels):
        x = self.lin0(voxels)
        for block in self.mlp:
            x = block(x) + x
        x = self.lin1(x).reshape(-1, self.channels, self.side, self.side)
        return self.upsampler(self.norm(x))


# ---------------------------------------------------------------------------------------------- prior


class GainLayerNorm(nn.Module):
    """DALLE2-pytorch LayerNorm: gain only, no bias; `stable` first divides by the row's max."""

    def __init__(self, dim: int, stable: bool = False, device=None):
        super().__init__()
        self.stable = stable
        self.g = nn.Parameter(torch.ones(dim, device=device))

    def forward(self, x):
        eps = 1e-5 if x.dtype == torch.float32 else 1e-3
        if self.stable:
            x = x / x.amax(dim=-1, keepdim=True)
        mean = x.mean(dim=-1, keepdim=True)
        var = ((x - mean) ** 2).mean(dim=-1, keepdim=True)
        return (x - mean) * torch.rsqrt(var + eps) * self.g


def rotary_tables(positions: int, rot_dim: int):
    """cos/sin (positions, rot_dim) of rotary-embedding-torch: theta 10000, each frequency used by a pair."""
    freqs = 1.0 / (10000 ** (torch.arange(0, rot_dim, 2).float() / rot_dim))
    angles = torch.arange(positions).float()[:, None] * freqs[None, :]
    angles = angles.repeat_interleave(2, dim=-1)
    return angles.cos(), angles.sin()


def apply_rotary(t, cos, sin):
    """Rotate the first rot_dim features of t (..., n, d) as interleaved pairs (x0, x1) -> (-x1, x0)."""
    rot = cos.shape[-1]
    head, rest = t[..., :rot], t[..., rot:]
    pairs = head.reshape(head.shape[:-1] + (rot // 2, 2))
    rotated = torch.stack((-pairs[..., 1], pairs[..., 0]), dim=-1).reshape(head.shape)
    return torch.cat((head * cos + rotated * sin, rest), dim=-1)


def t5_buckets(queries: int, keys: int, num_buckets: int = 32, max_distance: int = 128):
    """DALLE2-pytorch's RelPosBias buckets (one-sided: keys after the query share bucket 0), as a constant."""
    rel = torch.arange(keys)[None, :] - torch.arange(queries)[:, None]
    n = torch.clamp(-rel, min=0)
    max_exact = num_buckets // 2
    scaled = torch.log(n.float().clamp(min=1) / max_exact) / math.log(max_distance / max_exact)
    large = max_exact + (scaled * (num_buckets - max_exact)).long()
    large = torch.clamp(large, max=num_buckets - 1)
    return torch.where(n < max_exact, n, large)


class RelPosBias(nn.Module):
    def __init__(self, heads: int, device=None):
        super().__init__()
        self.relative_attention_bias = nn.Embedding(32, heads, device=device)

    def forward(self, buckets):
        return self.relative_attention_bias(buckets).permute(2, 0, 1)  # (heads, queries, keys)


class Attention(nn.Module):
    """Multi-query cosine-similarity attention (one K/V head of dim_head shared by all heads), with a learned
    null key/value prepended, rotary embedding on q and k, and a LayerNorm after the output projection."""

    def __init__(self, dim: int, heads: int, dim_head: int, device=None):
        super().__init__()
        self.heads, self.dim_head = heads, dim_head
        self.scale = 16.0
        self.norm = GainLayerNorm(dim, device=device)
        self.null_kv = nn.Parameter(torch.randn(2, dim_head, device=device))
        self.to_q = nn.Linear(dim, heads * dim_head, bias=False, device=device)
        self.to_kv = nn.Linear(dim, 2 * dim_head, bias=False, device=device)
        self.to_out = nn.Sequential(
            nn.Linear(heads * dim_head, dim, bias=False, device=device), GainLayerNorm(dim, device=device)
        )

    def forward(self, x, bias, cos, sin):
        b, n, _ = x.shape
        x = self.norm(x)
        q = self.to_q(x).reshape(b, n, self.heads, self.dim_head).transpose(1, 2)
        k, v = self.to_kv(x).chunk(2, dim=-1)
        q, k = apply_rotary(q, cos, sin), apply_rotary(k, cos, sin)
        null_k = self.null_kv[0].expand(b, 1, self.dim_head)
        null_v = self.null_kv[1].expand(b, 1, self.dim_head)
        k, v = torch.cat((null_k, k), dim=1), torch.cat((null_v, v), dim=1)
        root = math.sqrt(self.scale)
        q, k = F.normalize(q, dim=-1) * root, F.normalize(k, dim=-1) * root
        sim = q @ k.unsqueeze(1).transpose(-1, -2) + bias
        attn = torch.softmax(sim.float(), dim=-1).to(x.dtype)
        out = (attn @ v.unsqueeze(1)).transpose(1, 2).reshape(b, n, self.heads * self.dim_head)
        return self.to_out(out)


class SwiGLU(nn.Module):
    def forward(self, x):
        x, gate = x.chunk(2, dim=-1)
        return x * F.silu(gate)


def feed_forward(dim: int, mult: int, device=None) -> nn.Sequential:
    inner = dim * mult
    # indices 3 and 4 hold the (absent) post-activation norm and dropout, keeping checkpoint key positions
    return nn.Sequential(
        GainLayerNorm(dim, device=device),
        nn.Linear(dim, inner * 2, bias=False, device=device),
        SwiGLU(),
        nn.Identity(),
        nn.Identity(),
        nn.Linear(inner, dim, bias=False, device=device),
    )


class Transformer(nn.Module):
    def __init__(self, cfg: MindEye1Config, seq_len: int, device=None):
        super().__init__()
        dim = cfg.clip_dim
        self.rel_pos_bias = RelPosBias(cfg.prior_heads, device)
        self.layers = nn.ModuleList(
            nn.ModuleList(
                [
                    Attention(dim, cfg.prior_heads, cfg.prior_dim_head, device),
                    feed_forward(dim, cfg.prior_ff_mult, device),
                ]
            )
            for _ in range(cfg.prior_depth)
        )
        self.norm = GainLayerNorm(dim, stable=True, device=device)
        self.project_out = nn.Linear(dim, dim, bias=False, device=device)
        # Position-only constants, computed once here instead of in the graph (log/where/long on ints).
        self.register_buffer("buckets", t5_buckets(seq_len, seq_len + 1), persistent=False)
        cos, sin = rotary_tables(seq_len, min(32, cfg.prior_dim_head))
        self.register_buffer("rotary_cos", cos, persistent=False)
        self.register_buffer("rotary_sin", sin, persistent=False)

    def forward(self, x):
        bias = self.rel_pos_bias(self.buckets).to(x.dtype)
        cos, sin = self.rotary_cos.to(x.dtype), self.rotary_sin.to(x.dtype)
        for attn, ff in self.layers:
            x = attn(x, bias, cos, sin) + x
            x = ff(x) + x
        return self.project_out(self.norm(x))


class SinusoidalPosEmb(nn.Module):
    def __init__(self, dim: int):
        super().__init__()
        self.dim = dim

    def forward(self, t):
        half = self.dim // 2
        freqs = torch.exp(torch.arange(half, dtype=torch.float32) * -(math.log(10000) / (half - 1)))
        angles = t.float()[:, None] * freqs[None, :]
        return torch.cat((angles.sin(), angles.cos()), dim=-1)


class TimeMLP(nn.Module):
    """DALLE2-pytorch MLP(dim, dim): two SiLU layers at twice the width, then back to dim."""

    def __init__(self, dim: int, device=None):
        super().__init__()
        hidden = 2 * dim
        self.net = nn.Sequential(
            nn.Sequential(nn.Linear(dim, hidden, device=device), nn.SiLU()),
            nn.Sequential(nn.Linear(hidden, hidden, device=device), nn.SiLU()),
            nn.Linear(hidden, dim, device=device),
        )

    def forward(self, x):
        return self.net(x)


class PriorNetwork(nn.Module):
    """One denoising step of MindEye1's diffusion prior (`VersatileDiffusionPriorNetwork`, learned_query_mode
    pos_emb, non-causal): (noisy image embed, timestep, brain embed) -> predicted clean image embed (x0).

    Tokens: [brain (T) | time (1) | noisy image + learned positional query (T)]; the last T outputs are
    the prediction. The null embeddings are kept as parameters (they are in the checkpoint) but unused:
    classifier-free guidance, if a sampler wants it, feeds them as the brain input."""

    def __init__(self, cfg: MindEye1Config, device=None):
        super().__init__()
        t, d = cfg.clip_tokens, cfg.clip_dim
        self.tokens = t
        self.to_time_embeds = nn.Sequential(nn.Sequential(SinusoidalPosEmb(d), TimeMLP(d, device)))
        self.learned_query = nn.Parameter(torch.randn(t, d, device=device) * d**-0.5)
        self.causal_transformer = Transformer(cfg, 2 * t + 1, device)
        self.null_brain_embeds = nn.Parameter(torch.randn(t, d, device=device))
        self.null_image_embed = nn.Parameter(torch.randn(t, d, device=device))

    def forward(self, noisy_image_embed, timestep, brain_embed):
        time_embed = self.to_time_embeds(timestep).to(noisy_image_embed.dtype).unsqueeze(1)
        image_tokens = noisy_image_embed + self.learned_query
        tokens = torch.cat((brain_embed, time_embed, image_tokens), dim=1)
        return self.causal_transformer(tokens)[:, -self.tokens :, :]
