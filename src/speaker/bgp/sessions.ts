/**
 * Tells people about BGP sessions that do not come up. FRR cannot always say why (a wrong password looks
 * like a silent peer: TCP-MD5 drops the segments), so the report says what FRR knows: the state and the
 * last reset or notification reason. Passwords are never part of it.
 *
 * A session gets `graceMs` to establish before it is reported, then it is reported once per distinct
 * error (not per poll, and not per state flap between Connect and Active); an established session that was
 * reported is reported again as recovered.
 */
import { systemClock, type Clock, type Timer } from '../../runtime/clock.js';
import { silentLogger, type Logger } from '../../runtime/logging.js';
import { bgpPeerLabel, type ConfiguredSession, type FrrSnapshot } from './frr-metrics.js';
import type { BgpNeighborState } from './frr-state.js';

export interface SessionReport {
  readonly kind: 'notEstablished' | 'established';
  readonly session: ConfiguredSession;
  readonly message: string;
  /** FRR's BGP state (Idle, Connect, Active, OpenSent, OpenConfirm, Established), or Unknown. */
  readonly state: string;
  readonly lastError?: string;
}

interface SessionTrack {
  readonly downSince: number;
  /** The error last reported; undefined until reported. */
  readonly reported?: string;
}

export type SessionTracks = ReadonlyMap<string, SessionTrack>;

function trackKey(session: ConfiguredSession): string {
  return `${session.peer} ${session.vrf} ${session.neighbor}`;
}

/** What FRR says about why a session last went down, or undefined. */
export function lastErrorOf(neighbor: BgpNeighborState | undefined): string | undefined {
  if (!neighbor) return undefined;
  if (neighbor.lastNotificationReason) {
    const code = neighbor.lastErrorCodeSubcode ? ` (code ${neighbor.lastErrorCodeSubcode})` : '';
    return `${neighbor.lastResetDueTo ?? 'notification'}: ${neighbor.lastNotificationReason}${code}`;
  }
  return neighbor.lastResetDueTo;
}

function describeSession(session: ConfiguredSession): string {
  const vrf = session.vrf === 'default' ? '' : ` in VRF ${session.vrf}`;
  return `BGP session to ${bgpPeerLabel(session.neighbor, session.port)}${vrf} (BGPPeer ${session.peer})`;
}

/**
 * One evaluation: which sessions to report, and the tracking state for the next one. Sessions no longer
 * configured are forgotten; a snapshot from an unreachable bgpd changes nothing (the FRR applier reports that).
 */
export function evaluateSessions(
  tracks: SessionTracks,
  snapshot: FrrSnapshot,
  sessions: readonly ConfiguredSession[],
  now: number,
  graceMs: number,
): { readonly tracks: SessionTracks; readonly reports: readonly SessionReport[] } {
  if (!snapshot.bgpReachable) return { tracks, reports: [] };
  const next = new Map<string, SessionTrack>();
  const reports: SessionReport[] = [];
  for (const session of sessions) {
    const key = trackKey(session);
    const previous = tracks.get(key);
    const neighbor = snapshot.neighbors.find((n) => n.vrf === session.vrf && n.neighbor === session.neighbor);
    if (neighbor?.established) {
      if (previous?.reported !== undefined) {
        reports.push({
          kind: 'established',
          session,
          state: neighbor.state,
          message: `${describeSession(session)} is established`,
        });
      }
      continue;
    }
    const track: SessionTrack = previous ?? { downSince: now };
    const state = neighbor?.state ?? 'Unknown';
    const lastError = lastErrorOf(neighbor);
    const signature = lastError ?? (neighbor ? 'none' : 'unknown to FRR');
    if (now - track.downSince < graceMs || track.reported === signature) {
      next.set(key, track);
      continue;
    }
    const reason = neighbor
      ? `state ${state}, last error: ${lastError ?? 'none'}`
      : 'FRR has no such neighbor (the configuration is not applied yet?)';
    reports.push({
      kind: 'notEstablished',
      session,
      state,
      ...(lastError ? { lastError } : {}),
      message: `${describeSession(session)} is not established after ${Math.round((now - track.downSince) / 1000)} s: ${reason}; check the peer's address, ASN, password (a wrong password shows as no answer) and that the router accepts this node`,
    });
    next.set(key, { downSince: track.downSince, reported: signature });
  }
  return { tracks: next, reports };
}

export interface SessionWatcherOptions {
  readonly read: () => Promise<FrrSnapshot>;
  readonly sessions: () => readonly ConfiguredSession[];
  readonly report: (report: SessionReport) => void;
  readonly clock?: Clock;
  /** Default 5 s. */
  readonly intervalMs?: number;
  /** Default 10 s. */
  readonly graceMs?: number;
  readonly logger?: Logger;
}

/** Polls FRR's neighbours and reports through `report` (and the log). */
export class SessionWatcher {
  private tracks: SessionTracks = new Map();
  private timer: Timer | undefined;
  private running: Promise<void> | undefined;
  private stopped = false;
  private readonly clock: Clock;
  private readonly log: Logger;

  constructor(private readonly options: SessionWatcherOptions) {
    this.clock = options.clock ?? systemClock;
    this.log = (options.logger ?? silentLogger()).child({ subsystem: 'bgp-sessions' });
  }

  start(): void {
    this.schedule(this.options.intervalMs ?? 5000);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.timer?.cancel();
    await this.running;
  }

  /** One poll; exposed for tests. */
  async check(): Promise<void> {
    const snapshot = await this.options.read();
    const result = evaluateSessions(
      this.tracks,
      snapshot,
      this.options.sessions(),
      this.clock.now(),
      this.options.graceMs ?? 10_000,
    );
    this.tracks = result.tracks;
    for (const report of result.reports) {
      const fields = {
        peer: report.session.peer,
        neighbor: report.session.neighbor,
        vrf: report.session.vrf,
        state: report.state,
        ...(report.lastError ? { lastError: report.lastError } : {}),
      };
      if (report.kind === 'notEstablished') this.log.warn(fields, report.message);
      else this.log.info(fields, report.message);
      this.options.report(report);
    }
  }

  private schedule(delayMs: number): void {
    if (this.stopped) return;
    this.timer = this.clock.setTimer(delayMs, () => {
      this.running = this.check()
        .catch((error: unknown) => this.log.error({ err: error }, 'checking BGP sessions failed'))
        .finally(() => this.schedule(this.options.intervalMs ?? 5000));
    });
  }
}
