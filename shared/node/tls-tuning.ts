/**
 * TLS 1.3 cipher suites in order of preference, for ferryd and the engine: AES-128-GCM
 * first (the fastest with AES-NI, as aes128-gcm is for OpenSSH), then the other two.
 * Every suite stays allowed, so peers that prefer another still connect.
 */
export const TLS13_CIPHERSUITES = 'TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256';
