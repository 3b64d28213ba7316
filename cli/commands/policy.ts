// faultline policy apply FILE | show: the admission policy, held by the admission workflow.
import { InvalidInput } from '../../errors.ts';
import { parsePolicyFile } from '../../experiments/policy.ts';
import { describeWindow } from '../../experiments/blackout.ts';
import type { AdmissionState } from '../../experiments/admission.ts';
import { connectClient } from '../client.ts';
import { admissionRunning, admissionState, applyPolicy } from '../admission.ts';
import { ANSWER_TIMEOUT_MS, requireWorker, timeoutOption, within } from '../workers.ts';
import { admissionWorkflowId } from '../../activities/control.ts';
import { DEFAULT_TASK_QUEUE } from '../../config.ts';
import { initialState } from '../../experiments/admission.ts';
import type { Io } from '../io.ts';
import { receiverName } from '../../definitions/notify.ts';

export interface PolicyOptions {
  json?: boolean;
  taskQueue?: string;
  /** How long to wait for the admission workflow's answer (default 30s). */
  timeout?: string;
}

/** The admission workflow (and so the policy) lives on the task queue: its worker must answer. */
export async function policyApplyCommand(file: string, opts: PolicyOptions, io: Io) {
  const r = await parsePolicyFile(file);
  if (!r.ok) throw new InvalidInput(`${file} is not a valid policy`, r.problems);
  const timeoutMs = timeoutOption(opts.timeout, ANSWER_TIMEOUT_MS);
  const tq = opts.taskQueue ?? DEFAULT_TASK_QUEUE;
  const fc = await connectClient();
  try {
    await requireWorker(fc, tq, 'policy apply');
    const state = await within(
      fc,
      {
        what: `policy apply (the admission workflow ${admissionWorkflowId(tq)})`,
        timeoutMs,
        io,
        after: 'the update may still land when a worker takes it: check with `faultline policy show`',
      },
      () => applyPolicy(fc, r.value, tq),
    );
    io.out(opts.json ? JSON.stringify(state, null, 2) : `policy ${file} applied\n${renderAdmission(state)}`);
    return 0;
  } finally {
    await fc.close();
  }
}

/** With no admission workflow yet, the default policy (no worker needed); else its worker answers. */
export async function policyShowCommand(opts: PolicyOptions, io: Io) {
  const timeoutMs = timeoutOption(opts.timeout, ANSWER_TIMEOUT_MS);
  const tq = opts.taskQueue ?? DEFAULT_TASK_QUEUE;
  const fc = await connectClient();
  try {
    let state = initialState();
    if (await admissionRunning(fc, tq)) {
      await requireWorker(fc, tq, 'policy show');
      state = await within(
        fc,
        { what: `policy show (the admission workflow ${admissionWorkflowId(tq)})`, timeoutMs, io },
        () => admissionState(fc, tq),
      );
    }
    io.out(opts.json ? JSON.stringify(state, null, 2) : renderAdmission(state));
    return 0;
  } finally {
    await fc.close();
  }
}

export function renderAdmission(s: AdmissionState): string {
  const p = s.policy;
  const lines = [
    `policy: ${p.source ?? 'default'} · at once: ${p.maxConcurrent ?? 'unlimited'} · exclusive targets: ${p.exclusiveTargets ? 'yes' : 'no'}`,
  ];
  for (const [name, env] of Object.entries(p.environments))
    lines.push(
      `  environment ${name}: at once ${env.maxConcurrent ?? 'unlimited'}${env.requireApproval ? ', needs approval' : ''}`,
    );
  for (const w of p.blackouts) lines.push(`  blackout "${w.name}": ${describeWindow(w)}`);
  for (const r of p.notify ?? [])
    lines.push(`  notify ${receiverName(r)}: ${r.events?.join(', ') ?? 'every event'} (from each run's admission on)`);
  lines.push(
    s.lever
      ? `safety lever: PULLED by ${s.lever.who ?? '?'} at ${s.lever.at}: ${s.lever.reason}`
      : 'safety lever: released',
  );
  lines.push(`holds: ${s.holds.length}`);
  for (const h of s.holds)
    lines.push(`  ${h.workflowId} since ${h.since}: ${h.targets.map((t) => t.label).join(', ') || 'no targets'}`);
  return lines.join('\n');
}
