/**
 * Retries an API request until the API server answers it, or answers one of the `accepted` status codes (a 409
 * for a create that went through before the connection dropped): right after an outage it may not answer.
 */
import { apiStatus } from '../../src/runtime/raw-client.js';
import { sleep } from './processes.js';

export async function persist(
  call: () => Promise<unknown>,
  accepted: readonly number[] = [],
  timeoutMs = 60_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      await call();
      return;
    } catch (error) {
      const status = apiStatus(error);
      if (status !== undefined && accepted.includes(status)) return;
      if (Date.now() > deadline) throw error;
      await sleep(250);
    }
  }
}
