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

/** Where the project's images are published; `make images` builds each of them (see images/). */
export const imageRegistry = 'quay.io/metallb-ts';

/** The product image: the `metallb` command with everything the controller, speaker, webhook and operator need. */
export const productImage = `${imageRegistry}/metallb:v${productVersion}`;

/**
 * FRR, run beside each speaker (its daemons, vtysh and frr-reload.py), built from the same Debian FRR the tests
 * run against and tagged with the product's version, so the pair is released together.
 */
export const frrImage = `${imageRegistry}/frr:v${productVersion}`;
