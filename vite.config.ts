import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

// The renderer (React UI) is built from renderer/ into dist/renderer. Relative asset URLs
// (base './') let Electron load it from file:// and the browser host serve it anywhere.
// Tests run with vitest.config.ts, not this file.
export default defineConfig({
  root: 'renderer',
  base: './',
  plugins: [react()],
  build: {
    outDir: '../dist/renderer',
    emptyOutDir: true,
    target: 'es2023',
    sourcemap: true,
    // One local bundle (React + xterm.js ≈ 650 kB) loaded from disk: splitting buys nothing.
    chunkSizeWarningLimit: 1024,
  },
});
