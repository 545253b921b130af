/** The desktop app's settings (settings.json in the config folder). */
import os from 'node:os';
import path from 'node:path';
import { z } from 'zod';
import type { Settings } from '../../../shared/common/contract.js';
import { UI_LANGUAGES, type UiLanguage } from '../../../shared/common/languages.js';
import { FerryError } from '../../../shared/common/errors.js';
import { SPEED_LIMIT_MAX } from '../../../shared/common/speed-limit.js';
import { JsonFile } from './json-file.js';

const SettingsFile = z.object({
  version: z.literal(1),
  downloadDir: z.string().min(1).max(4096).optional(),
  concurrency: z.number().int().min(1).max(16).optional(),
  language: z.enum(UI_LANGUAGES).optional(),
  uploadLimit: z.number().int().min(0).max(SPEED_LIMIT_MAX).optional(),
  downloadLimit: z.number().int().min(0).max(SPEED_LIMIT_MAX).optional(),
  checkSha256: z.boolean().optional(),
});
type SettingsFile = z.infer<typeof SettingsFile>;

export const DEFAULT_CONCURRENCY = 4;

/** The download folder while none was given or chosen: ~/Downloads/Ferry. */
export function defaultDownloadDir(): string {
  return path.join(os.homedir(), 'Downloads', 'Ferry');
}

export class SettingsStore {
  private readonly file: JsonFile<SettingsFile>;

  constructor(
    configDir: string,
    /** Used while no download folder was chosen. */
    private readonly defaultDownloadDir: string,
    log?: (line: string) => void,
  ) {
    this.file = new JsonFile(path.join(configDir, 'settings.json'), SettingsFile, () => ({ version: 1 }), log);
  }

  async get(): Promise<Settings> {
    return this.withDefaults(await this.file.read());
  }

  set(change: {
    downloadDir?: string | undefined;
    concurrency?: number | undefined;
    language?: UiLanguage | undefined;
    uploadLimit?: number | undefined;
    downloadLimit?: number | undefined;
    checkSha256?: boolean | undefined;
  }): Promise<Settings> {
    if (change.downloadDir !== undefined && !path.isAbsolute(change.downloadDir)) {
      throw new FerryError('EINVAL', `The download folder must be a full path (got "${change.downloadDir}").`);
    }
    return this.file.update((data) => {
      const value: SettingsFile = {
        ...data,
        ...(change.downloadDir !== undefined ? { downloadDir: path.normalize(change.downloadDir) } : {}),
        ...(change.concurrency !== undefined ? { concurrency: change.concurrency } : {}),
        ...(change.language !== undefined ? { language: change.language } : {}),
        ...(change.uploadLimit !== undefined ? { uploadLimit: change.uploadLimit } : {}),
        ...(change.downloadLimit !== undefined ? { downloadLimit: change.downloadLimit } : {}),
        ...(change.checkSha256 !== undefined ? { checkSha256: change.checkSha256 } : {}),
      };
      return { value, result: this.withDefaults(value) };
    });
  }

  private withDefaults(data: SettingsFile): Settings {
    return {
      downloadDir: data.downloadDir ?? this.defaultDownloadDir,
      concurrency: data.concurrency ?? DEFAULT_CONCURRENCY,
      // Until one is chosen, the UI follows the system's preferred languages.
      language: data.language ?? 'system',
      uploadLimit: data.uploadLimit ?? 0,
      downloadLimit: data.downloadLimit ?? 0,
      checkSha256: data.checkSha256 ?? false,
    };
  }
}
