// The error module: each class says whether retrying can help and which exit code the CLI reports, and the
// activities turn exactly the non-retryable ones into non-retryable Temporal failures (by instanceof).
import { ApplicationFailure } from '@temporalio/activity';
import { describe, expect, it } from 'vitest';
import {
  FaultlineError,
  FaultTargetGone,
  InfrastructureError,
  InvalidInput,
  ProxyNotConfigured,
  ProxyRejected,
  UnknownFaultKind,
} from '../../errors.ts';
import { createActivities } from '../../activities/index.ts';
import type { ContainerPort, Ports, ProxyPort } from '../../faults/ports.ts';
import { faultSchema } from '../../experiments/schema.ts';

describe('error classes', () => {
  const table = [
    { e: new InvalidInput('x'), name: 'InvalidInput', retryable: false, exitCode: 2 },
    { e: new FaultTargetGone('x'), name: 'FaultTargetGone', retryable: false, exitCode: 3 },
    { e: new ProxyRejected('x'), name: 'ProxyRejected', retryable: false, exitCode: 3 },
    { e: new ProxyNotConfigured('x'), name: 'ProxyNotConfigured', retryable: false, exitCode: 3 },
    { e: new UnknownFaultKind('x'), name: 'UnknownFaultKind', retryable: false, exitCode: 3 },
    { e: new InfrastructureError('x'), name: 'InfrastructureError', retryable: true, exitCode: 3 },
  ];
  for (const k of table)
    it(`${k.name}: retryable ${k.retryable}, exit ${k.exitCode}`, () => {
      expect(k.e).toBeInstanceOf(FaultlineError);
      expect(k.e).toBeInstanceOf(Error);
      expect({ name: k.e.name, retryable: k.e.retryable, exitCode: k.e.exitCode }).toEqual({
        name: k.name,
        retryable: k.retryable,
        exitCode: k.exitCode,
      });
    });
});

/** Ports whose every call throws the given error. */
function failingPorts(err: Error): Ports {
  const fail = async (): Promise<never> => {
    throw err;
  };
  const containers = new Proxy({}, { get: () => fail }) as ContainerPort;
  const proxy = new Proxy({}, { get: () => fail }) as ProxyPort;
  return { containers, proxy };
}

const latency = faultSchema.parse({ kind: 'proxy.latency', duration: '1s', proxy: 'p', latency: '10ms' });
const kill = faultSchema.parse({ kind: 'container.kill', duration: '1s' });
const target = { id: 'c1', name: 'c1', labels: {} };

describe('activities classify by instanceof', () => {
  for (const err of [
    new ProxyRejected('bad attributes'),
    new ProxyNotConfigured('no proxy'),
    new FaultTargetGone('gone'),
  ])
    it(`${err.name} fails the activity without retries`, async () => {
      const a = createActivities(failingPorts(err));
      const handle = await a.prepareFault(latency, undefined);
      const caught = await a.injectFault(latency, handle).catch((e: unknown) => e);
      expect(caught).toBeInstanceOf(ApplicationFailure);
      expect(caught).toMatchObject({ type: err.name, message: err.message, nonRetryable: true });
    });

  it('a container that is gone at prepare fails without retries', async () => {
    const a = createActivities({
      ...failingPorts(new Error('unused')),
      containers: { inspect: async () => null } as never,
    });
    const caught = await a.prepareFault(kill, target).catch((e: unknown) => e);
    expect(caught).toMatchObject({ type: 'FaultTargetGone', nonRetryable: true });
  });

  it('an infrastructure error is left for Temporal to retry', async () => {
    const err = new InfrastructureError('proxy unreachable');
    const a = createActivities(failingPorts(err));
    const handle = await a.prepareFault(latency, undefined);
    await expect(a.injectFault(latency, handle)).rejects.toBe(err);
  });

  it('an unknown fault kind fails without retries', async () => {
    const a = createActivities(failingPorts(new Error('unused')));
    const caught = await a
      .prepareFault({ ...latency, kind: 'container.explode' } as never, undefined)
      .catch((e: unknown) => e);
    expect(caught).toMatchObject({ type: 'UnknownFaultKind', nonRetryable: true });
  });

  it('an error that is not ours is retried', async () => {
    const err = new Error('socket hang up');
    const a = createActivities(failingPorts(err));
    const handle = await a.prepareFault(latency, undefined);
    await expect(a.injectFault(latency, handle)).rejects.toBe(err);
  });
});
