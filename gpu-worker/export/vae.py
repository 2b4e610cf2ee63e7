"""The kl-f8 SD VAE (`AutoencoderKL`, diffusers 0.13 key names) as two graphs: encoder to the posterior's
moments, decoder from a latent. Sampling the posterior and the x0.18215 scale stay on the host (reference §1.2)."""

from torch import nn

from configs import VAEConfig
from diffusers_blocks import Decoder, Encoder

# diffusers clamps the posterior's log-variance to this range before exponentiating it
LOGVAR_MIN, LOGVAR_MAX = -30.0, 20.0


class VaeEncoder(nn.Module):
    """image [B,3,H,W] (whatever the caller sends) -> mean, logvar [B,4,H/f,W/f]; keys `encoder.*`, `quant_conv.*`."""

    def __init__(self, cfg: VAEConfig, device=None):
        super().__init__()
        self.encoder = Encoder(3, cfg.latent_channels, cfg.block_out_channels, cfg.layers_per_block, cfg.groups, device)
        moments = 2 * cfg.latent_channels
        self.quant_conv = nn.Conv2d(moments, moments, 1, device=device)

    def forward(self, image):
        mean, logvar = self.quant_conv(self.encoder(image)).chunk(2, dim=1)
        return mean, logvar.clamp(LOGVAR_MIN, LOGVAR_MAX)


class VaeDecoder(nn.Module):
    """latent [B,4,h,w] (already divided by 0.18215) -> the decoder's raw image [B,3,H,W], about [-1, 1];
    keys `post_quant_conv.*`, `decoder.*`."""

    def __init__(self, cfg: VAEConfig, device=None):
        super().__init__()
        c = cfg.latent_channels
        self.post_quant_conv = nn.Conv2d(c, c, 1, device=device)
        self.decoder = Decoder(c, 3, cfg.block_out_channels, cfg.layers_per_block + 1, cfg.groups, device)

    def forward(self, latent):
        return self.decoder(self.post_quant_conv(latent))
