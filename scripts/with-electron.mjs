#!/usr/bin/env node
// Run a command only where the `electron` package (an optional dependency) is installed.
// Where it could not be installed, the Electron glue cannot be type-checked or built:
// say so in one line instead of failing everything else.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

if (!existsSync(new URL('../node_modules/electron/electron.d.ts', import.meta.url))) {
  console.log(`electron is not installed: skipped "${process.argv.slice(2).join(' ')}"`);
  process.exit(0);
}
const [command, ...args] = process.argv.slice(2);
const result = spawnSync(command, args, { stdio: 'inherit', shell: process.platform === 'win32' });
process.exit(result.status ?? 1);
