/**
 * The five graphs sim01 adds for reconstruction, with the bundle signatures reconstruct.ts calls (clip_image,
 * the stand-in CLIP, is onnx-graphs.ts's). `prior` and `unet` are the exact
 * denoisers of the fitted Gaussian worlds (recon-world.ts), so the samplers draw from known distributions:
 * - prior: x̂₀ = m + a v (x − a m) / (a² v + s²) per coordinate, m = s_e (μ_e + C (brain_embed − μ_b)),
 *   v = s_e² σ², s_e the manifest's image_embed_scale, a = √ᾱ_t, s² = 1 − ᾱ_t (cosine, 100 steps);
 * - unet: ε̂ = s U diag(1 / (a² λ + s²)) Uᵀ (x − a μ), μ = μ_z + g A (ẽ − μ_ẽ), g = 0 for an all-zero
 *   context (MindEye's unconditional half) and 1 otherwise; ᾱ from VD's scaled-linear schedule;
 * - lowlevel: voxels · W + b; vae_decoder / vae_encoder: the latent basis as 8×8-stride (transposed)
 *   convolutions, logvar a constant −20.
 */
import pkg from "onnx-proto";
import { DECODER_SCHEDULE } from "../../reconstruction/model-settings.ts";
import { cosineSchedule } from "../../samplers/cosine-schedule.ts";
import { scaledLinearSchedule } from "../../samplers/scaled-linear-schedule.ts";
import {
  castToInt64,
  floatInput,
  floatTensor,
  int,
  int64Tensor,
  ints,
  model,
  node,
  scalar,
} from "../../test-graphs/onnx-builder.ts";
import { EMBEDDING_VALUES, IMAGE_SIZE, TOKEN_DIM, TOKENS } from "../sim01-spec.ts";
import {
  BLOCK,
  decoderPattern,
  encoderPattern,
  LATENT_CHANNELS,
  LATENT_SIDE,
  LATENT_VALUES,
  VAE_SCALE_FACTOR,
} from "./latent-basis.ts";
import type { ReconWorld } from "./recon-world.ts";

const { onnx } = pkg;
const PRIOR_TIMESTEPS = 100;
/** D2P scales image embeddings by √dim; sim01's token dim is 32. */
export const IMAGE_EMBED_SCALE = Math.sqrt(TOKEN_DIM);
const LATENT_DIMS = ["batch", LATENT_CHANNELS, LATENT_SIDE, LATENT_SIDE];
const EMBED_DIMS = ["batch", TOKENS, TOKEN_DIM];

/** a = √ᾱ_t, s2 = 1 − ᾱ_t, s = √s2 from a float `timestep`, shaped by `shape` for broadcasting. */
function noiseLevel(shape: number[]) {
  return {
    initializer: [int64Tensor("level_shape", shape), scalar("one", 1)],
    nodes: [
      castToInt64("timestep", "t_index"),
      node("Gather", ["alphas_cumprod", "t_index"], ["acp_flat"], [int("axis", 0)]),
      node("Reshape", ["acp_flat", "level_shape"], ["acp"]),
      node("Sqrt", ["acp"], ["a"]),
      node("Sub", ["one", "acp"], ["s2"]),
      node("Sqrt", ["s2"], ["s"]),
    ],
  };
}

