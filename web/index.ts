/** Browser mode's entry for code: start the host (tests, `npm run web`, later `npm start`). */
export { startWebHost, type WebHost, type WebHostOptions } from './host.js';
