import { fileURLToPath } from "node:url";
import tailwindcss from "@tailwindcss/vite";
import react from "@vitejs/plugin-react";
import { defineConfig } from "vitest/config";

// The server (src/tokenoptimizer/server/ui.py) serves this folder: /assets/* as static files and
// index.html for every other non-API path, so client-side routes survive a reload.
const outDir = fileURLToPath(new URL("../src/tokenoptimizer/server/static", import.meta.url));
// `npm run dev` proxies the API to a running `tokenoptimizer serve` (default port 8000).
const apiTarget = process.env.TOKENOPTIMIZER_API ?? "http://127.0.0.1:8000";

export default defineConfig({
  plugins: [react(), tailwindcss()],
  base: "/",
  build: {
    outDir,
    emptyOutDir: true,
    assetsDir: "assets",
    target: "es2022",
    chunkSizeWarningLimit: 600,
  },
  server: {
    proxy: { "/api": apiTarget },
  },
  test: {
    include: ["src/**/*.test.ts"],
    environment: "node",
  },
});
