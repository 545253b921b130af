/**
 * Preloaded (`node --import`) into the ferryd processes and raw-pipe helpers the bench
 * starts, so that every server stops by itself: when the bench process goes away (our
 * parent pid changes) or when the bench's deadline has passed, even if the bench was
 * killed before it could clean up. It adds one unref'd timer and nothing else, so the
 * server's own code paths are untouched.
 */
const deadline = Number(process.env.FERRY_BENCH_DEADLINE ?? 0);
const parent = process.ppid;

function stop(): void {
  clearInterval(timer);
  // SIGTERM lets ferryd shut down cleanly (its own handler); force it if that hangs.
  process.kill(process.pid, 'SIGTERM');
  setTimeout(() => process.exit(1), 5000).unref();
}

const timer = setInterval(() => {
  if (process.ppid !== parent || (deadline > 0 && Date.now() > deadline)) stop();
}, 500);
timer.unref();

export {};
