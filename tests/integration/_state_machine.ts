/**
 * Test harness for generated state machines: runs the Amazon States Language definition that
 * generate plans for a pipeline through a real ASL interpreter (`aws-local-stepfunctions`, which
 * executes Task, Parallel, Map, Choice, Succeed and Fail states with their paths, retries and
 * catchers), with every `lambda:invoke` task state invoking the real Lambda artifact under the
 * Runtime Interface Emulator through the stack's Lambda router (`_lambda_stack.ts`), as Step
 * Functions' Lambda integration does: the state's `Parameters` name the function and give the
 * payload, the result is `{ Payload }`, and a function error is an error named by its type whose
 * cause is the function's error as JSON.
 *
 * The definition's Terraform references are resolved as `terraform apply` would: each function's
 * ARN to the function the stack serves, the state bucket to the stack's, the AWS partition to
 * `aws`.
 *
 * @module
 */
import { StateMachine } from "npm:aws-local-stepfunctions@3.0.0";
import { InvokeCommand, LambdaClient } from "../../src/backends/lambda/_sdk.ts";
import type { AslDefinition } from "../../src/core/deploy/state_machine.ts";

/** How an execution ended. */
export interface Execution {
  /** Its output, when it succeeded. */
  readonly output?: unknown;
  /** Its error's name and cause, when it failed. */
  readonly error?: { readonly name: string; readonly cause: string };
  /** Each state entered, in order, with its input and output. */
  readonly states: readonly { name: string; type: string; input?: unknown; output?: unknown }[];
}

/** Where the definition's functions and state bucket are. */
export interface StateMachineStack {
  /** The Lambda endpoint (the stack's router). */
  readonly endpoint: string;
  /** The region and credentials to invoke with. */
  readonly env: Readonly<Record<string, string>>;
  /** The stack's function for a Terraform function identifier (`run`, `task_<name>`). */
  functionOf(id: string): string;
}

/** Every Task state's name in a definition, nested ones included. */
function taskNames(states: Readonly<Record<string, Record<string, unknown>>>): string[] {
  return Object.entries(states).flatMap(([name, state]) => {
    if (state.Type === "Task") return [name];
    if (state.Type === "Parallel") {
      return (state.Branches as { States: Record<string, Record<string, unknown>> }[])
        .flatMap((b) => taskNames(b.States));
    }
    if (state.Type === "Map") {
      return taskNames(
        (state.ItemProcessor as { States: Record<string, Record<string, unknown>> }).States,
      );
    }
    return [];
  });
}

/**
 * Runs one execution of a planned definition.
 *
 * @param definition the definition, as `planTerraform` plans it.
 * @param input the execution's input.
 * @param stack where its functions run and its state is.
 * @param name the execution's name, for its id.
 * @returns how it ended.
 */
export async function runExecution(
  definition: AslDefinition,
  input: unknown,
  stack: StateMachineStack,
  name: string = crypto.randomUUID(),
): Promise<Execution> {
  const text = JSON.stringify(definition)
    .replace(/\$\{aws_lambda_function\.([^.]+)\.arn\}/g, (_, id: string) => stack.functionOf(id))
    .replaceAll("${aws_s3_bucket.state.bucket}", stack.env.GLACIER_STATE_BUCKET)
    .replaceAll("${data.aws_partition.current.partition}", "aws");
  if (text.includes("${")) throw new Error(`unresolved Terraform reference in ${text}`);
  const resolved = JSON.parse(text) as AslDefinition;
  const client = new LambdaClient({
    endpoint: stack.endpoint,
    region: stack.env.AWS_REGION,
    credentials: {
      accessKeyId: stack.env.AWS_ACCESS_KEY_ID,
      secretAccessKey: stack.env.AWS_SECRET_ACCESS_KEY,
    },
    maxAttempts: 1,
  });
  // Step Functions' Lambda integration: invoke the function the state names with its payload.
  const invoke = async (parameters: { FunctionName: string; Payload: unknown }) => {
    const out = await client.send(
      new InvokeCommand({
        FunctionName: parameters.FunctionName,
        Payload: new TextEncoder().encode(JSON.stringify(parameters.Payload)),
      }),
    );
    const body = new TextDecoder().decode(out.Payload);
    if (out.FunctionError) {
      const error = new Error(body);
      error.name = (JSON.parse(body) as { errorType?: string }).errorType ?? "Lambda.Unknown";
      throw error;
    }
    return { StatusCode: 200, Payload: JSON.parse(body) };
  };
  const names = taskNames(resolved.States as Record<string, Record<string, unknown>>);
  const machine = new StateMachine(resolved as never, { validationOptions: { checkArn: false } });
  const startTime = new Date().toISOString();
  const execution = machine.run(input as never, {
    overrides: {
      taskResourceLocalHandlers: Object.fromEntries(names.map((n) => [n, invoke])) as never,
      retryIntervalOverrides: Object.fromEntries(names.map((n) => [n, 0])),
    },
    context: {
      Execution: {
        Id: `arn:aws:states:${stack.env.AWS_REGION}:000000000000:execution:test:${name}`,
        Name: name,
        Input: input,
        StartTime: startTime,
      },
    } as never,
  });
  const states: { name: string; type: string; input?: unknown; output?: unknown }[] = [];
  const logs = (async () => {
    for await (const event of execution.eventLogs) {
      const e = event as {
        type: string;
        state?: { name: string; type: string; input?: unknown; output?: unknown };
      };
      if (e.type === "StateEntered" && e.state) states.push({ ...e.state });
      if (e.type === "StateExited" && e.state) {
        const entered = states.findLast((s) => s.name === e.state!.name);
        if (entered) entered.output = e.state.output;
      }
    }
  })();
  try {
    const output = await execution.result;
    await logs.catch(() => {});
    return { output, states };
  } catch (error) {
    await logs.catch(() => {});
    // The interpreter wraps what failed the execution (a Fail state's error, or a state's).
    const e =
      (error instanceof Error && error.name === "ExecutionError" && error.cause instanceof Error
        ? error.cause
        : error) as { name?: string; message?: string };
    return { error: { name: String(e.name), cause: String(e.message) }, states };
  } finally {
    client.destroy();
  }
}
