/**
 * Places of a saved connection as the window uses them: its bookmarks and start folder
 * (kept by the engine with the profile, 'profiles:setPlaces'), and the start folder
 * opened on connect, or the home with a notice when that folder is gone.
 */
import type { FerryApi, Profile, SessionInfo } from '../../../shared/common/contract.js';
import type { ErrorInfo } from '../../../shared/common/errors.js';
import type { PlacesInput } from '../../../shared/common/places.js';
import { i18n } from '../i18n/i18n.js';
import type { SessionStore } from './session-store.js';
import type { TreeStore } from './tree-store.js';

/** The saved connection this session was opened from, if any. */
export function sessionProfile(profiles: readonly Profile[], info: SessionInfo | null): Profile | undefined {
  return info?.profileId ? profiles.find((p) => p.id === info.profileId) : undefined;
}

/** On a new login: go to the profile's start folder; if it is gone, stay home and say so. */
export function openStartFolder(profiles: readonly Profile[], info: SessionInfo, tree: TreeStore): void {
  const start = sessionProfile(profiles, info)?.startFolder;
  if (!start || start === info.cwd) return;
  void tree
    .getState()
    .open(start)
    .then((error) => {
      if (error) tree.getState().notify(i18n.t('panes:start.missing', { path: start }), error);
    });
}

/** Change the places of a profile; the profiles are listed again so every part sees them. */
export async function setPlaces(api: FerryApi, session: SessionStore, profileId: string, places: PlacesInput): Promise<ErrorInfo | null> {
  const r = await api.call('profiles:setPlaces', profileId, places);
  await session.getState().loadProfiles();
  return r.ok ? null : r.error;
}
