// Process entry of the fault proxy (bundled to one ESM file for the proxy container):
//   node proxy.mjs [--host H] [--port P] [--config FILE] [--token T]
// The token may also come from FAULTLINE_PROXY_TOKEN. Runs until SIGTERM or SIGINT.
import { parseArgs } from 'node:util';
import { startProxyServer } from './server.ts';

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      host: { type: 'string' },
      port: { type: 'string' },
      config: { type: 'string' },
      token: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    process.stdout.write('usage: proxy [--host 127.0.0.1] [--port 8474] [--config proxies.json] [--token T]\n');
    return;
  }
  const port = values.port === undefined ? undefined : Number(values.port);
  if (port !== undefined && !(Number.isInteger(port) && port >= 0 && port <= 65535))
    throw new Error(`--port must be 0..65535, got ${values.port}`);
  const log = (m: string): void => void process.stderr.write(`${new Date().toISOString()} ${m}\n`);
  const server = await startProxyServer({
    host: values.host,
    port,
    config: values.config,
    token: values.token ?? process.env.FAULTLINE_PROXY_TOKEN ?? undefined,
    log,
  });
  const stop = (sig: string): void => {
    log(`${sig}: shutting down`);
    server.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));
}

main().catch((e: Error) => {
  process.stderr.write(`faultline proxy: ${e.message}\n`);
  process.exit(1);
});
