/**
 * What a local task declares in generated Terraform: a Step Functions activity that a worker
 * polls, and a role the worker assumes.
 *
 * @module
 */
import type { BackendTerraform } from "../../core/backend.ts";
import { awsName, ref, taskId } from "../../core/deploy/names.ts";
import { accountTrust, ACTIVITY_REPORT_ACTIONS } from "../../core/deploy/policies.ts";
import { taskState } from "../../core/deploy/state_machine.ts";
import { ACTIVITY_TIMEOUT_SECONDS } from "../../core/deploy/terraform_plan.ts";

/** An activity per task, which a worker polls. */
export const localTerraform: BackendTerraform = {
  deployedOn: "an activity worker",
  artifacts: "no artifacts",
  placeholder: () => undefined,
  deploy(step, { prefix, id, timeoutSeconds: limit }) {
    const task = step.task.name;
    const name = awsName([prefix, task], 80);
    return {
      role: {
        trust: accountTrust(),
        statements: [
          {
            Sid: "PollActivity",
            Effect: "Allow",
            Action: ["states:GetActivityTask"],
            Resource: [ref("aws_sfn_activity", id, "arn")],
          },
          {
            Sid: "ReportActivity",
            Effect: "Allow",
            Action: [...ACTIVITY_REPORT_ACTIONS],
            Resource: ["*"],
          },
        ],
        runsOn: "an activity worker",
      },
      activity: { id, task, name },
      state: taskState(
        task,
        `local task: waits for a worker polling activity ${name}`,
        ref("aws_sfn_activity", id, "arn"),
        { TimeoutSeconds: Math.min(limit ?? ACTIVITY_TIMEOUT_SECONDS, ACTIVITY_TIMEOUT_SECONDS) },
        [{ errors: ["States.TaskFailed"], intervalSeconds: 10, maxAttempts: 2 }],
      ),
    };
  },
  machineStatements: () => [],
  outputs: (steps) =>
    steps.map((s) => ({
      id: `activity_${s.task.name}`,
      description: `The activity a worker polls to run local task '${s.task.name}'`,
      value: ref("aws_sfn_activity", taskId(s.task.name), "arn"),
    })),
};
