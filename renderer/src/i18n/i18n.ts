/**
 * The UI's languages (i18next with its React binding). The language follows the system
 * (navigator.languages) until one is chosen in Settings; dates, sizes and numbers are then
 * formatted for it too (format.ts reads `currentLocale()`).
 */
import i18next from 'i18next';
import { UI_LANGUAGES, type UiLanguage } from '../../../shared/common/languages.js';
import { RESOURCES } from './resources.js';

/** The UI's translations: what the engine's settings accept (contract.ts), but 'system'. */
export type Language = Exclude<UiLanguage, 'system'>;
export const LANGUAGES = UI_LANGUAGES.filter((l): l is Language => l !== 'system');
/** Each language named in its own words, so it can be found whatever the UI's language is. */
export const LANGUAGE_NAMES: Readonly<Record<Language, string>> = { en: 'English', 'zh-CN': '简体中文' };
/** What Settings offers: a language, or the system's. */
export type LanguageChoice = UiLanguage;

/**
 * The browser's preferred languages and the page's root element, read through globalThis:
 * this file also runs (and type-checks) under Node, in the stores' and formatters' tests.
 */
const host = globalThis as { navigator?: { languages?: readonly string[]; language?: string }; document?: { documentElement: { lang: string } } };
function preferredLanguages(): readonly string[] {
  const nav = host.navigator;
  return nav?.languages ?? (nav?.language ? [nav.language] : []);
}
function setPageLanguage(lng: string): void {
  if (host.document) host.document.documentElement.lang = lng;
}

/** The best of our languages for the browser's list of preferred ones. */
export function systemLanguage(preferred: readonly string[] = preferredLanguages()): Language {
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

void i18n.init({
  resources: RESOURCES,
  lng: systemLanguage(),
  fallbackLng: 'en',
  defaultNS: 'common',
  ns: Object.keys(RESOURCES.en),
  interpolation: { escapeValue: false }, // React escapes
  returnNull: false,
  initAsync: false,
});
setPageLanguage(i18n.language);

/** Switch the UI's language (Settings, or the saved choice at start). */
export function applyLanguage(choice: LanguageChoice | undefined): void {
  const lng = resolveLanguage(choice);
  if (i18n.language !== lng) void i18n.changeLanguage(lng);
  setPageLanguage(lng);
}

/** The UI's language now (English until one of ours is applied). */
export function currentLanguage(): Language {
  return (LANGUAGES as readonly string[]).includes(i18n.language) ? (i18n.language as Language) : 'en';
}

/**
 * The locale numbers and dates are formatted for: the UI's language, in the system's own
 * variant of English when the system prefers one (English in Britain reads "12 Mar
 * 14:03", in the US "Mar 12, 2:03 PM").
 */
export function currentLocale(preferred: readonly string[] = preferredLanguages()): string {
  const lng = currentLanguage();
  // Simplified Chinese reads as in China whatever variant the system names.
  if (lng !== 'en') return lng;
  const own = preferred.find((tag) => tag.toLowerCase().startsWith('en'));
  if (own === undefined) return lng;
  try {
    return Intl.getCanonicalLocales(own)[0] ?? lng;
  } catch {
    return lng;
  }
}
