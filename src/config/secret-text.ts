/**
 * A secret value (a BGP password) that refuses to be printed: logging, JSON serialisation and string
 * interpolation all show "[redacted]". Only the FRR renderer should call reveal().
 */
import { createHash } from 'node:crypto';

const redacted = '[redacted]';

export class SecretText {
  readonly #value: string;
  /**
   * A short digest, so that deep equality between two configs notices a changed password (the value itself
   * is in a private field, which equality checks cannot see). It never reaches logs either: see toJSON.
   */
  readonly fingerprint: string;

  constructor(value: string) {
    this.#value = value;
    this.fingerprint = createHash('sha256').update(value).digest('hex').slice(0, 16);
  }

  reveal(): string {
    return this.#value;
  }

  toString(): string {
    return redacted;
  }

  toJSON(): string {
    return redacted;
  }

  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return `SecretText(${redacted})`;
  }
}
