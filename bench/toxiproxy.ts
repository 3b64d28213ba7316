// Toxiproxy v2.12.0, the peer the proxy benchmarks compare with: built once from the Go module proxy into
// .tools/bin/toxiproxy-server (never committed).
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, renameSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const TOOLS = path.join(path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..'), '.tools', 'bin');
export const TOXIPROXY_VERSION = 'v2.12.0'; // latest v2 tag

export function ensureToxiproxy(): string {
  const bin = path.join(TOOLS, 'toxiproxy-server');
  if (existsSync(bin)) return bin;
  mkdirSync(TOOLS, { recursive: true });
  const built = path.join(TOOLS, 'server');
  if (!existsSync(built)) {
    console.log(`building Toxiproxy ${TOXIPROXY_VERSION} from the Go module proxy...`);
    execFileSync('go', ['install', `github.com/Shopify/toxiproxy/v2/cmd/server@${TOXIPROXY_VERSION}`], {
      env: { ...process.env, GOBIN: TOOLS },
      stdio: 'inherit',
    });
  }
  renameSync(built, bin);
  return bin;
}
