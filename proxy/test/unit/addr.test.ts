// Address spellings: every way to write a loopback or "every interface" address is recognised without
// a name server, the way the socket layer reads them.
import { describe, expect, it } from 'vitest';
import { canonicalAddress, looseIPv4, reaches, resolveHost } from '../../addr.ts';

describe('address spellings', () => {
  it('inet_aton forms are numbers, not names', () => {
    const cases: [string, string | null][] = [
      ['127.1', '127.0.0.1'],
      ['2130706433', '127.0.0.1'],
      ['0x7f.1', '127.0.0.1'],
      ['0177.0.0.1', '127.0.0.1'],
      ['0', '0.0.0.0'],
      ['0.0', '0.0.0.0'],
      ['10.1.2', '10.1.0.2'],
      ['256.1', null],
      ['1.2.3.4.5', null],
      ['08', null],
      ['db', null],
      ['', null],
    ];
    for (const [host, want] of cases) expect(looseIPv4(host), host).toBe(want);
  });

  it('IPv6 forms are canonical; IPv4-mapped ones are IPv4', () => {
    expect(canonicalAddress('[0:0:0:0:0:0:0:1]')).toBe('::1');
    expect(canonicalAddress('::ffff:127.0.0.1')).toBe('127.0.0.1');
    expect(canonicalAddress('::FFFF:7f00:1')).toBe('127.0.0.1');
    expect(canonicalAddress('fe80::1%eth0')).toBe('fe80::1');
    expect(canonicalAddress('1:2:3:4:5:6:7:8:9')).toBeNull();
  });

  it('resolves numeric spellings and localhost without a lookup, even with no time left', async () => {
    const past = Date.now() - 1;
    expect(await resolveHost('127.1', past)).toEqual(['127.0.0.1']);
    expect(await resolveHost('localhost', past)).toEqual(['127.0.0.1', '::1']);
    expect(await resolveHost('[::]', past)).toEqual(['::']);
    expect(await resolveHost('', past)).toEqual(['::']);
  });

  it('a listener on the unspecified address takes connections to every local address', () => {
    expect(reaches({ address: '127.0.0.5', port: 1 }, { address: '0.0.0.0', port: 1 })).toBe(true);
    expect(reaches({ address: '::1', port: 1 }, { address: '::', port: 1 })).toBe(true);
    expect(reaches({ address: '0.0.0.0', port: 1 }, { address: '127.0.0.1', port: 1 })).toBe(true);
    expect(reaches({ address: '127.0.0.1', port: 2 }, { address: '0.0.0.0', port: 1 })).toBe(false);
    expect(reaches({ address: '192.0.2.1', port: 1 }, { address: '0.0.0.0', port: 1 })).toBe(false);
  });
});
