/**
 * Every Problem carries one of these codes: a short identifier that stays stable while the wording of
 * messages improves, so tests, scripts and tools can tell problems apart without parsing sentences.
 * A code names the rule that fired, not the object: the same rule on another kind keeps its code.
 * Add a code here (with its one-line meaning) before producing it; never rename or reuse one.
 */
export const problemCodes = {
  // Generic shape of a field, shared by every kind.
  'field.required': 'a field the rule needs is missing',
  'list.duplicate': 'a list names the same value twice',
  'object.notAnObject': 'an input entry is not a JSON object',
  'object.wrongKind': 'an object of another kind or apiVersion sits in a list for this kind',
  'object.duplicateName': 'two objects of one kind share a name',
  'object.wrongNamespace': 'a MetalLB resource outside the namespace MetalLB watches',
  'object.inUse': 'a delete would break a reference from another object',

  // The JSON Schema (structural) checks of src/api, as the API server would apply them.
  'schema.required': 'a required field is missing',
  'schema.unknownField': 'a field this API version does not have',
  'schema.unknownKind': 'a kind that is not part of the metallb.io API',
  'schema.unservedVersion': 'a kind asked for at an apiVersion that is not served',
  'schema.type': 'a value of the wrong JSON type',
  'schema.enum': 'a value outside the allowed set',
  'schema.range': 'a number below the minimum or above the maximum',
  'schema.duration': 'a string that is not a duration such as 90s',
  'schema.pattern': 'a string that does not match the pattern of its field',
  'schema.minItems': 'a list with too few items',
  'schema.maxItems': 'a list with too many items',
  'schema.minLength': 'a string that is empty or too short',
  'schema.intOrString': 'a value that is neither an integer nor a string',
  'schema.anyOf': 'a value that matches none of the allowed forms',
  'schema.format': 'a string that is not valid for its format (ipv4, cidr, ...)',
  'schema.rule': 'a CEL rule of the schema (x-kubernetes-validations) fails',
  'schema.other': 'any other schema keyword fails',

  // Label selectors (every selector field of every kind).
  'selector.invalidLabel': 'a label key or value that Kubernetes would not accept',
  'selector.invalidOperator': 'a matchExpressions operator other than In, NotIn, Exists, DoesNotExist',
  'selector.valuesRequired': 'In or NotIn without values',
  'selector.valuesNotAllowed': 'Exists or DoesNotExist with values',
  'selector.duplicate': 'a requirement or a selector repeated in its list',

  // IPAddressPool.
  'pool.empty': 'a pool without addresses',
  'pool.invalidAddress': 'an address entry that is not a CIDR or a range',
  'pool.duplicateEntry': 'two entries of one pool share addresses',
  'pool.overlap': 'two pools share addresses',

  // L2Advertisement and BGPAdvertisement.
  'ad.poolMissing': 'an advertisement names a pool that does not exist (yet); a warning',
  'ad.peerMissing': 'an advertisement names a peer that does not exist (yet); a warning',
  'ad.weightRange': 'a preferred node selector weight outside 1..100',
  'ad.aggregationLengthRange': 'aggregationLength outside the prefix lengths of its family',
  'ad.aggregationShorterThanPool': 'an aggregation length shorter than a CIDR of a pool it announces',
  'ad.aggregationWithServiceSelectors': 'aggregation combined with serviceSelectors',
  'ad.tooManyCommunities': 'more communities than FRR attaches to a route',
  'ad.duplicate': 'two advertisements announce a pool identically',
  'ad.localPrefConflict': 'two advertisements give one prefix different localPrefs',

  // Community.
  'community.invalid': 'a value that is not a standard or large community',
  'community.unknownAlias': 'a community alias no Community object defines (transient)',
  'community.aliasNameHasColon': 'an alias name that reads as a community value; a warning',
  'community.duplicateAlias': 'an alias defined twice',

  // BFDProfile.
  'bfd.range': 'a BFD timer or multiplier outside its allowed range',
  'bfd.echoWithIPv6': 'a BFD profile with echo mode used for an IPv6 session',

  // BGPPeer.
  'peer.asnTwice': 'peerASN and dynamicASN both set',
  'peer.asnZero': 'myASN 0',
  'peer.dynamicASNInvalid': 'dynamicASN other than internal or external',
  'peer.ibgpMultiHop': 'ebgpMultiHop on an iBGP session',
  'peer.invalidLinkName': 'an interface or VRF name Linux would not accept',
  'peer.addressAndInterface': 'peerAddress and interface both set',
  'peer.invalidAddress': 'a peerAddress that is not an IP address',
  'peer.invalidRouterID': 'a routerID that is not an IPv4 address',
  'peer.invalidSourceAddress': 'a sourceAddress that is not an IP address',
  'peer.invalidPassword': 'a password FRR cannot carry',
  'peer.passwordTwice': 'password and passwordSecret both set',
  'peer.secretNamespace': 'a password Secret in another namespace',
  'peer.secretMissing': 'a password Secret that does not exist (transient)',
  'peer.secretType': 'a password Secret of a type other than kubernetes.io/basic-auth',
  'peer.secretNoPassword': 'a password Secret without a password key',
  'peer.secretBase64': 'a password Secret whose data.password is not base64',
  'peer.bfdProfileMissing': 'a bfdProfile that does not exist (transient)',
  'peer.disableMPDeprecated': 'disableMP set; a warning',
  'peer.negativeKeepalive': 'a negative keepaliveTime',
  'peer.holdTooShort': 'a hold time (given or implied) between 0 and 3s',
  'peer.keepaliveAboveHold': 'keepaliveTime longer than the hold time',
  'peer.duplicate': 'two identical peers',
  'peer.sameNeighbour': 'two peers with one neighbour on one node and VRF',
  'peer.myASNConflict': 'peers sharing a node and VRF with different myASN',
  'peer.routerIDConflict': 'peers sharing a node and VRF with different routerID',

  // The MetalLB resource and the operator's environment.
  'metallb.tolerationSeconds': 'tolerationSeconds on an effect other than NoExecute',
  'metallb.affinityWeight': 'a preferred affinity weight outside 1..100',
  'metallb.bgpBackend': 'a bgpBackend other than frr',
  'metallb.name': 'a MetalLB resource not named metallb',
  'metallb.namespace': "a MetalLB resource outside the operator's namespace",
  'metallb.namespaceTooLong': 'a namespace too long for the owner label of cluster-wide objects',
  'env.invalid': "an invalid value in the operator's environment",

  // The legacy ConfigMap migration (metallb migrate).
  'legacy.notConfigMap': 'the input is not a ConfigMap',
  'legacy.configMissing': 'the ConfigMap has no data.config string',
  'legacy.ignoredKey': 'a ConfigMap key other than config, not migrated; a warning',
  'legacy.yaml': 'data.config is not YAML MetalLB read (or parses with warnings)',
  'legacy.empty': 'nothing to migrate; a warning',
  'legacy.type': 'a legacy value of the wrong type',
  'legacy.emptyValue': 'an empty legacy value',
  'legacy.unknownKey': 'a key not part of the legacy format, not migrated; a warning',
  'legacy.invalidName': 'a name (given or derived) that cannot name a Kubernetes object',
  'legacy.duplicateName': 'a name defined twice',
  'legacy.invalidCommunity': 'a community alias value that is not a community',
  'legacy.invalidProtocol': 'a pool protocol other than layer2 or bgp',
  'legacy.bgpAdsOnLayer2': 'BGP advertisements on a layer2 pool',
  'legacy.inlinePassword': 'a BGP password left inline; a warning',
  'legacy.durationUnit': 'a duration without a unit, migrated with one; a warning',
  'legacy.invalidOperator': 'a selector operator without a label selector equivalent',
} as const satisfies Record<string, string>;

export type ProblemCode = keyof typeof problemCodes;
