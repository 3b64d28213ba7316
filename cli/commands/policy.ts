// faultline policy apply FILE | show: the admission policy, held by the admission workflow.
import { InvalidInput } from '../../errors.ts';
import { parsePolicyFile } from '../../experiments/policy.ts';
import { describeWindow } from '../../experiments/blackout.ts';
import type { AdmissionState } from '../../experiments/admission.ts';
import { connectClient } from '../client.ts';
import { admissionState, applyPolicy } from '../admission.ts';
import type { Io } from '../io.ts';

export async function policyApplyCommand(file: string, opts: { json?: boolean; taskQueue?: string }, io: Io) {
  const r = await parsePolicyFile(file);
  if (!r.ok) throw new InvalidInput(`${file} is not a valid policy`, r.problems);
  const fc = await connectClient();
  try {
    const state = await applyPolicy(fc, r.value, opts.taskQueue);
    io.out(opts.json ? JSON.stringify(state, null, 2) : `policy ${file} applied\n${renderAdmission(state)}`);
    return 0;
  } finally {
    await fc.close();
  }
}

export async function policyShowCommand(opts: { json?: boolean; taskQueue?: string }, io: Io) {
  const fc = await connectClient();
  try {
    const state = await admissionState(fc, opts.taskQueue);
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
