/**
 * One Spark Connect session for a run: Glacier's runner (`runner.py --serve`) as a Spark Connect
 * client in one Python process, which runs every job it is sent in the same session, so that a
 * run pays the client's start once and Spark's never (the server is already up).
 *
 * The conversation is JSON lines: the runner says it is ready (with the server's Spark UI), then
 * for each job that it is queued or running and how it ended; a job is stopped by interrupting
 * its tag. Closing stdin ends the session.
 *
 * @module
 */
import { join } from "node:path";
import { env } from "../../core/env.ts";
import type { SparkBatch, SparkJob } from "./job.ts";
import {
  resultOf,
  runnerPath,
  type SparkJobFailure,
  type SparkJobResult,
  type SubmitOutcome,
} from "./_submit.ts";

/** What a served job goes through before it ends: waiting for its turn, then running. */
export type ConnectJobState = "queued" | "running";

/** How one job runs in the session. */
export interface ConnectRunOptions {
  /** Interrupts the job on the server when aborted: a task's timeout. */
  readonly signal?: AbortSignal;
  /** Told when the job waits for its turn and when Spark starts it. */
  readonly onState?: (state: ConnectJobState) => void;
}

/** Thrown when the session cannot be opened or its client ended; carries the client's stderr. */
export class ConnectSessionError extends Error {
  /**
   * @param message what happened.
   * @param stderrTail the end of the client's stderr, for the cause.
   */
  constructor(message: string, readonly stderrTail: string) {
    super(message);
    this.name = "ConnectSessionError";
  }
}

/** Seconds a closing session waits for its client to release the session and exit. */
const CLOSE_SECONDS = 20;

/** Bytes of the client's stderr kept for messages. */
const STDERR_KEEP = 16 * 1024;

type Answer = Partial<SparkJobResult & SparkJobFailure> & {
  readonly id?: number;
  readonly event?: ConnectJobState;
  readonly ready?: boolean;
  readonly ui?: string | null;
  readonly version?: string;
};

interface Pending {
  readonly resolve: (outcome: SubmitOutcome) => void;
  readonly reject: (error: Error) => void;
  readonly onState?: (state: ConnectJobState) => void;
}

/**
 * The Python that runs the Spark Connect client: `PYSPARK_PYTHON`, else the Python of the
 * environment `glacier stack up` installs (`.glacier/venv-spark`), else `python3`.
 *
 * @returns the interpreter's path or name.
 */
export function connectPython(): string {
  const configured = env("PYSPARK_PYTHON");
  if (configured) return configured;
  const venv = join(Deno.cwd(), ".glacier", "venv-spark", "bin", "python");
  try {
    if (Deno.statSync(venv).isFile) return venv;
  } catch {
    // No venv here.
  }
  return "python3";
}

/** A Spark Connect session held by one run: jobs in, outcomes out. */
export class SparkConnectSession {
  readonly #child: Deno.ChildProcess;
  readonly #stdin: WritableStreamDefaultWriter<Uint8Array>;
  readonly #pending = new Map<number, Pending>();
  readonly #stderr: { text: string };
  readonly #ended: Promise<void>;
  #next = 1;
  #closed = false;

  /** The server's Spark UI (`http://host:port`), when it has one. */
  readonly ui: string | undefined;
  /** The server's Spark version. */
  readonly version: string;

  private constructor(
    child: Deno.ChildProcess,
    lines: AsyncIterator<string>,
    stderr: { text: string },
    ready: Answer,
  ) {
    this.#child = child;
    this.#stdin = child.stdin.getWriter();
    this.#stderr = stderr;
    this.ui = ready.ui ?? undefined;
    this.version = ready.version ?? "";
    this.#ended = this.#dispatch(lines);
  }

