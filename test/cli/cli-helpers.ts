/** Running the real `ferry` CLI against a test ferryd, and checking its error contract. */
import { expect } from 'vitest';
import { FERRY, run, start, type Ferryd, type RunOptions, type RunResult, type Started, type TestUser } from '../helpers/harness.js';

export interface Cli {
  run(user: TestUser, args: readonly string[], options?: RunOptions): Promise<RunResult>;
  start(user: TestUser, args: readonly string[], options?: RunOptions): Started;
}

/** A CLI bound to one server and one config dir (so host keys are remembered between runs). */
export function cliFor(server: Pick<Ferryd, 'cliArgs'>, configDir: string): Cli {
  const opts = (user: TestUser, options: RunOptions = {}): RunOptions => ({
    ...options,
    env: { FERRY_PASSWORD: user.password, FERRY_CONFIG_DIR: configDir, FERRY_HOST: undefined, FERRY_PORT: undefined, ...options.env },
  });
  return {
    run: (user, args, options) => run(FERRY, [...server.cliArgs(user.name), ...args], opts(user, options)),
    start: (user, args, options) => start(FERRY, [...server.cliArgs(user.name), ...args], opts(user, options)),
  };
}

/** The README's error contract: exit 1 (non-zero) and exactly one stderr line `ferry: CODE: …`. */
export function expectError(result: RunResult, code: string, exitCode = 1): string {
  const lines = result.stderr.split('\n').filter((l) => l.length > 0);
  expect(lines, `stderr was:\n${result.stderr}`).toHaveLength(1);
  expect(lines[0]).toMatch(new RegExp(`^ferry: ${code}: \\S`));
  expect(result.code).toBe(exitCode);
  return lines[0]!;
}

export function expectOk(result: RunResult): RunResult {
  expect(result.code, `exit ${result.code}\nstdout: ${result.stdout}\nstderr: ${result.stderr}`).toBe(0);
  return result;
}
