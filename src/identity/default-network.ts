/**
 * The network every deployment has from its first start (migrations/0007_networks.sql gives it
 * this id); databases from before networks moved into it. Free of framework imports, so tools
 * and tests may use it.
 */
export const DEFAULT_NETWORK_ID = '00000000-0000-4000-8000-000000000001';
export const DEFAULT_NETWORK_SLUG = 'default';
