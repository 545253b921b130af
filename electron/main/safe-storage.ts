/**
 * The engine's SecretStore on Electron's safeStorage (the macOS Keychain, Windows DPAPI,
 * or libsecret/kwallet on Linux). On Linux without a keyring Chromium falls back to a
 * fixed, public key ("basic_text"): that is no protection, so then nothing is remembered.
 * Ask only after the app is ready.
 */
import { safeStorage } from 'electron';
import type { SecretStore } from '../../engine/app/backend.js';

export function safeStorageSecretStore(): SecretStore {
  return {
    get available(): boolean {
      if (!safeStorage.isEncryptionAvailable()) return false;
      return process.platform !== 'linux' || safeStorage.getSelectedStorageBackend() !== 'basic_text';
    },
    encrypt: (text) => safeStorage.encryptString(text),
    decrypt: (data) => safeStorage.decryptString(data),
  };
}
