// Bundles the live view and the report (chart code + uPlot + CSS) into dist/, which the repository keeps:
// the C++ build embeds dist/ and needs no npm. Run `npm ci && npm run build` after changing src/.
import * as esbuild from "esbuild";
import { copyFileSync, mkdirSync } from "node:fs";

mkdirSync("dist", { recursive: true });
for (const name of ["live", "report"]) {
  await esbuild.build({
    entryPoints: [`src/${name}.js`],
    bundle: true,
    minify: true,
    format: "iife",
    target: ["es2020"],
    legalComments: "inline",
    outfile: `dist/${name}.js`,
  });
}
copyFileSync("src/index.html", "dist/index.html");
