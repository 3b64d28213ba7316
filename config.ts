// Configuration shared by the CLI, the client library, the worker and the tests (so none of them imports
// another's folder for it): where Temporal is and how to reach it, the state directory, the task queue and
// the demo's names and ports. TEMPORAL_ADDRESS (with TEMPORAL_NAMESPACE, TEMPORAL_API_KEY,
// TEMPORAL_TLS_CERT/KEY/CA or TEMPORAL_TLS=true) points at a user's cluster or Temporal Cloud; without it
// Faultline uses its embedded dev server, started on demand with state under .state/ (FAULTLINE_STATE_DIR).
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ConnectionOptions } from '@temporalio/client';

export const PROJECT_ROOT = path.dirname(fileURLToPath(import.meta.url));
export const STATE_DIR = process.env.FAULTLINE_STATE_DIR ?? path.join(PROJECT_ROOT, '.state');
/** The lease ledger the warden of the local Docker daemon watches (on the daemon's host). */
export const WARDEN_DIR = process.env.FAULTLINE_WARDEN_DIR ?? path.join(STATE_DIR, 'warden');
/** The ledger of an agent's host other than the local daemon's (`faultline agent --socket/--docker-host`). */
export function hostWardenDir(host: string): string {
  return path.join(STATE_DIR, 'wardens', host);
}
export const DEFAULT_TASK_QUEUE = process.env.FAULTLINE_TASK_QUEUE ?? 'faultline';
export const EMBEDDED_PORT = Number(process.env.FAULTLINE_TEMPORAL_PORT ?? 7233);
export const EMBEDDED_UI_PORT = Number(process.env.FAULTLINE_TEMPORAL_UI_PORT ?? 8233);

/** The demo target `npm start` brings up and the examples address. */
export const DEFAULT_DEMO = { prefix: 'faultline-demo', frontPort: 18080, proxyAdminPort: 18474 } as const;
/** The demo `faultline demo` and `quickstart` manage; the test run sets its own so it never touches a user's. */
export const DEMO = {
  prefix: process.env.FAULTLINE_DEMO_PREFIX ?? DEFAULT_DEMO.prefix,
  frontPort: Number(process.env.FAULTLINE_DEMO_PORT ?? DEFAULT_DEMO.frontPort),
  proxyAdminPort: Number(process.env.FAULTLINE_DEMO_PROXY_PORT ?? DEFAULT_DEMO.proxyAdminPort),
};

export interface TemporalTarget {
  address: string;
  namespace: string;
  /** The Temporal UI base URL, for links; undefined when unknown (a user's cluster without FAULTLINE_UI_URL). */
  uiUrl?: string;
  /** true when Faultline manages the dev server itself. */
  embedded: boolean;
  connection: ConnectionOptions;
}

export function temporalTarget(env: NodeJS.ProcessEnv = process.env): TemporalTarget {
  const namespace = env.TEMPORAL_NAMESPACE ?? 'default';
  if (env.TEMPORAL_ADDRESS) {
    const tlsWanted = env.TEMPORAL_TLS === 'true' || !!env.TEMPORAL_TLS_CERT || !!env.TEMPORAL_API_KEY;
    const connection: ConnectionOptions = { address: env.TEMPORAL_ADDRESS };
    if (tlsWanted) {
      connection.tls =
        env.TEMPORAL_TLS_CERT && env.TEMPORAL_TLS_KEY
          ? {
              clientCertPair: { crt: readFileSync(env.TEMPORAL_TLS_CERT), key: readFileSync(env.TEMPORAL_TLS_KEY) },
              serverRootCACertificate: env.TEMPORAL_TLS_CA ? readFileSync(env.TEMPORAL_TLS_CA) : undefined,
            }
          : true;
    }
    if (env.TEMPORAL_API_KEY) {
      connection.apiKey = env.TEMPORAL_API_KEY;
      connection.metadata = { 'temporal-namespace': namespace };
    }
    return { address: env.TEMPORAL_ADDRESS, namespace, uiUrl: env.FAULTLINE_UI_URL, embedded: false, connection };
  }
  const address = `127.0.0.1:${EMBEDDED_PORT}`;
  return { address, namespace, uiUrl: `http://127.0.0.1:${EMBEDDED_UI_PORT}`, embedded: true, connection: { address } };
}

export function workflowUrl(t: TemporalTarget, workflowId: string, runId?: string): string | undefined {
  if (!t.uiUrl) return undefined;
  const base = `${t.uiUrl}/namespaces/${encodeURIComponent(t.namespace)}/workflows/${encodeURIComponent(workflowId)}`;
  return runId ? `${base}/${runId}/history` : base;
}
