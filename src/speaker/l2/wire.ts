/**
 * Raw frames on one interface. The responder talks to this interface only; the pcap implementation loads the
 * native `cap` binding on first use, so commands that never open a wire never load it, and a missing or
 * unbuildable binding is a reason in a claim's state, not a crash.
 */
import { createRequire } from 'node:module';

export interface WireHandle {
  send(frame: Buffer): void;
  close(): void;
}

export type WireOpen =
  { readonly ok: true; readonly handle: WireHandle } | { readonly ok: false; readonly reason: string };

export interface Wire {
  /** Captures ARP and ICMPv6 frames on `ifname`; `onFrame` gets a buffer that is reused after it returns. */
  open(ifname: string, onFrame: (frame: Buffer) => void): WireOpen;
}

interface CapInstance {
  open(device: string, filter: string, bufferSize: number, buffer: Buffer): string;
  on(event: 'packet', listener: (bytes: number, truncated: boolean) => void): void;
  send(buffer: Buffer, length?: number): void;
  close(): void;
}

interface CapBinding {
  Cap: new () => CapInstance;
}

export type BindingLoad =
  { readonly ok: true; readonly binding: CapBinding } | { readonly ok: false; readonly reason: string };

let loaded: BindingLoad | undefined;

/** Loads `cap` once; the result (binding or reason) is remembered. */
export function loadPcapBinding(): BindingLoad {
  if (loaded) return loaded;
  try {
    const require = createRequire(import.meta.url);
    const binding = require('cap') as CapBinding;
    loaded = { ok: true, binding };
  } catch (err) {
    loaded = {
      ok: false,
      reason:
        `the raw-frame binding (npm package cap) could not be loaded: ${(err as Error).message.split('\n')[0]}; ` +
        'install libpcap-dev and a C++ compiler, then run npm rebuild cap',
    };
  }
  return loaded;
}

/** Only ARP and ICMPv6 reach user space; everything else stays in the kernel. */
export const captureFilter = 'arp or icmp6';
const captureBufferBytes = 1024 * 1024;
const maxFrameBytes = 65535;

export const pcapWire: Wire = {
  open(ifname, onFrame) {
    const load = loadPcapBinding();
    if (!load.ok) return load;
    const cap = new load.binding.Cap();
    const buffer = Buffer.alloc(maxFrameBytes);
    try {
      const linkType = cap.open(ifname, captureFilter, captureBufferBytes, buffer);
      if (linkType !== 'ETHERNET') {
        cap.close();
        return { ok: false, reason: `${ifname} has link type ${linkType}, not Ethernet` };
      }
    } catch (err) {
      return { ok: false, reason: `cannot capture on ${ifname}: ${(err as Error).message}` };
    }
    cap.on('packet', (bytes) => onFrame(buffer.subarray(0, bytes)));
    return {
      ok: true,
      handle: {
        send: (frame) => cap.send(frame, frame.length),
        close: () => cap.close(),
      },
    };
  },
};
