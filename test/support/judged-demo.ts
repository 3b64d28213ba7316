// The set-up of the e2e files that judge the real demo through Prometheus (judge, exposure, slo): a demo
// stack under load, a client, an in-process worker that reaches the stack's proxy, and a wait until
// Prometheus (which finds the new containers through Docker) shows the front's traffic. `down` undoes
// whatever was started, also after a set-up that failed half-way.
import { demoDown, demoUp, type DemoStack } from '../../demo/index.ts';
import { connectClient, type FaultlineClient } from '../../cli/client.ts';
import { freePort } from '../../cli/dev-server.ts';
import { prometheusFor } from '../../activities/adapters/prometheus.ts';
import { inProcessWorker, uniqueId } from '../helpers.ts';

export interface JudgedDemo {
  stack: DemoStack;
  fc: FaultlineClient;
  worker: Awaited<ReturnType<typeof inProcessWorker>>;
  down: () => Promise<void>;
}

export async function judgedDemo(opts: {
  name: string;
  taskQueue: string;
  loadRps: number;
  /** The PromQL whose value shows the demo's traffic in Prometheus, given the stack's prefix. */
  traffic: (prefix: string) => string;
  /** The value it must pass. */
  atLeast: number;
}): Promise<JudgedDemo> {
  const started: Partial<JudgedDemo> = {};
  const down = async () => {
    await started.worker?.stop();
    await started.fc?.close();
    if (started.stack) await demoDown({ prefix: started.stack.prefix });
  };
  try {
    const stack = (started.stack = await demoUp({
      prefix: uniqueId(`fl-${opts.name}`),
      frontPort: await freePort(),
      proxyAdminPort: await freePort(),
      loadRps: opts.loadRps,
    }));
    const fc = (started.fc = await connectClient());
    const worker = (started.worker = await inProcessWorker(opts.taskQueue, {
      FAULTLINE_PROXY_URL: stack.proxyAdminUrl as string,
      FAULTLINE_PROXY_TOKEN: stack.proxyToken ?? '',
    }));
    const prom = prometheusFor();
    for (let i = 0; ; i++) {
      const s = await prom.instant(opts.traffic(stack.prefix));
      if ((s[0]?.value ?? 0) > opts.atLeast) break;
      if (i > 100) throw new Error('the demo never showed up in Prometheus');
      await new Promise((r) => setTimeout(r, 300));
    }
    return { stack, fc, worker, down };
  } catch (e) {
    await down();
    throw e;
  }
}
