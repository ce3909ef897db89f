/**
 * The one place the product's version is set. Every image reference the install, the bundle and the operator's
 * defaults use derives from it, by immutable version tag, never `:latest`. package.json must agree (a unit
 * test checks it), because `metallb --version` reports that one.
 */
export const productVersion = '0.1.0';

/**
 * Where the source is published: the CSV's repository and Source link, and the base of every alert's runbook
 * link (docs/runbooks/ in this repository, on the main branch).
 */
export const sourceRepository = 'https://github.com/metallb-ts/metallb-ts';

export const imageRepository = 'quay.io/metallb-ts/metallb';

/** The product image: the `metallb` command with everything the controller, speaker, webhook and operator need. */
export const productImage = `${imageRepository}:v${productVersion}`;

/** FRR, run beside each speaker; pinned upstream release. */
export const frrImage = 'quay.io/frrouting/frr:9.1.0';
