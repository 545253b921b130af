/**
 * Which links from a server may be opened: command output can carry hyperlinks (OSC 8),
 * and the server is untrusted. Only web pages (http, https) open, never `file:`,
 * `javascript:` or another app's scheme. The renderer asks before it opens one, and the
 * desktop app's main process asks again before it hands one to the system browser.
 */

/** Longer than any link a person means to follow; bounds what is parsed and shown. */
const MAX_LINK = 2048;

/**
 * The URL to open for `uri`, or null when it must not be opened: not http(s), not a URL,
 * too long, or carrying a user name or password (`https://bank.example@evil.example/`
 * reads as a host it is not).
 */
export function openableLink(uri: string): string | null {
  if (uri.length > MAX_LINK) return null;
  let url: URL;
  try {
    url = new URL(uri);
  } catch {
    return null;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return null;
  if (url.username !== '' || url.password !== '') return null;
  return url.href;
}
