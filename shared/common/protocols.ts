/**
 * The protocols a connection can speak, in a file of their own so the page can import
 * them without the contract's schemas (and zod) in its bundle: Ferry's own (ferryd) and
 * SFTP (any SSH server).
 */

export const PROTOCOLS = ['ferry', 'sftp'] as const;
export type Protocol = (typeof PROTOCOLS)[number];

/** The port each protocol's servers listen on unless told otherwise. */
export const DEFAULT_PORT: { readonly [P in Protocol]: number } = { ferry: 7070, sftp: 22 };
