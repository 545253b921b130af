/** The permission text and the chmod rule shared by ferryd, the engine, the CLI and the UI. */
import { describe, expect, it } from 'vitest';
import { FerryError } from '../../shared/common/errors.js';
import { checkChmodMode, octalText, parseOctalMode, permissionText } from '../../shared/common/permissions.js';

describe('permission text', () => {
  it('shows rwx bits as ls -l does, and octal with four digits', () => {
    expect(permissionText(0o755)).toBe('rwxr-xr-x');
    expect(permissionText(0o640)).toBe('rw-r-----');
    expect(permissionText(0o000)).toBe('---------');
    expect(permissionText(0o4777)).toBe('rwxrwxrwx');
    expect(octalText(0o755)).toBe('0755');
    expect(octalText(0o7)).toBe('0007');
  });

  it('parses octal text of 1 to 4 digits up to 0777, and nothing else', () => {
    expect(parseOctalMode('755')).toBe(0o755);
    expect(parseOctalMode(' 0644 ')).toBe(0o644);
    expect(parseOctalMode('0')).toBe(0);
    for (const bad of ['', '8', '0789', '4755', '1777', '77777', 'u+x', '0x1ff', '-1', '7.5']) expect(parseOctalMode(bad), bad).toBeNull();
  });

  it('lets a chmod set rwx bits only: anything else is EINVAL', () => {
    expect(checkChmodMode(0o777)).toBe(0o777);
    expect(checkChmodMode(0)).toBe(0);
    for (const bad of [0o1000, 0o4755, -1, 1.5, Number.NaN]) {
      expect(() => checkChmodMode(bad)).toThrow(FerryError);
      try {
        checkChmodMode(bad);
      } catch (err) {
        expect((err as FerryError).code).toBe('EINVAL');
      }
    }
  });
});
