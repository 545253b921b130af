/**
 * A translation has exactly the keys of the English original, each a string: a missing or
 * extra key in another language is a type error, not a string that silently shows in
 * English.
 */
export type Translation<T> = { readonly [K in keyof T]: T[K] extends string ? string : Translation<T[K]> };
