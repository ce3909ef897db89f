/** Upstream's layer-2 counters (names, types and the `ip` label as upstream), plus frames the responder refused. */
import { Counter, type Registry } from 'prom-client';

export class L2Metrics {
  private readonly requests: Counter<'ip'>;
  private readonly responses: Counter<'ip'>;
  private readonly gratuitous: Counter<'ip'>;
  private readonly malformed: Counter;

  constructor(registry: Registry) {
    const registers = [registry];
    this.requests = new Counter({
      name: 'metallb_layer2_requests_received',
      help: 'Number of layer2 requests received for owned IPs',
      labelNames: ['ip'],
      registers,
    });
    this.responses = new Counter({
      name: 'metallb_layer2_responses_sent',
      help: 'Number of layer2 responses sent for owned IPs',
      labelNames: ['ip'],
      registers,
    });
    this.gratuitous = new Counter({
      name: 'metallb_layer2_gratuitous_sent',
      help: 'Number of gratuitous layer2 packets sent for owned IPs',
      labelNames: ['ip'],
      registers,
    });
    this.malformed = new Counter({
      name: 'metallb_layer2_malformed_frames_total',
      help: 'ARP and NDP frames the responder ignored because they were malformed',
      registers,
    });
  }

  requestReceived(ip: string): void {
    this.requests.inc({ ip });
  }
  responseSent(ip: string): void {
    this.responses.inc({ ip });
  }
  gratuitousSent(ip: string): void {
    this.gratuitous.inc({ ip });
  }
  malformedFrame(): void {
    this.malformed.inc();
  }
  /** Drops an address's series when it is no longer claimed. */
  forget(ip: string): void {
    for (const counter of [this.requests, this.responses, this.gratuitous]) counter.remove({ ip });
  }
}
