/** One of our kinds as generated from api/ into kinds.generated.ts: what the code needs to know about it. */
export interface ApiKindEntry {
  readonly group: string;
  readonly kind: string;
  readonly listKind: string;
  readonly plural: string;
  readonly singular: string;
  readonly shortNames: readonly string[];
  readonly namespaced: boolean;
  /** The version objects are stored in (the one our code reads and writes). */
  readonly storageVersion: string;
  /** group/version of every served version, the storage version first. */
  readonly apiVersions: readonly string[];
  readonly versions: readonly ApiKindVersion[];
  /** For a configuration kind, the property of buildConfig's input that lists its objects. */
  readonly configInput?: string;
}

export interface ApiKindVersion {
  readonly name: string;
  readonly served: boolean;
  readonly storage: boolean;
  readonly deprecated: boolean;
  /** The columns `kubectl get` shows. */
  readonly printerColumns: readonly ApiPrinterColumn[];
}

export interface ApiPrinterColumn {
  readonly name: string;
  readonly type: string;
  readonly jsonPath: string;
  readonly description?: string;
  readonly priority?: number;
}