export function priorGraph(world: ReconWorld): Uint8Array {
  const { offset, map, variance } = world.prior;
  const level = noiseLevel([-1, 1, 1]);
  const tokens = [TOKENS, TOKEN_DIM];
  return model("sim01_prior", {
    initializer: [
      ...level.initializer,
      floatTensor("alphas_cumprod", [PRIOR_TIMESTEPS], cosineSchedule(PRIOR_TIMESTEPS).alphasCumprod),
      floatTensor(
        "offset",
        [EMBEDDING_VALUES],
        offset.map((v) => v * IMAGE_EMBED_SCALE),
      ),
      floatTensor(
        "map_t",
        [EMBEDDING_VALUES, EMBEDDING_VALUES],
        transposed(map, EMBEDDING_VALUES, EMBEDDING_VALUES).map((v) => v * IMAGE_EMBED_SCALE),
      ),
      floatTensor(
        "variance",
        tokens,
        variance.map((v) => v * IMAGE_EMBED_SCALE ** 2),
      ),
      int64Tensor("flat_shape", [-1, EMBEDDING_VALUES]),
      int64Tensor("token_shape", [-1, TOKENS, TOKEN_DIM]),
    ],
    node: [
      ...level.nodes,
      node("Reshape", ["brain_embed", "flat_shape"], ["brain_flat"]),
      node("MatMul", ["brain_flat", "map_t"], ["mapped"]),
      node("Add", ["mapped", "offset"], ["m_flat"]),
      node("Reshape", ["m_flat", "token_shape"], ["m"]),
      node("Mul", ["a", "m"], ["a_m"]),
      node("Sub", ["noisy_image_embed", "a_m"], ["centred"]),
      node("Mul", ["acp", "variance"], ["acp_v"]),
      node("Add", ["acp_v", "s2"], ["V"]),
      node("Mul", ["a", "variance"], ["a_v"]),
      node("Mul", ["a_v", "centred"], ["a_v_centred"]),
      node("Div", ["a_v_centred", "V"], ["shrink"]),
      node("Add", ["m", "shrink"], ["pred_image_embed"]),
    ],
    input: [
      floatInput("noisy_image_embed", EMBED_DIMS),
      floatInput("timestep", ["batch"]),
      floatInput("brain_embed", EMBED_DIMS),
    ],
    output: [floatInput("pred_image_embed", EMBED_DIMS)],
  });
}

/** [cols, rows] copy of a row-major [rows, cols] matrix. */
function transposed(m: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(m.length);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = m[r * cols + c]!;
  return out;
}

export function unetGraph(world: ReconWorld): Uint8Array {
  const d = world.decoder;
  const vp = scaledLinearSchedule(
    DECODER_SCHEDULE.trainTimesteps,
    DECODER_SCHEDULE.betaStart,
    DECODER_SCHEDULE.betaEnd,
  );
  const level = noiseLevel([-1, 1]);
  return model("sim01_unet", {
    initializer: [
      ...level.initializer,
      floatTensor("alphas_cumprod", [vp.alphasCumprod.length], vp.alphasCumprod),
      floatTensor("mu_latent", [LATENT_VALUES], d.muLatent),
      floatTensor("mu_condition", [EMBEDDING_VALUES], d.muCondition),
      floatTensor(
        "gain_t",
        [EMBEDDING_VALUES, LATENT_VALUES],
        transposed(d.gain, LATENT_VALUES, EMBEDDING_VALUES),
      ),
      floatTensor("eigenvalues", [LATENT_VALUES], d.eigenvalues),
      floatTensor("eigenvectors", [LATENT_VALUES, LATENT_VALUES], d.eigenvectors),
      floatTensor(
        "eigenvectors_t",
        [LATENT_VALUES, LATENT_VALUES],
        transposed(d.eigenvectors, LATENT_VALUES, LATENT_VALUES),
      ),
      int64Tensor("latent_flat", [-1, LATENT_VALUES]),
      int64Tensor("context_flat", [-1, EMBEDDING_VALUES]),
      int64Tensor("latent_shape", [-1, LATENT_CHANNELS, LATENT_SIDE, LATENT_SIDE]),
      scalar("zero", 0),
    ],
    node: [
      node("Reshape", ["sample", "latent_flat"], ["x"]),
      node("Reshape", ["encoder_hidden_states", "context_flat"], ["context"]),
      node("ReduceL1", ["context"], ["context_l1"], [ints("axes", [1]), int("keepdims", 1)]),
      node("Greater", ["context_l1", "zero"], ["conditioned"]),
      node("Cast", ["conditioned"], ["gate"], [int("to", onnx.TensorProto.DataType.FLOAT)]),
      node("Sub", ["context", "mu_condition"], ["context_centred"]),
      node("MatMul", ["context_centred", "gain_t"], ["deviation"]),
      node("Mul", ["gate", "deviation"], ["gated_deviation"]),
      node("Add", ["mu_latent", "gated_deviation"], ["mu"]),
      ...level.nodes,
      node("Mul", ["a", "mu"], ["a_mu"]),
      node("Sub", ["x", "a_mu"], ["centred"]),
      node("MatMul", ["centred", "eigenvectors"], ["projected"]),
      node("Mul", ["acp", "eigenvalues"], ["acp_lambda"]),
      node("Add", ["acp_lambda", "s2"], ["V"]),
      node("Div", ["projected", "V"], ["whitened"]),
      node("MatMul", ["whitened", "eigenvectors_t"], ["back"]),
      node("Mul", ["s", "back"], ["eps_flat"]),
      node("Reshape", ["eps_flat", "latent_shape"], ["eps"]),
    ],
    input: [
      floatInput("sample", LATENT_DIMS),
      floatInput("timestep", ["batch"]),
      floatInput("encoder_hidden_states", EMBED_DIMS),
    ],
    output: [floatInput("eps", LATENT_DIMS)],
  });
}

