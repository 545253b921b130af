/** English: how transfers are checked (XXH3-128 by default, SHA-256 on request): rows, history, sync, settings. */
export const checks = {
  row: {
    xxh128: 'XXH3-128 checked',
    verifyingXxh128: 'Checking XXH3-128…',
  },
  history: {
    xxh128: 'XXH3-128',
    xxh128Title: 'XXH3-128 {{hash}} (a fast checksum that catches corruption; not a proof against a hostile server)',
  },
  session: {
    xxh128: 'XXH3-128 on both ends (SHA-256 on request in Settings)',
  },
  sync: {
    xxh128: 'Files compared by content (XXH3-128).',
  },
  settings: {
    sha256: 'Check transfers with SHA-256 (slower)',
    sha256Help:
      'By default each file is checked with XXH3-128, a fast checksum that catches corruption (TLS already authenticates the server). SHA-256 costs more CPU, and gives a digest you can compare with one computed elsewhere.',
  },
} as const;
