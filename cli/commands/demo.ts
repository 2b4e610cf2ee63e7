import { Command } from "commander";
import { loadConfig } from "../../core/config.ts";
import { runReconstructionDemo } from "../demo/reconstruction-demo.ts";
import { runRetrievalDemo } from "../demo/retrieval-demo.ts";
import { wholeNumber } from "../demo/sim-truth.ts";
import { labClient } from "../lab-connection.ts";

interface DemoFlags {
  api?: string;
  key?: string;
  session: string;
  show: string;
  k: string;
  out?: string;
  reconstruct?: boolean;
  model?: string;
  images: string;
  samples: string;
  seed: string;
}

/**
 * `mindeye demo`: what a lab does with the running API, on held-out data of the simulated subject, drawn as
 * a figure (cli/demo/): retrieval by default, reconstruction with --reconstruct.
 */
export function demoCommand(): Command {
  return new Command("demo")
    .description(
      "upload held-out sim01 sessions to the running API and draw a figure: each test trial's image retrieved " +
        "(seen image | ranked candidates with scores), or with --reconstruct each test image reconstructed " +
        "(seen | blurry | best | candidates with CLIP scores, PixCorr, SSIM and two-way identification)",
    )
    .option("--api <url>", "the API's base URL (default: $MINDEYE_API_URL or http://127.0.0.1:8787)")
    .option("--key <key>", "API key (default: $MINDEYE_API_KEY or <data dir>/local-api-key)")
    .option(
      "--out <file.png>",
      "where to write the figure (default: sim01-retrieval.png or sim01-reconstruction.png here)",
    )
    .option("--show <n>", "rows to print and draw (1-30)", "6")
    .option("--session <n>", "retrieval: which session (0-based)", "0")
    .option(
      "-k, --k <n>",
      "retrieval: candidates per trial (1-10); reconstruction: candidates drawn (0-8)",
      "5",
    )
    .option("--reconstruct", "reconstruct held-out test images instead (POST /v1/reconstructions)")
    .option("--model <id>", "reconstruction: a model that can reconstruct (default: the simulated subject's)")
    .option("--images <n>", "reconstruction: held-out test images to reconstruct and score (2-300)", "30")
    .option("--samples <n>", "reconstruction: candidates decoded per image (1-16)", "16")
    .option("--seed <n>", "reconstruction: the sampling seed", "42")
    .action(async (flags: DemoFlags) => {
      const dataDir = loadConfig().dataDir;
      const show = wholeNumber(flags.show, "--show", 1, 30);
      if (flags.reconstruct) {
        const options = {
          dataDir,
          model: flags.model,
          images: wholeNumber(flags.images, "--images", 2, 300),
          show,
          candidates: wholeNumber(flags.k, "--k", 0, 8),
          samples: wholeNumber(flags.samples, "--samples", 1, 16),
          seed: wholeNumber(flags.seed, "--seed", 0, 2 ** 32 - 1),
          out: flags.out ?? "sim01-reconstruction.png",
        };
        await runReconstructionDemo(await labClient(flags), options);
        return;
      }
      const options = {
        dataDir,
        session: wholeNumber(flags.session, "--session", 0, 99),
        show,
        k: wholeNumber(flags.k, "--k", 1, 10),
        out: flags.out ?? "sim01-retrieval.png",
      };
      await runRetrievalDemo(await labClient(flags), options);
    });
}
