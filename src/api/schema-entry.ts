/** One served version of one of our kinds, as generated from api/ into schemas.generated.ts. */
export interface ApiSchemaEntry {
  readonly apiVersion: string;
  readonly kind: string;
  readonly plural: string;
  readonly storage: boolean;
  /** The CRD's structural openAPIV3Schema for this version, every $ref inlined. */
  readonly schema: Readonly<Record<string, unknown>>;
}
