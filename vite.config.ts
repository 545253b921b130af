import { defineConfig } from 'vite';

// The renderer (React UI) is built from renderer/ into dist/renderer.
export default defineConfig({
  root: 'renderer',
  base: './',
  build: { outDir: '../dist/renderer', emptyOutDir: true },
});
