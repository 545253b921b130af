/**
 * A FerryApi for each further tab, each a session of its own: in the desktop app the
 * preload opens it (`openTab()`, every call and event tagged with the tab's id); in
 * browser mode it is another WebSocket to the host, which gives each socket its backend.
 */
import type { FerryApi } from '../../../shared/common/contract.js';
import { hostApiUrl } from './api.js';
import { createWsApi } from './ws-api.js';

/** Another tab's API, made the way the first tab's (`first`) was. */
export function openTabApi(first: FerryApi): FerryApi {
  if (first.openTab) return first.openTab();
  return createWsApi({ url: hostApiUrl() });
}
