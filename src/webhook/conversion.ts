/**
 * BGPPeer conversion between the deprecated v1beta1 and the stored v1beta2. v1beta2 is a superset, so
 * going down would lose fields; they ride along in an annotation and come back on the way up, so a client
 * that reads and writes v1beta1 never strips a v1beta2 setting such as dynamicASN or vrf.
 */

type JsonObject = Record<string, unknown>;

export const stashAnnotation = 'metallb.io/v1beta2-only-fields';

const sharedFields = [
  'myASN',
  'peerASN',
  'peerAddress',
  'sourceAddress',
  'peerPort',
  'holdTime',
  'keepaliveTime',
  'routerID',
  'nodeSelectors',
  'password',
  'bfdProfile',
  'ebgpMultiHop',
] as const;

export type ConversionResult = { ok: true; object: JsonObject } | { ok: false; message: string };

function asObject(value: unknown): JsonObject {
  return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as JsonObject) : {};
}

function pick(spec: JsonObject, fields: readonly string[]): JsonObject {
  return Object.fromEntries(fields.filter((f) => spec[f] !== undefined).map((f) => [f, spec[f]]));
}

export function convertBgpPeer(object: unknown, desiredAPIVersion: string): ConversionResult {
  const source = asObject(object);
  const from = source.apiVersion;
  if (from === desiredAPIVersion) return { ok: true, object: source };
  const metadata = { ...asObject(source.metadata) };
  const annotations = { ...asObject(metadata.annotations) } as Record<string, string>;
  const spec = asObject(source.spec);
  if (from === 'metallb.io/v1beta1' && desiredAPIVersion === 'metallb.io/v1beta2') {
    let stashed: JsonObject = {};
    if (annotations[stashAnnotation]) {
      try {
        stashed = asObject(JSON.parse(annotations[stashAnnotation]));
      } catch {
        // a hand-edited annotation is dropped rather than failing every read of the object
      }
      delete annotations[stashAnnotation];
    }
    const up: JsonObject = { ...stashed, ...pick(spec, sharedFields) };
    // v1beta1 took 0 to mean "the default port"; v1beta2 spells that by leaving the field out.
    if (up.peerPort === 0) delete up.peerPort;
    if (stashed.dynamicASN !== undefined && up.peerASN === 0) delete up.peerASN;
    return { ok: true, object: rebuild(source, desiredAPIVersion, metadata, annotations, up) };
  }
  if (from === 'metallb.io/v1beta2' && desiredAPIVersion === 'metallb.io/v1beta1') {
    const down = pick(spec, sharedFields);
    const extra = Object.fromEntries(
      Object.entries(spec).filter(([key]) => !(sharedFields as readonly string[]).includes(key)),
    );
    if (Object.keys(extra).length > 0) annotations[stashAnnotation] = JSON.stringify(extra);
    else delete annotations[stashAnnotation];
    return { ok: true, object: rebuild(source, desiredAPIVersion, metadata, annotations, down) };
  }
  return { ok: false, message: `cannot convert BGPPeer from ${String(from)} to ${desiredAPIVersion}` };
}

function rebuild(
  source: JsonObject,
  apiVersion: string,
  metadata: JsonObject,
  annotations: Record<string, string>,
  spec: JsonObject,
): JsonObject {
  const out: JsonObject = { ...source, apiVersion, metadata: { ...metadata }, spec };
  const outMetadata = out.metadata as JsonObject;
  if (Object.keys(annotations).length > 0) outMetadata.annotations = annotations;
  else delete outMetadata.annotations;
  return out;
}

export interface ConversionReview {
  apiVersion: string;
  kind: 'ConversionReview';
  request?: { uid?: string; desiredAPIVersion?: string; objects?: unknown[] };
  response?: {
    uid: string;
    convertedObjects: unknown[];
    result: { status: 'Success' | 'Failure'; message?: string };
  };
}

/** Answers a ConversionReview; a failure names the object that could not be converted. */
export function reviewConversion(review: ConversionReview): ConversionReview {
  const uid = review.request?.uid ?? '';
  const desired = review.request?.desiredAPIVersion ?? '';
  const converted: unknown[] = [];
  for (const object of review.request?.objects ?? []) {
    const result = convertBgpPeer(object, desired);
    if (!result.ok) {
      const name = String(asObject(asObject(object).metadata).name ?? '<unnamed>');
      return {
        apiVersion: review.apiVersion,
        kind: 'ConversionReview',
        response: {
          uid,
          convertedObjects: [],
          result: { status: 'Failure', message: `BGPPeer ${name}: ${result.message}` },
        },
      };
    }
    converted.push(result.object);
  }
  return {
    apiVersion: review.apiVersion,
    kind: 'ConversionReview',
    response: { uid, convertedObjects: converted, result: { status: 'Success' } },
  };
}
