// Which fault proxy the proxy.* and http.* fault kinds talk to: FAULTLINE_PROXY_URL (+ FAULTLINE_PROXY_TOKEN),
// or the demo's proxy recorded by `faultline demo up` in the state directory.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { ProxyPort } from '../faults/ports.ts';
import type { ProxyInventory } from '../warden/sweep.ts';
import { ProxyClient } from '../activities/adapters/proxy-client.ts';
import { ProxyNotConfigured } from '../errors.ts';
import { STATE_DIR } from '../config.ts';

export function proxyEndpoint(env: NodeJS.ProcessEnv = process.env): { url: string; token?: string } | undefined {
  if (env.FAULTLINE_PROXY_URL) return { url: env.FAULTLINE_PROXY_URL, token: env.FAULTLINE_PROXY_TOKEN };
  try {
    const demo = JSON.parse(readFileSync(path.join(STATE_DIR, 'demo.json'), 'utf8')) as {
      proxyAdminUrl?: string;
      proxyToken?: string;
    };
    if (demo.proxyAdminUrl) return { url: demo.proxyAdminUrl, token: demo.proxyToken };
  } catch {
    /* no demo running */
  }
  return undefined;
}

/** The endpoint is looked up per call, so a worker started before `demo up` still finds the proxy. */
export function createProxyPort(): ProxyPort {
  const client = (): ProxyPort => {
    const ep = proxyEndpoint();
    return ep ? new ProxyClient(ep.url, ep.token) : unconfigured();
  };
  return {
    listProxies: () => client().listProxies(),
    addToxic: (...a) => client().addToxic(...a),
    updateToxic: (...a) => client().updateToxic(...a),
    removeToxic: (...a) => client().removeToxic(...a),
    renewToxic: (...a) => client().renewToxic(...a),
    setEnabled: (...a) => client().setEnabled(...a),
    inspectProxy: (...a) => client().inspectProxy(...a),
    renewDisabled: (...a) => client().renewDisabled(...a),
  };
}

function unconfigured(): ProxyPort {
  const missing = async (): Promise<never> => {
    throw new ProxyNotConfigured(
      'no fault proxy configured: set FAULTLINE_PROXY_URL (and FAULTLINE_PROXY_TOKEN) or run `faultline demo up`',
    );
  };
  return {
    listProxies: missing,
    addToxic: missing,
    updateToxic: missing,
    removeToxic: missing,
    renewToxic: missing,
    setEnabled: missing,
    inspectProxy: missing,
    renewDisabled: missing,
  };
}

/** The known fault proxy as the sweeper reads it (toxics by route); undefined when none is configured. */
export function proxyInventory(): ProxyInventory | undefined {
  const ep = proxyEndpoint();
  if (!ep) return undefined;
  const c = new ProxyClient(ep.url, ep.token);
  return {
    name: ep.url,
    listProxies: () => c.listProxies(),
    listToxics: (p) => c.listToxics(p),
    removeToxic: (p, t) => c.removeToxic(p, t),
  };
}
