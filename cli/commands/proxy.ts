// `faultline proxy [--config FILE] [--host H] [--port P]`: run the fault proxy in the foreground until
// SIGINT or SIGTERM. Config files use Toxiproxy's populate format (a JSON array of proxies).
import { startProxyServer } from '../../proxy/server.ts';
import { InvalidInput } from '../../errors.ts';

export async function proxyCommand(opts: {
  config?: string;
  host?: string;
  port?: number;
  token?: string;
}): Promise<void> {
  if (opts.port !== undefined && !(Number.isInteger(opts.port) && opts.port >= 0 && opts.port <= 65535))
    throw new InvalidInput(`--port must be a whole number from 0 to 65535, got ${opts.port}`);
  const log = (m: string): void => void process.stderr.write(`${new Date().toISOString()} ${m}\n`);
  let server;
  try {
    server = await startProxyServer({
      host: opts.host,
      port: opts.port,
      config: opts.config,
      token: opts.token ?? process.env.FAULTLINE_PROXY_TOKEN ?? undefined,
      log,
    });
  } catch (e) {
    throw new InvalidInput((e as Error).message);
  }
  process.stdout.write(`fault proxy: admin API on ${server.url} (Toxiproxy-compatible); Ctrl-C to stop\n`);
  await new Promise<void>((resolve) => {
    const stop = (): void => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      void server.close().then(resolve, resolve);
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
}
