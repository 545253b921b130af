/**
 * Places: where a pane can go. The local pane's files on this computer (its home and the
 * top it cannot leave), and per saved connection the remote folders people bookmark and
 * the folder a connection opens in. Bounded and checked here, once, for every layer.
 */
import { z } from 'zod';

/** Bookmarks kept per saved connection. */
export const BOOKMARKS_MAX = 100;

/** A remote folder as a bookmark or start folder holds it: absolute ('/…'), no NUL. */
export const AbsoluteRemotePath = z
  .string()
  .min(1)
  .max(4096)
  .refine((p) => p.startsWith('/') && !p.includes('\0'), 'a remote folder must be an absolute path (starting with /)');

/** A path on this computer: absolute (POSIX, or a Windows drive or share), no NUL. */
export const LocalPath = z
  .string()
  .min(1)
  .max(4096)
  .refine((p) => /^(\/|[A-Za-z]:[\\/]|\\\\)/.test(p) && !p.includes('\0'), 'a local path must be absolute');

/** A profile's places, as 'profiles:setPlaces' changes them (an absent field stays as it is). */
export const PlacesInput = z.object({
  bookmarks: z.array(AbsoluteRemotePath).max(BOOKMARKS_MAX, `at most ${BOOKMARKS_MAX} bookmarks per connection`).optional(),
  /** null: no start folder (the connection opens in its home). */
  startFolder: AbsoluteRemotePath.nullable().optional(),
});
export type PlacesInput = z.infer<typeof PlacesInput>;

/** Where the local pane starts, and the folder it cannot go above. */
export interface LocalHome {
  /** The user's home (desktop), or the folder the web host was started with (browser mode). */
  readonly home: string;
  /** '/' (or the drive) in the desktop app; the same folder as `home` in browser mode. */
  readonly top: string;
}
