// Builds the app into dist/: dist/index.html and dist/assets/app-[hash].{js,css}.
// The output is committed (the server needs no Node.js) and must be reproducible:
// tests/test_web_build.py checks that a fresh `npm ci && npm run build` gives the same bytes.
import * as esbuild from 'esbuild'
import fs from 'node:fs/promises'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

const root = path.dirname(fileURLToPath(import.meta.url))
const outDir = process.env.PLENARY_WEB_OUT ? path.resolve(process.env.PLENARY_WEB_OUT) : path.join(root, 'dist')

await fs.rm(outDir, { recursive: true, force: true })
const result = await esbuild.build({
  absWorkingDir: root,
  entryPoints: { app: 'src/main.js' },
  bundle: true,
  format: 'esm',
  target: ['es2020', 'chrome100', 'firefox100', 'safari15'],
  minify: true,
  legalComments: 'eof',
  charset: 'utf8',
  outdir: path.join(outDir, 'assets'),
  entryNames: '[name]-[hash]',
  assetNames: '[name]-[hash]',
  metafile: true,
  logLevel: 'warning'
})

const outputs = Object.keys(result.metafile.outputs).map((file) => path.basename(file))
const script = outputs.find((name) => name.endsWith('.js'))
const style = outputs.find((name) => name.endsWith('.css'))
if (!script || !style) throw new Error(`expected a script and a stylesheet, got ${outputs.join(', ')}`)

const page = await fs.readFile(path.join(root, 'index.html'), 'utf8')
const built = page
  .replace('<!-- style -->', `<link rel="stylesheet" href="/assets/${style}">`)
  .replace('<!-- script -->', `<script type="module" src="/assets/${script}"></script>`)
await fs.writeFile(path.join(outDir, 'index.html'), built)
console.log(`built ${path.relative(process.cwd(), outDir) || '.'}: index.html, assets/${script}, assets/${style}`)
