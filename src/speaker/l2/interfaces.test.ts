import { afterEach, describe, expect, it } from '@jest/globals';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { formatMac } from './frames/bytes.js';
import { scanLinks, selectInterfaces, type LinkInfo } from './interfaces.js';
import { linkInfo as link } from '../../../test/support/l2.js';

describe('selectInterfaces', () => {
  const links = [
    link('lo', { loopback: true, ethernet: false }),
    link('eth0'),
    link('eth1', { ipv4: false }),
    link('eth2', { up: false }),
    link('eth3', { carrier: false }),
    link('bond-slave', { hasMaster: true }),
    link('wg0', { ethernet: false }),
  ];

  it('uses every up Ethernet interface with carrier of the family, not loopback or enslaved, when none are listed', () => {
    expect(selectInterfaces(links, [], 4)).toEqual({ ok: true, interfaces: ['eth0'] });
    expect(selectInterfaces(links, [], 6)).toEqual({ ok: true, interfaces: ['eth0', 'eth1'] });
  });

  it('uses listed interfaces that qualify, an enslaved one included', () => {
    expect(selectInterfaces(links, ['eth1', 'bond-slave', 'eth2'], 6)).toEqual({
      ok: true,
      interfaces: ['eth1', 'bond-slave'],
    });
  });

  it('says why when nothing qualifies', () => {
    expect(selectInterfaces(links, ['eth2', 'missing'], 4)).toEqual({
      ok: false,
      reason: 'none of eth2, missing is an up Ethernet interface with carrier that carries IPv4',
    });
    expect(selectInterfaces([links[0] as LinkInfo], [], 6)).toMatchObject({
      ok: false,
      reason: expect.stringMatching(/^no interface/),
    });
  });
});

describe('scanLinks', () => {
  let dir: string | undefined;
  afterEach(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  function fakeLink(root: string, name: string, files: Record<string, string>, master = false): void {
    const linkDir = join(root, name);
    mkdirSync(linkDir);
    for (const [file, content] of Object.entries(files)) writeFileSync(join(linkDir, file), `${content}\n`);
    if (master) symlinkSync(root, join(linkDir, 'master'));
  }

  it('reads MAC, flags, carrier, type and master from sysfs, leaving out unreadable links', () => {
    dir = mkdtempSync(join(tmpdir(), 'l2-sysfs-'));
    fakeLink(dir, 'veth-up', { address: '02:00:00:00:00:01', flags: '0x1003', carrier: '1', type: '1' });
    fakeLink(dir, 'veth-down', { address: '02:00:00:00:00:02', flags: '0x1002', type: '1' }, true);
    fakeLink(dir, 'loop', { address: '00:00:00:00:00:00', flags: '0x9', carrier: '1', type: '772' });
    fakeLink(dir, 'tun0', { flags: '0x1091', type: '65534' }); // no MAC: not a link we can answer on
    const links = scanLinks(dir);
    expect(links.map((l) => l.name)).toEqual(['loop', 'veth-down', 'veth-up']);
    const [loop, down, up] = links as [LinkInfo, LinkInfo, LinkInfo];
    expect(formatMac(up.mac)).toBe('02:00:00:00:00:01');
    expect(up).toMatchObject({ up: true, carrier: true, ethernet: true, loopback: false, hasMaster: false });
    expect(down).toMatchObject({ up: false, carrier: false, hasMaster: true });
    expect(loop).toMatchObject({ loopback: true, ethernet: false });
  });

  it('returns nothing when sysfs cannot be read', () => {
    expect(scanLinks('/nonexistent/sys/class/net')).toEqual([]);
  });
});
