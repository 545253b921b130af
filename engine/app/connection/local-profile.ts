/**
 * The built-in "Local server" profile: the app's own ferryd, listed first by every
 * backend, started on demand, and never edited or removed like a saved profile.
 */
import type { Profile } from '../../../shared/common/contract.js';
import { FerryError } from '../../../shared/common/errors.js';
import { LOCAL_PROFILE_ID, LOCAL_PROFILE_NAME, type LocalServerHandle } from '../local-server/local-server.js';

export { LOCAL_PROFILE_ID };

/** The profile as the list shows it (started first, so its port is known). */
export async function localProfile(local: LocalServerHandle): Promise<Profile> {
  try {
    await local.start();
  } catch {
    // Listed anyway (with the last port known): connecting to it says what went wrong.
  }
  const { user, port } = local.describe();
  return { id: LOCAL_PROFILE_ID, name: LOCAL_PROFILE_NAME, protocol: 'ferry', host: '127.0.0.1', port: port ?? 0, user, remembered: true, local: true };
}

/** Saving or deleting the built-in profile is refused with this. */
export function builtInProfile(): FerryError {
  return new FerryError('EINVAL', `The "${LOCAL_PROFILE_NAME}" profile is built in: it cannot be changed or removed.`);
}

/** No local server in this front end (the CLI's, say). */
export function noLocalServer(): FerryError {
  return new FerryError('ENOENT', 'There is no local server in this Ferry (it runs in the desktop app and `npm start`).');
}
