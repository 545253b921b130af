/**
 * Preloaded into the local server (`node --import …/local-server-watchdog.js ferryd.js
 * serve …`, see local-server.ts): the app that started it holds the other end of its
 * stdin. When that end closes, because the app quit or died without stopping it, the
 * server stops as on SIGTERM (connections closed, partial uploads kept), so no ferryd is
 * left running behind a crashed app.
 */
let stopping = false;
let handedToFerryd = false;
// Once ferryd is stopping, a second SIGTERM (ours, after the app's) must not cut its
// clean shutdown short: with this listener it is not fatal any more (ferryd bounds its
// shutdown itself).
process.on('SIGTERM', () => {
  stopping = true;
  // ferryd's own handler (a `once`) is still attached during the first SIGTERM it takes.
  if (process.listenerCount('SIGTERM') > 1) handedToFerryd = true;
  // Before ferryd listens (still starting), SIGTERM keeps its usual meaning.
  else if (!handedToFerryd) process.exit(143);
});
const stop = (): void => {
  if (stopping) return;
  stopping = true;
  process.kill(process.pid, 'SIGTERM');
};
process.stdin.once('end', stop);
process.stdin.once('error', stop);
process.stdin.resume();

export {};
