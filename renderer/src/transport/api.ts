/**
 * The one FerryApi of this page: Electron's preload bridge (window.ferry) when the page
 * runs in the desktop app, otherwise the browser-mode WebSocket to the Ferry web host,
 * authorised by the token in the page's address (?token=…).
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
  const token = new URLSearchParams(location.search).get('token');
  if (!token) {
    throw new Error('This page was opened without its access token: open the address printed by `npm run web` (it ends with ?token=…).');
  }
  const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
  return (api = createWsApi({ url: `${scheme}//${location.host}/api?token=${encodeURIComponent(token)}` }));
}
