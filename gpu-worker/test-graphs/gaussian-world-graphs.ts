/**
 * Exact denoisers of Gaussian worlds (reference §5.1) as ONNX graphs with the bundle's `prior` and `unet`
 * signatures, so a sampler test runs the same ORT session calls the pipeline makes. Data x₀ ~ N(μ, σ² I)
 * per coordinate, forward x_t = a_t x₀ + s_t ε with a_t = √ᾱ_t, s_t = √(1 − ᾱ_t), V_t = a_t² σ² + s_t²:
 *   x̂₀ = μ + a_t σ² (x_t − a_t μ) / V_t        ε̂ = s_t (x_t − a_t μ) / V_t
 * ᾱ comes from a table indexed by the (float) timestep input, so a test can hand any grid.
 */
import {
  castToInt64,
  floatInput,
  floatTensor,
  int,
  int64Tensor,
  ints,
  model,
  type NodeProto,
  node,
  scalar,
} from "./onnx-builder.ts";

/** a_t, s_t and (x − a_t μ)/V_t from inputs `x`, `mu`, `timestep`, broadcast over a tensor of `rank`. */
function denoiserCore(rank: number) {
  const initializer = [
    int64Tensor("broadcast_shape", [-1, ...Array<number>(rank - 1).fill(1)]),
    scalar("one", 1),
  ];
  const nodes: NodeProto[] = [
    castToInt64("timestep", "t_index"),
    node("Gather", ["alphas_cumprod", "t_index"], ["acp_flat"], [int("axis", 0)]),
    node("Reshape", ["acp_flat", "broadcast_shape"], ["acp"]),
    node("Sqrt", ["acp"], ["a"]),
    node("Sub", ["one", "acp"], ["s2"]),
    node("Sqrt", ["s2"], ["s"]),
    node("Mul", ["acp", "sigma2"], ["acp_sigma2"]),
    node("Add", ["acp_sigma2", "s2"], ["V"]),
    node("Mul", ["a", "mu"], ["a_mu"]),
    node("Sub", ["x", "a_mu"], ["centred"]),
    node("Div", ["centred", "V"], ["centred_over_V"]),
  ];
  return { initializer, nodes };
}

export interface GaussianPriorWorld {
  /** ᾱ indexed by the prior's timestep input (D2P feeds float t = 0 … T−1). */
  alphasCumprod: Float32Array;
  sigma: number;
  tokens: number;
  dim: number;
}

/** `prior`: the world's mean is the brain embedding itself, so the conditioning visibly steers samples. */
export function gaussianPriorGraph(world: GaussianPriorWorld): Uint8Array {
  const { tokens, dim } = world;
  const core = denoiserCore(3);
  return model("gaussian_prior", {
    initializer: [
      ...core.initializer,
      floatTensor("alphas_cumprod", [world.alphasCumprod.length], world.alphasCumprod),
      scalar("sigma2", world.sigma ** 2),
    ],
    node: [
      node("Identity", ["noisy_image_embed"], ["x"]),
      node("Identity", ["brain_embed"], ["mu"]),
      ...core.nodes,
      node("Mul", ["a", "sigma2"], ["a_sigma2"]),
      node("Mul", ["a_sigma2", "centred_over_V"], ["shrink"]),
      node("Add", ["mu", "shrink"], ["pred_image_embed"]),
    ],
    input: [
      floatInput("noisy_image_embed", ["batch", tokens, dim]),
      floatInput("timestep", ["batch"]),
      floatInput("brain_embed", ["batch", tokens, dim]),
    ],
    output: [floatInput("pred_image_embed", ["batch", tokens, dim])],
  });
}

export interface GaussianDecoderWorld {
  /** ᾱ indexed by the UNet's timestep input (diffusers feeds t = 0 … 999; a test may index its own grid). */
  alphasCumprod: Float32Array;
  sigma: number;
  /** The mean under an all-zero context (MindEye's unconditional). */
  muUnconditional: number;
  channels: number;
  height: number;
  width: number;
  tokens: number;
  dim: number;
}

/**
 * `unet`: μ = μ_u + mean(encoder_hidden_states) per row, so the zero context is the unconditional world
 * and a context filled with c is the world μ_u + c. ε̂ is linear in μ, which makes guidance exact (§5.4).
 */
export function gaussianUnetGraph(world: GaussianDecoderWorld): Uint8Array {
  const { channels, height, width, tokens, dim } = world;
  const core = denoiserCore(4);
  return model("gaussian_unet", {
    initializer: [
      ...core.initializer,
      floatTensor("alphas_cumprod", [world.alphasCumprod.length], world.alphasCumprod),
      scalar("sigma2", world.sigma ** 2),
      scalar("mu_unconditional", world.muUnconditional),
    ],
    node: [
      node("Identity", ["sample"], ["x"]),
      node(
        "ReduceMean",
        ["encoder_hidden_states"],
        ["context_mean"],
        [ints("axes", [1, 2]), int("keepdims", 0)],
      ),
      node("Reshape", ["context_mean", "broadcast_shape"], ["context_offset"]),
      node("Add", ["mu_unconditional", "context_offset"], ["mu"]),
      ...core.nodes,
      node("Mul", ["s", "centred_over_V"], ["eps"]),
    ],
    input: [
      floatInput("sample", ["batch", channels, height, width]),
      floatInput("timestep", ["batch"]),
      floatInput("encoder_hidden_states", ["batch", tokens, dim]),
    ],
    output: [floatInput("eps", ["batch", channels, height, width])],
  });
}
