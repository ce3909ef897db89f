/**
 * The webhook server under a hostile barrage, on 127.0.0.1, with its production limits.
 * Run: node --expose-gc --import tsx bench/webhook-hostile.ts [--rounds 3]
 *
 * Each round sends, at once: 200 truncated JSON bodies, 200 reviews with wrong kinds, versions or missing
 * fields, 20 bodies of 10 MB (half announced by Content-Length, half streamed), 500 connections that
 * hang with half-sent requests, and 200 good AdmissionReviews meanwhile. It prints what each kind got back,
 * the good requests' latency, and the server's RSS (it runs in a child process, read from /proc) before,
 * after each round (hostile connections closed) and at its peak (VmHWM). A 10 MB body gets 413 as soon as
 * the server sees the excess and the connection is closed; a client still writing sees that as ECONNRESET.
 */
import { fork } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { Agent, request } from 'node:https';
import { connect, type TLSSocket } from 'node:tls';
import { parseArgs } from 'node:util';
import { pino } from 'pino';
import { createCertificateAuthority, createServingCertificate } from '../src/webhook/certificates.js';
import { WebhookServer } from '../src/webhook/server.js';

const { values } = parseArgs({
  options: { rounds: { type: 'string', default: '3' }, serve: { type: 'string' } },
});
const path = '/validate-metallb-io-v1beta1-ipaddresspool';

if (values.serve !== undefined) {
  // The child: the server alone, so its RSS is the server's.
  const { certPem, keyPem } = JSON.parse(values.serve) as { certPem: string; keyPem: string };
  const server = await WebhookServer.start({
    certPem,
    keyPem,
    host: '127.0.0.1',
    port: 0,
    logger: pino({ level: 'silent' }),
    handler: () => ({ allowed: true }),
  });
  process.send?.({ port: server.port });
  process.on('message', () => {
    (globalThis as { gc?: () => void }).gc?.();
    process.send?.({ gc: true });
  });
  process.on('disconnect', () => void server.close().then(() => process.exit(0)));
} else {
  await barrage(Number(values.rounds));
}

