// Library entry of the fault proxy: the admin API server plus its proxies, optionally populated from a
// Toxiproxy-format config file. Binds to 127.0.0.1 unless told otherwise, and refuses any other address
// without a bearer token.
import http from 'node:http';
import { readFile } from 'node:fs/promises';
import { ProxyCollection } from './proxy-collection.ts';
import { createApi } from './api.ts';
import type { AddressInfo } from 'node:net';
import { formatAddress, isLoopbackAddress, reaches, resolveHost } from './addr.ts';
import { MAX_HEADER_BYTES } from './limits.ts';

export interface ProxyServerOptions {
  host?: string;
  port?: number;
  /** Required when host is not a loopback address. */
  token?: string;
  /** Path of a JSON file in Toxiproxy's populate format (an array of proxies). */
  config?: string;
  log?: (msg: string) => void;
}

export interface ProxyServer {
  /** "127.0.0.1:8474" */
  address: string;
  /** http://host:port of the admin API */
  url: string;
  proxies: ProxyCollection;
  close(): Promise<void>;
}

export class ProxyConfigError extends Error {
  override name = 'ProxyConfigError';
}

export async function startProxyServer(opts: ProxyServerOptions = {}): Promise<ProxyServer> {
  const host = opts.host ?? '127.0.0.1';
  const port = opts.port ?? 8474;
  const log = opts.log ?? (() => undefined);
  // Every spelling of the host is resolved as the socket layer will ("0", "[::]", "127.1", names).
  const hostAddrs = await resolveHost(host);
  if (!hostAddrs) throw new ProxyConfigError(`cannot listen on ${host}: the host name does not resolve`);
  if (!opts.token && hostAddrs.some((a) => !isLoopbackAddress(a)))
    throw new ProxyConfigError(
      `refusing to serve the admin API on ${host} without a token (set --token or FAULTLINE_PROXY_TOKEN)`,
    );
  const bindAt = hostAddrs[0] as string;
  const proxies = new ProxyCollection({ log, allowOffLoopback: Boolean(opts.token) });
  // Known before populating, so no configured proxy may send to the admin API.
  if (port !== 0) proxies.adminEndpoints = [{ address: bindAt, port }];
  if (opts.config) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(await readFile(opts.config, 'utf8'));
    } catch (e) {
      throw new ProxyConfigError(`cannot read config ${opts.config}: ${(e as Error).message}`);
    }
    const { proxies: made, error } = await proxies.populate(parsed).catch((e: Error) => ({ proxies: [], error: e }));
    if (error) {
      proxies.close();
      throw new ProxyConfigError(`config ${opts.config}: ${error.message}`);
    }
    log(`populated ${made.length} proxies from ${opts.config}`);
  }
  const api = createApi(proxies, { token: opts.token, log });
  const server = http.createServer(
    {
      keepAliveTimeout: 60_000,
      maxHeaderSize: MAX_HEADER_BYTES,
      // Answered by the API as JSON instead of Node's bare 400.
      requireHostHeader: false,
      // Toxiproxy's server gives a request 15 s to arrive.
      headersTimeout: 15_000,
      requestTimeout: 15_000,
    },
    api.handler,
  );
  api.attach(server);
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ host: bindAt, port }, () => {
        server.off('error', reject);
        resolve();
      });
    });
  } catch (e) {
    proxies.close();
    throw new ProxyConfigError(
      `cannot listen on ${host}:${port}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`,
    );
  }
  const bound = server.address() as AddressInfo;
  proxies.adminEndpoints = [{ address: bound.address, port: bound.port }];
  const looping = proxies
    .list()
    .find((p) => p.current.upstreamEndpoints.some((u) => reaches(u, proxies.adminEndpoints[0]!)));
  if (looping) {
    proxies.close();
    server.close();
    throw new ProxyConfigError(`proxy ${looping.name} sends to the admin API itself (${looping.upstream})`);
  }
  const address = formatAddress(bound);
  log(`fault proxy admin API on http://${address}`);
  return {
    address,
    url: `http://${address}`,
    proxies,
    close: async () => {
      proxies.close();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}
