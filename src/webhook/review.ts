/**
 * Reads AdmissionReview and ConversionReview bodies from an untrusted client. The API server sends
 * well-formed reviews, but anything that can reach the port can send anything: every field is checked
 * before use, and a broken review becomes an answer, never an exception. When the request's uid can be
 * recovered the answer is a review that denies (or fails) with the reason; without a uid there is no review
 * to answer, and the caller replies 400.
 */
import type { AdmissionRequest } from './server.js';

type JsonObject = Record<string, unknown>;

/** The review versions the API server may send (admissionReviewVersions / conversionReviewVersions). */
export const admissionReviewVersions: readonly string[] = ['admission.k8s.io/v1', 'admission.k8s.io/v1beta1'];
export const conversionReviewVersions: readonly string[] = [
  'apiextensions.k8s.io/v1',
  'apiextensions.k8s.io/v1beta1',
];

const operations: readonly string[] = ['CREATE', 'UPDATE', 'DELETE', 'CONNECT'];

export type ReviewParse<T> =
  | { readonly ok: true; readonly apiVersion: string; readonly request: T }
  /** `uid` and `apiVersion` are present when a review can carry the refusal; otherwise answer 400. */
  | { readonly ok: false; readonly message: string; readonly uid?: string; readonly apiVersion?: string };

export interface ConversionRequest {
  readonly uid: string;
  readonly desiredAPIVersion: string;
  readonly objects: unknown[];
}

function isObject(value: unknown): value is JsonObject {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function isText(value: unknown): value is string {
  return typeof value === 'string' && value.length > 0;
}

/** The envelope both reviews share: kind, apiVersion, request.uid. */
function envelope(
  body: unknown,
  kind: string,
  versions: readonly string[],
):
  | { ok: true; apiVersion: string; request: JsonObject; uid: string }
  | { ok: false; message: string; uid?: string; apiVersion?: string } {
  if (!isObject(body)) return { ok: false, message: `the body is not a ${kind} object` };
  const request = isObject(body.request) ? body.request : undefined;
  const uid = isText(request?.uid) ? request.uid : undefined;
  const apiVersion =
    typeof body.apiVersion === 'string' && versions.includes(body.apiVersion) ? body.apiVersion : undefined;
  const answerable = uid && apiVersion ? { uid, apiVersion } : {};
  if (body.kind !== kind)
    return {
      ok: false,
      message: `kind is ${JSON.stringify(body.kind) ?? 'missing'}, expected ${kind}`,
      ...answerable,
    };
  if (!apiVersion)
    return {
      ok: false,
      message: `apiVersion ${JSON.stringify(body.apiVersion) ?? 'is missing'} is not one of ${versions.join(', ')}`,
      ...(uid ? { uid, apiVersion: versions[0] } : {}),
    };
  if (!request) return { ok: false, message: `${kind} without a request` };
  if (!uid) return { ok: false, message: `${kind} request without a uid` };
  return { ok: true, apiVersion, request, uid };
}

/** An AdmissionReview for the webhook of `expectedKind` (the path it came in on). */
export function parseAdmissionReview(body: unknown, expectedKind: string): ReviewParse<AdmissionRequest> {
  const head = envelope(body, 'AdmissionReview', admissionReviewVersions);
  if (!head.ok) return head;
  const { request, uid, apiVersion } = head;
  const refuse = (message: string) => ({ ok: false as const, message, uid, apiVersion });
  const kind = request.kind;
  if (
    !isObject(kind) ||
    !isText(kind.kind) ||
    typeof kind.group !== 'string' ||
    typeof kind.version !== 'string'
  )
    return refuse('request.kind must be {group, version, kind}');
  if (kind.kind !== expectedKind)
    return refuse(
      `this webhook validates ${expectedKind}, not ${kind.kind}: the webhook configuration's rules are wrong`,
    );
  if (typeof request.operation !== 'string' || !operations.includes(request.operation))
    return refuse(
      `request.operation ${JSON.stringify(request.operation) ?? 'is missing'}: expected one of ${operations.join(', ')}`,
    );
  for (const field of ['name', 'namespace'] as const)
    if (request[field] !== undefined && typeof request[field] !== 'string')
      return refuse(`request.${field} must be a string`);
  for (const field of ['object', 'oldObject'] as const)
    if (request[field] !== undefined && request[field] !== null && !isObject(request[field]))
      return refuse(`request.${field} must be an object`);
  if ((request.operation === 'CREATE' || request.operation === 'UPDATE') && !isObject(request.object))
    return refuse(`request.object is missing: a ${request.operation} carries the object`);
  return {
    ok: true,
    apiVersion,
    request: {
      uid,
      kind: { group: kind.group, version: kind.version, kind: kind.kind },
      operation: request.operation as AdmissionRequest['operation'],
      ...(typeof request.name === 'string' ? { name: request.name } : {}),
      ...(typeof request.namespace === 'string' ? { namespace: request.namespace } : {}),
      ...(isObject(request.object) ? { object: request.object } : {}),
      ...(isObject(request.oldObject) ? { oldObject: request.oldObject } : {}),
      ...(request.dryRun === true ? { dryRun: true } : {}),
    },
  };
}

export function parseConversionReview(body: unknown): ReviewParse<ConversionRequest> {
  const head = envelope(body, 'ConversionReview', conversionReviewVersions);
  if (!head.ok) return head;
  const { request, uid, apiVersion } = head;
  const refuse = (message: string) => ({ ok: false as const, message, uid, apiVersion });
  if (!isText(request.desiredAPIVersion)) return refuse('request.desiredAPIVersion is missing');
  if (!Array.isArray(request.objects)) return refuse('request.objects must be a list');
  return {
    ok: true,
    apiVersion,
    request: { uid, desiredAPIVersion: request.desiredAPIVersion, objects: request.objects },
  };
}
