/**
 * The UI's languages, as the engine keeps the choice in its settings and the renderer
 * offers it: one of the translations, or whatever the system prefers ('system'). Kept out
 * of contract.ts so the renderer can use the list without bundling zod.
 */
export const UI_LANGUAGES = ['system', 'en', 'zh-CN'] as const;
export type UiLanguage = (typeof UI_LANGUAGES)[number];
