/**
 * Installing the stack's Go programs (versitygw, the Lambda Runtime Interface Emulator) from
 * source at a pinned version with `go install`, into `.glacier/bin/`.
 *
 * @module
 */
import { basename, dirname, join } from "node:path";
import { tail } from "./process.ts";

/** What {@linkcode goInstall} builds and where it puts it. */
export interface GoInstallOptions {
  /** The Go package of the command, e.g. `github.com/versity/versitygw/cmd/versitygw`. */
  readonly package: string;
  /** The module version to build, e.g. `v1.8.0` or a pseudo-version. */
  readonly version: string;
  /** Where the binary goes; its file name must be the command's name (the package's last part). */
  readonly bin: string;
  /** Linker flags, such as `-X main.Version=...`. */
  readonly ldflags?: string;
  /** What to install when `go` is missing, e.g. "Go 1.25 or newer (https://go.dev/dl/)". */
  readonly goRequirement: string;
}

/**
 * Builds `package@version` with `go install` and moves the binary to `bin`. It builds into a
 * private directory and renames into place, so that concurrent installs (parallel test files)
 * never expose a half-written binary.
 *
 * @param options the package, version, destination and linker flags
 * @throws {Error} when `go` is not on PATH or the build fails, with the end of go's output
 * @example
 * ```ts ignore
 * await goInstall({
 *   package: "github.com/versity/versitygw/cmd/versitygw",
 *   version: "v1.8.0",
 *   bin: ".glacier/bin/versitygw",
 *   goRequirement: "Go 1.25 or newer",
 * });
 * ```
 */
export async function goInstall(options: GoInstallOptions): Promise<void> {
  const target = `${options.package}@${options.version}`;
  await Deno.mkdir(dirname(options.bin), { recursive: true });
  const gobin = await Deno.makeTempDir({ dir: dirname(options.bin), prefix: ".install-" });
  try {
    let output: Deno.CommandOutput;
    try {
      output = await new Deno.Command("go", {
        args: [
          "install",
          ...(options.ldflags ? [`-ldflags=${options.ldflags}`] : []),
          target,
        ],
        env: { GOBIN: gobin, GOFLAGS: "-buildvcs=false" },
        stdin: "null",
      }).output();
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound)) throw error;
      throw new Error(
        `${
          basename(options.bin)
        } ${options.version} is not installed at '${options.bin}' and 'go' ` +
          `is not on PATH: install ${options.goRequirement} and run again`,
      );
    }
    if (!output.success) {
      const stderr = tail(new TextDecoder().decode(output.stderr), 20);
      throw new Error(`go install ${target} failed (exit ${output.code}):\n${stderr}`);
    }
    await Deno.rename(join(gobin, basename(options.package)), options.bin);
  } finally {
    await Deno.remove(gobin, { recursive: true }).catch(() => {});
  }
}