  /**
   * Starts the client and opens the session.
   *
   * @param remote the server, `sc://host:port`.
   * @param python the client's Python; it must import pyspark 4 with its Connect dependencies.
   * @returns the open session.
   * @throws {Deno.errors.NotFound} when the Python cannot be started.
   * @throws {ConnectSessionError} when the client cannot reach the server, with its message.
   */
  static async open(remote: string, python: string): Promise<SparkConnectSession> {
    const child = new Deno.Command(python, {
      args: [await runnerPath(), "--serve", remote],
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const stderr = { text: "" };
    keepTail(child.stderr, stderr);
    const lines = readLines(child.stdout);
    const first = await lines.next();
    const ready: Answer | undefined = first.done ? undefined : parse(first.value);
    if (ready?.ready !== true) {
      await child.stdin.close().catch(() => {});
      const status = await child.status;
      throw new ConnectSessionError(
        ready?.error ?? `the Spark Connect client exited with status ${status.code}`,
        stderr.text,
      );
    }
    return new SparkConnectSession(child, lines, stderr, ready);
  }

  /**
   * Runs one job (or a batch of them, one after another) in the session.
   *
   * @param job the job or batch.
   * @param options a signal that interrupts it, and who to tell of its state.
   * @returns the runner's result or its failure.
   * @throws {ConnectSessionError} when the client ended before answering.
   */
  run(job: SparkJob | SparkBatch, options: ConnectRunOptions = {}): Promise<SubmitOutcome> {
    if (this.#closed) {
      return Promise.reject(new ConnectSessionError("the Spark Connect session is closed", ""));
    }
    const id = this.#next++;
    const outcome = new Promise<SubmitOutcome>((resolve, reject) => {
      this.#pending.set(id, { resolve, reject, onState: options.onState });
    });
    const interrupt = () => this.#send({ interrupt: id }).catch(() => {});
    options.signal?.addEventListener("abort", interrupt, { once: true });
    this.#send({ id, job }).catch((error) => this.#fail(error as Error));
    return outcome.finally(() => options.signal?.removeEventListener("abort", interrupt));
  }

  /** Ends the session: the client releases it on the server and exits (killed if it hangs). */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#stdin.close().catch(() => {});
    const timer = setTimeout(() => {
      try {
        this.#child.kill("SIGKILL");
      } catch {
        // Already gone.
      }
    }, CLOSE_SECONDS * 1000);
    try {
      await this.#child.status;
      await this.#ended;
    } finally {
      clearTimeout(timer);
    }
  }

  async #send(request: unknown): Promise<void> {
    await this.#stdin.write(new TextEncoder().encode(JSON.stringify(request) + "\n"));
  }

  async #dispatch(lines: AsyncIterator<string>): Promise<void> {
    for (let line = await lines.next(); !line.done; line = await lines.next()) {
      const answer = parse(line.value);
      const pending = answer?.id === undefined ? undefined : this.#pending.get(answer.id);
      if (answer === undefined || pending === undefined || answer.id === undefined) continue;
      if (answer.event !== undefined) {
        pending.onState?.(answer.event);
      } else if (answer.error !== undefined) {
        this.#pending.delete(answer.id);
        pending.resolve({
          ok: false,
          failure: { error: answer.error, type: answer.type ?? "TaskError" },
        });
      } else {
        this.#pending.delete(answer.id);
        pending.resolve({
          ok: true,
          result: resultOf({ ...answer, rows: answer.rows ?? 0, bytes: answer.bytes ?? 0 })!,
        });
      }
    }
    const status = await this.#child.status;
    this.#fail(
      new ConnectSessionError(
        `the Spark Connect client exited with status ${status.code} before it answered`,
        this.#stderr.text,
      ),
    );
  }

  #fail(error: Error): void {
    for (const pending of this.#pending.values()) pending.reject(error);
    this.#pending.clear();
  }
}

function parse(line: string): Answer | undefined {
  if (!line.startsWith("{")) return undefined;
  try {
    return JSON.parse(line) as Answer;
  } catch {
    return undefined;
  }
}

async function* readLines(stream: ReadableStream<Uint8Array>): AsyncGenerator<string> {
  let buffered = "";
  for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
    buffered += chunk;
    let end = buffered.indexOf("\n");
    while (end >= 0) {
      yield buffered.slice(0, end);
      buffered = buffered.slice(end + 1);
      end = buffered.indexOf("\n");
    }
  }
  if (buffered !== "") yield buffered;
}

/** Reads a stream to its end in the background, keeping its last bytes as text. */
async function keepTail(stream: ReadableStream<Uint8Array>, kept: { text: string }): Promise<void> {
  for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
    kept.text = (kept.text + chunk).slice(-STDERR_KEEP);
  }
}
