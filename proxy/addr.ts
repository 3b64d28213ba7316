// host:port parsing and printing, as Go's net package does it ("[::]:8080", "127.0.0.1:26379").
import { isIP, type AddressInfo } from 'node:net';

export interface HostPort {
  host: string;
  port: number;
}

/** "host:port", "[v6]:port" or ":port"; null when it is not one of those. */
export function parseHostPort(text: string): HostPort | null {
  const i = text.lastIndexOf(':');
  if (i < 0) return null;
  let host = text.slice(0, i);
  const portText = text.slice(i + 1);
  if (!/^\d{1,5}$/.test(portText)) return null;
  const port = Number(portText);
  if (port > 65535) return null;
  if (host.startsWith('[') && host.endsWith(']')) host = host.slice(1, -1);
  else if (host.includes(':')) return null;
  return { host, port };
}

/** The address to bind for a listen host: "" means every interface, as in Go. */
export function bindHost(host: string): string {
  if (host === '') return '::';
  if (host === 'localhost') return '127.0.0.1';
  return host;
}

export function formatAddress(a: AddressInfo | string | null): string {
  if (!a || typeof a === 'string') return String(a);
  return a.family === 'IPv6' || isIP(a.address) === 6 ? `[${a.address}]:${a.port}` : `${a.address}:${a.port}`;
}

export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);
}
