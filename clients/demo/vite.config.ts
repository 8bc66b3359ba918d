// Built into gateway/demo (scripts/build-demo.sh), served by `imql serve` at /demo/. `npm run dev`
// serves it on :5173 with the API proxied to a gateway on :8000 (README: Browsers on another origin).
import { defineConfig } from "vite";
import react from "@vitejs/plugin-react";

const gateway = process.env.IMQL_URL ?? "http://127.0.0.1:8000";

export default defineConfig({
  base: "/demo/",
  plugins: [react()],
  build: { outDir: "../../gateway/demo", emptyOutDir: true, sourcemap: false },
  server: {
    proxy: {
      "/graphql": { target: gateway, ws: true },
      "/media": gateway,
      "/dev": gateway,
    },
  },
});