export function lowlevelGraph(world: ReconWorld, voxels: number): Uint8Array {
  return model("sim01_lowlevel", {
    initializer: [
      floatTensor("w_lowlevel", [voxels, LATENT_VALUES], world.lowlevel.weights),
      floatTensor("b_lowlevel", [LATENT_VALUES], world.lowlevel.bias),
      int64Tensor("latent_shape", [-1, LATENT_CHANNELS, LATENT_SIDE, LATENT_SIDE]),
    ],
    node: [
      node("MatMul", ["voxels", "w_lowlevel"], ["projected"]),
      node("Add", ["projected", "b_lowlevel"], ["latent_flat"]),
      node("Reshape", ["latent_flat", "latent_shape"], ["latent"]),
    ],
    input: [floatInput("voxels", ["batch", voxels])],
    output: [floatInput("latent", LATENT_DIMS)],
  });
}

/** [LATENT_CHANNELS, 3, BLOCK, BLOCK] kernel of `pattern`, times `gain`. */
function kernel(pattern: (latent: number, colour: number, x: number) => number, gain: number) {
  const out = new Float32Array(LATENT_CHANNELS * 3 * BLOCK * BLOCK);
  let i = 0;
  for (let l = 0; l < LATENT_CHANNELS; l++)
    for (let c = 0; c < 3; c++)
      for (let y = 0; y < BLOCK; y++) for (let x = 0; x < BLOCK; x++) out[i++] = gain * pattern(l, c, x);
  return out;
}

const IMAGE_DIMS = ["batch", 3, IMAGE_SIZE, IMAGE_SIZE];
const stride = [ints("kernel_shape", [BLOCK, BLOCK]), ints("strides", [BLOCK, BLOCK])];

/** The decoder sees latent / 0.18215; it returns 2x − 1, which the host maps back with /2 + 0.5. */
export function vaeDecoderGraph(world: ReconWorld): Uint8Array {
  return model("sim01_vae_decoder", {
    initializer: [
      floatTensor(
        "w_decoder",
        [LATENT_CHANNELS, 3, BLOCK, BLOCK],
        kernel(decoderPattern, world.latentScale * VAE_SCALE_FACTOR),
      ),
    ],
    node: [node("ConvTranspose", ["latent", "w_decoder"], ["image"], stride)],
    input: [floatInput("latent", LATENT_DIMS)],
    output: [floatInput("image", IMAGE_DIMS)],
  });
}

export function vaeEncoderGraph(world: ReconWorld): Uint8Array {
  return model("sim01_vae_encoder", {
    initializer: [
      floatTensor(
        "w_encoder",
        [LATENT_CHANNELS, 3, BLOCK, BLOCK],
        kernel(encoderPattern, 1 / (world.latentScale * VAE_SCALE_FACTOR)),
      ),
      scalar("zero", 0),
      scalar("logvar_value", -20),
    ],
    node: [
      node("Conv", ["image", "w_encoder"], ["mean"], stride),
      node("Mul", ["mean", "zero"], ["mean_zeroed"]),
      node("Add", ["mean_zeroed", "logvar_value"], ["logvar"]),
    ],
    input: [floatInput("image", IMAGE_DIMS)],
    output: [floatInput("mean", LATENT_DIMS), floatInput("logvar", LATENT_DIMS)],
  });
}
