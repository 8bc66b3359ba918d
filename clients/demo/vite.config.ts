// Built into gateway/demo (scripts/build-demo.sh), served by `imql serve` at /demo/. `npm run dev`
// serves it on :5173 with the API proxied to a gateway on :8000 (README: Browsers on another origin).
import { defineConfig } from "vite";
import react from "@vitejs/plugin-react";

// vite loads this file in Node; the demo does without @types/node for this one use
declare const process: { env: Record<string, string | undefined> };
const gateway = process.env.IMQL_URL ?? "http://127.0.0.1:8000";

export default defineConfig({
  base: "/demo/",
  plugins: [react()],
  // The kit (@imql/client-kit) is a link to ../typescript, whose own node_modules may hold other
  // copies of these: one copy each, the demo's (graphql's instanceof checks need a single copy).
  resolve: { dedupe: ["graphql", "graphql-ws"] },
  build: { outDir: "../../gateway/demo", emptyOutDir: true, sourcemap: false },
  server: {
    proxy: {
      "/graphql": { target: gateway, ws: true },
      "/media": gateway,
      "/dev": gateway,
    },
  },
});
