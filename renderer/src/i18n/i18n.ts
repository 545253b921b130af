/**
 * The UI's languages (i18next with its React binding). The language follows the system
 * (navigator.languages) until one is chosen in Settings; dates, sizes and numbers are then
 * formatted for it too (format.ts reads `currentLocale()`).
 */
import i18next from 'i18next';
import { initReactI18next } from 'react-i18next';
import { RESOURCES } from './resources.js';

export const LANGUAGES = ['en', 'zh-CN'] as const;
export type Language = (typeof LANGUAGES)[number];
/** What Settings offers: a language, or the system's. */
export type LanguageChoice = Language | 'system';

/** The best of our languages for the browser's list of preferred ones. */
export function systemLanguage(preferred: readonly string[] = typeof navigator === 'undefined' ? [] : navigator.languages ?? [navigator.language]): Language {
  for (const tag of preferred) {
    const lower = tag.toLowerCase();
    if (lower.startsWith('zh')) return 'zh-CN';
    if (lower.startsWith('en')) return 'en';
  }
  return 'en';
}

export function resolveLanguage(choice: LanguageChoice | undefined): Language {
  return choice === undefined || choice === 'system' ? systemLanguage() : choice;
}

export const i18n = i18next.createInstance();

void i18n.use(initReactI18next).init({
  resources: RESOURCES,
  lng: systemLanguage(),
  fallbackLng: 'en',
  defaultNS: 'common',
  ns: Object.keys(RESOURCES.en),
  interpolation: { escapeValue: false }, // React escapes
  returnNull: false,
  initAsync: false,
});

/** Switch the UI's language (Settings, or the saved choice at start). */
export function applyLanguage(choice: LanguageChoice | undefined): void {
  const lng = resolveLanguage(choice);
  if (i18n.language !== lng) void i18n.changeLanguage(lng);
  if (typeof document !== 'undefined') document.documentElement.lang = lng;
}

/** The locale numbers and dates are formatted for: the UI's language. */
export function currentLocale(): Language {
  return (LANGUAGES as readonly string[]).includes(i18n.language) ? (i18n.language as Language) : 'en';
}
