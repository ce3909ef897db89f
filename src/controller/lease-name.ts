/** The controller's leader-election Lease: named by the CLI, granted by name in the controller's Role. */
export const controllerLeaseName = 'metallb-controller';
