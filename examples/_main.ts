/**
 * The command line every example shares: `deno run -A examples/X.ts MODE [options]`. It writes
 * the example's sample inputs when they are absent (to S3 with `--mode cloud`), then hands over
 * to the `glacier` command, which finds the pipelines the example exports.
 *
 * @module
 */
import { type Bucket, NoDataError, pl } from "../mod.ts";
import { main } from "../src/cli/main.ts";

/** A bucket that an example fills with sample data when it has none. */
export interface Seed {
  /** The bucket. */
  readonly bucket: Bucket;
  /** Makes the sample rows (of one partition, for a partitioned bucket). */
  readonly rows: (partition: Readonly<Record<string, string>>) => pl.DataFrame;
  /** For a partitioned bucket: the partitions to fill, each when it has no data. */
  readonly partitions?: readonly Readonly<Record<string, string>>[];
}

/** What an example offers to its command line. */
export interface Example {
  /** The example module's URL (`import.meta.url`). */
  readonly module: string;
  /** Sample inputs. */
  readonly seeds: readonly Seed[];
  /** Buckets whose contents `run` prints at the end. */
  readonly show: readonly Bucket[];
  /** The modes this example accepts. */
  readonly modes: readonly string[];
}

/**
 * Runs an example in the mode given as its first argument.
 *
 * @param example the example.
 * @param args the command-line arguments: the mode, then options for the `glacier` command.
 * @returns the exit status.
 */
export async function runExample(example: Example, args: readonly string[]): Promise<number> {
  const [mode = "run", ...options] = args;
  if (!example.modes.includes(mode)) {
    console.error(
      `usage: deno run -A ${new URL(example.module).pathname} ${example.modes.join("|")}`,
    );
    return 2;
  }
  const storage = options.includes("--mode=cloud") ||
      options.some((o, i) => o === "--mode" && options[i + 1] === "cloud")
    ? "cloud"
    : "local";
  if (mode === "run") {
    for (const seed of example.seeds) await seedIfAbsent(seed, storage);
  }
  const extra = mode === "generate" && !options.includes("--out") ? ["--out", "terraform"] : [];
  const status = await main([example.module, mode, ...options, ...extra]);
  if (mode === "run" && status === 0) {
    pl.Config.setTblRows(40);
    for (const bucket of example.show) {
      console.log(`\n${bucket.location}:`);
      console.log((await bucket.read({ mode: storage })).toString());
    }
  }
  return status;
}

async function seedIfAbsent(seed: Seed, mode: "local" | "cloud"): Promise<void> {
  let written = 0;
  for (const partition of seed.partitions ?? [undefined]) {
    try {
      await seed.bucket.read({ mode, ...(partition ? { partition } : {}) });
    } catch (error) {
      if (!(error instanceof NoDataError)) throw error;
      const report = await seed.bucket.write(seed.rows(partition ?? {}), {
        mode,
        ...(partition ? { partition } : {}),
      });
      if (!partition) console.log(`wrote sample input ${report.uri}: ${report.rows} rows`);
      written += 1;
    }
  }
  if (seed.partitions && written > 0) {
    console.log(
      `wrote sample input ${seed.bucket.location}: ${written} partitions`,
    );
  }
}
