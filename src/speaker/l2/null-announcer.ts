/**
 * The announcer used when no raw-frame responder is wired in: it holds the claims and reports each as
 * failed, so status and events say plainly that nothing answers, rather than pretending to announce.
 */
import type { L2Announcer, L2Claim, L2ClaimState, L2StateListener } from './announcer.js';

export class NullAnnouncer implements L2Announcer {
  private readonly claims = new Map<string, L2Claim>();
  private readonly listeners: L2StateListener[] = [];

  constructor(private readonly reason = 'this speaker runs without a layer-2 responder') {}

  reconcile(claims: readonly L2Claim[]): void {
    const wanted = new Map(claims.map((claim) => [claim.ip, claim]));
    for (const ip of this.claims.keys()) if (!wanted.has(ip)) this.claims.delete(ip);
    for (const [ip, claim] of wanted) {
      const isNew = !this.claims.has(ip);
      this.claims.set(ip, claim);
      if (isNew)
        for (const listener of this.listeners) listener(ip, { phase: 'failed', reason: this.reason });
    }
  }

  state(ip: string): L2ClaimState | undefined {
    return this.claims.has(ip) ? { phase: 'failed', reason: this.reason } : undefined;
  }

  onStateChange(listener: L2StateListener): void {
    this.listeners.push(listener);
  }

  async close(): Promise<void> {
    this.claims.clear();
  }
}
