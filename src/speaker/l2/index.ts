/**
 * The layer-2 announcer as the speaker uses it. Creating one loads nothing native: the libpcap binding is
 * loaded when the first claim needs a capture, and if it cannot be, claims report 'failed' with the reason.
 */
import type { Registry } from 'prom-client';
import { systemClock, type Clock } from '../../runtime/clock.js';
import type { Logger } from '../../runtime/logging.js';
import type { L2Announcer } from './announcer.js';
import { scanLinks } from './interfaces.js';
import { UdpGroupMembership } from './membership.js';
import { L2Metrics } from './metrics.js';
import { FrameResponder, type ResponderTiming } from './responder.js';
import { pcapWire } from './wire.js';

export type { L2Announcer, L2Claim, L2ClaimState, L2StateListener } from './announcer.js';
export { loadPcapBinding } from './wire.js';

export interface L2AnnouncerOptions {
  readonly logger: Logger;
  /** Where upstream's metallb_layer2_* counters are registered; none when omitted. */
  readonly registry?: Registry;
  readonly clock?: Clock;
  readonly timing?: Partial<ResponderTiming>;
}

export function createL2Announcer(options: L2AnnouncerOptions): L2Announcer {
  const logger = options.logger;
  return new FrameResponder({
    wire: pcapWire,
    membership: new UdpGroupMembership((err, ifname, group) =>
      logger.warn(
        { interface: ifname, group, err: err.message },
        'solicited-node multicast membership failed',
      ),
    ),
    scanLinks: () => scanLinks(),
    clock: options.clock ?? systemClock,
    logger,
    ...(options.registry ? { metrics: new L2Metrics(options.registry) } : {}),
    ...(options.timing ? { timing: options.timing } : {}),
  });
}
