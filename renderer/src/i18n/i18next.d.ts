/** t() keys are checked against the English strings (resources.ts). */
import 'i18next';
import type { en } from './resources.js';

declare module 'i18next' {
  interface CustomTypeOptions {
    defaultNS: 'common';
    resources: typeof en;
  }
}
