/**
 * The one FerryApi of this page: Electron's preload bridge (window.ferry) when the page
 * runs in the desktop app, otherwise the browser-mode WebSocket to the Ferry web host,
 * authorised by the host's session cookie (set when this browser opened a one-time
 * address; the page never sees it).
 */
import type { FerryApi } from '../../../shared/common/contract.js';
import { createWsApi } from './ws-api.js';

let api: FerryApi | undefined;

export function getApi(): FerryApi {
  if (api) return api;
  const bridged = (window as unknown as { ferry?: FerryApi }).ferry;
  if (bridged) return (api = bridged);
  if (location.protocol !== 'http:' && location.protocol !== 'https:') {
    throw new Error('This page has no Ferry engine: open it from the desktop app or from the Ferry web host (npm run web).');
  }
  return (api = createWsApi({ url: hostApiUrl() }));
}

/** The web host's WebSocket address, on the page's own host (every tab's socket goes there). */
export function hostApiUrl(): string {
  const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
  return `${scheme}//${location.host}/api`;
}
