/**
 * The static report: the run UI's page with every answer of its API embedded (the graph, every
 * bucket with its first rows, every run), written as one HTML file that opens from disk with no
 * server and no network, for CI artifacts.
 *
 * @module
 */
import { join } from "node:path";
import type { ModuleData } from "./module_data.ts";
import { buildPage } from "./page.ts";

/**
 * Writes the static report.
 *
 * @param data the module's data.
 * @param dir the directory to write `index.html` to (created when missing).
 * @returns the file written.
 */
export async function writeReport(data: ModuleData, dir: string): Promise<string> {
  const answers: Record<string, { answer: unknown } | { error: string }> = {};
  const record = async (path: string, read: () => Promise<unknown>) => {
    try {
      answers[path] = { answer: await read() };
    } catch (error) {
      answers[path] = { error: error instanceof Error ? error.message : String(error) };
    }
  };
  const module = await data.moduleView();
  answers["/api/module"] = { answer: module };
  const runs = await data.runsView();
  answers["/api/runs"] = { answer: runs };
  for (const run of runs.runs) {
    await record(`/api/runs/${encodeURIComponent(run.runId)}`, () => data.runView(run.runId));
  }
  for (const location of data.locations) {
    const query = `?location=${encodeURIComponent(location)}`;
    await record(`/api/bucket${query}`, () => data.bucketView(location, module));
    await record(`/api/rows${query}`, () => data.rowsView(location));
  }
  const page = await buildPage(data.name, answers);
  await Deno.mkdir(dir, { recursive: true });
  const file = join(dir, "index.html");
  await Deno.writeTextFile(file, page.html);
  return file;
}