async function barrage(rounds: number): Promise<void> {
  const ca = createCertificateAuthority('bench-ca');
  const serving = createServingCertificate(ca, { dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'] });
  const child = fork(new URL(import.meta.url).pathname, ['--serve', JSON.stringify(serving)], {
    execArgv: ['--expose-gc', '--import', 'tsx'],
  });
  const port = await new Promise<number>((resolve) =>
    child.once('message', (m: { port: number }) => resolve(m.port)),
  );
  const server = { port };
  const agent = new Agent({ keepAlive: true, maxSockets: 50, ca: ca.certPem });

  /** The server's resident memory, after asking it to collect garbage; or its peak. */
  async function serverMiB(field: 'VmRSS' | 'VmHWM'): Promise<number> {
    if (field === 'VmRSS')
      await new Promise((resolve) => {
        child.once('message', resolve);
        child.send('gc');
      });
    const status = readFileSync(`/proc/${child.pid}/status`, 'utf8');
    return Number(new RegExp(`${field}:\\s+(\\d+)`).exec(status)?.[1] ?? 0) / 1024;
  }

  function review(request: Record<string, unknown>): string {
    return JSON.stringify({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', request });
  }

  const good = review({
    uid: 'good',
    kind: { group: 'metallb.io', version: 'v1beta1', kind: 'IPAddressPool' },
    operation: 'CREATE',
    name: 'p',
    namespace: 'metallb-system',
    object: { metadata: { name: 'p' } },
  });
  const malformed = [
    review({
      uid: 'x',
      kind: { group: 'metallb.io', version: 'v1beta2', kind: 'BGPPeer' },
      operation: 'CREATE',
    }),
    review({ uid: 'x', operation: 'CREATE' }),
    review({ kind: { group: 'metallb.io', version: 'v1beta1', kind: 'IPAddressPool' } }),
    JSON.stringify({ apiVersion: 'v9', kind: 'Nope', request: { uid: 'x' } }),
  ];

  /** Sends a body; resolves with the status, or the error code when the server cut the connection. */
  function send(
    body: string | undefined,
    options: { bigBytes?: number; announce?: boolean } = {},
  ): Promise<string> {
    return new Promise((resolve) => {
      const big = options.bigBytes;
      const headers: Record<string, string> =
        big && options.announce
          ? { 'Content-Length': String(big) }
          : big
            ? { 'Transfer-Encoding': 'chunked' }
            : {};
      const req = request(
        {
          host: '127.0.0.1',
          port: server.port,
          path,
          method: 'POST',
          agent: big ? new Agent({ ca: ca.certPem }) : agent,
          headers,
        },
        (res) => {
          res.resume();
          res.on('end', () => resolve(String(res.statusCode)));
        },
      );
      req.on('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? 'error'));
      if (!big) {
        req.end(body);
        return;
      }
      const chunk = Buffer.alloc(256 * 1024, 0x20);
      let sent = 0;
      const pump = (): void => {
        while (sent < big && !req.destroyed) {
          sent += chunk.length;
          if (!req.write(chunk)) {
            req.once('drain', pump);
            return;
          }
        }
        req.end();
      };
      pump();
    });
  }

  function tally(results: string[]): string {
    const counts = new Map<string, number>();
    for (const r of results) counts.set(r, (counts.get(r) ?? 0) + 1);
    return [...counts].map(([k, v]) => `${k}×${v}`).join(' ');
  }

  console.log(`webhook hostile barrage: ${rounds} rounds, node ${process.version}`);
  const before = await serverMiB('VmRSS');
  const afterRounds: number[] = [];
  for (let round = 1; round <= rounds; round++) {
    const hanging: TLSSocket[] = [];
    for (let i = 0; i < 500; i += 50)
      hanging.push(
        ...(await Promise.all(
          Array.from(
            { length: 50 },
            () =>
              new Promise<TLSSocket>((resolve) => {
                const socket = connect({ host: '127.0.0.1', port: server.port, ca: ca.certPem }, () => {
                  socket.write(`POST ${path} HTTP/1.1\r\nHost: x\r\nContent-Length: 900\r\n\r\n{"kind":`);
                  resolve(socket);
                });
                socket.on('error', () => resolve(socket));
              }),
          ),
        )),
      );
    const started = Date.now();
    const latencies: number[] = [];
    const goodRuns = Promise.all(
      Array.from({ length: 200 }, async () => {
        const t = Date.now();
        const status = await send(good);
        latencies.push(Date.now() - t);
        return status;
      }),
    );
    const [truncated, wrong, bigAnnounced, bigStreamed, goodResults] = await Promise.all([
      Promise.all(Array.from({ length: 200 }, () => send(good.slice(0, 40)))),
      Promise.all(Array.from({ length: 200 }, (_, i) => send(malformed[i % malformed.length]))),
      Promise.all(
        Array.from({ length: 10 }, () => send(undefined, { bigBytes: 10 * 2 ** 20, announce: true })),
      ),
      Promise.all(Array.from({ length: 10 }, () => send(undefined, { bigBytes: 10 * 2 ** 20 }))),
      goodRuns,
    ]);
    latencies.sort((a, b) => a - b);
    console.log(`round ${round} (${Date.now() - started} ms, 500 connections hanging meanwhile)`);
    console.log(`  truncated JSON      ${tally(truncated)}`);
    console.log(`  malformed reviews   ${tally(wrong)}`);
    console.log(`  10 MB announced     ${tally(bigAnnounced)}`);
    console.log(`  10 MB streamed      ${tally(bigStreamed)}`);
    console.log(
      `  good reviews        ${tally(goodResults)}; latency median ${latencies[100]} ms, max ${latencies.at(-1)} ms`,
    );
    for (const socket of hanging) socket.destroy();
    await new Promise((resolve) => setTimeout(resolve, 500));
    afterRounds.push(await serverMiB('VmRSS'));
  }
  agent.destroy();
  const peak = await serverMiB('VmHWM');
  console.log(
    `server RSS MiB: before ${before.toFixed(1)}, after each round ${afterRounds.map((m) => m.toFixed(1)).join(' / ')}, peak ${peak.toFixed(1)}`,
  );
  child.disconnect();
}
