/**
 * `pnpm build`: compiles every service (the four subgraphs and the gateway) and the shared packages they
 * import to JavaScript, each package into its own `dist/`, with `tsc -b` over their `tsconfig.build.json`
 * (project references: the shared packages are built first, once). Files a service reads at run time
 * next to its code (`schema.graphql`) are copied beside the compiled modules, so `import.meta.url`
 * finds them from `dist/` exactly as from `src/`. The Prisma clients generated into
 * `subgraphs/<feature>/src/generated/` are TypeScript and compile with the rest; their query compiler
 * (WebAssembly) is loaded from the installed `@prisma/client` package, not from the generated folder.
 *
 * Production runs the output with Node alone: `node --conditions=@carwash/dist dist/main.js` (see the
 * README, "Operators"). The condition makes `@carwash/*` imports resolve to `dist/` instead of `src/`.
 *
 *   pnpm build            incremental build
 *   pnpm build --clean    remove every dist/ first
 */
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, readdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));

/** The deployable services; their references bring in the shared packages. */
const SERVICES = [
  'subgraphs/auth',
  'subgraphs/booking',
  'subgraphs/location',
  'subgraphs/payment',
  'gateway',
] as const;

/** Every package `tsc -b` writes a `dist/` for: the services and what they reference. */
const PACKAGES = [
  'packages/client-address',
  'packages/compose',
  'packages/config',
  'packages/errors',
  'packages/events',
  'packages/redis',
  'packages/service-trust',
  'packages/subgraph-kit',
  ...SERVICES,
];

/** Source files that are not compiled but read at run time (SDL, JSON, …) are copied as they are. */
const COMPILED = /\.(ts|mts|cts)$/;

function copyAssets(pkg: string): number {
  const src = path.join(root, pkg, 'src');
  const dist = path.join(root, pkg, 'dist');
  let copied = 0;
  for (const entry of readdirSync(src, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile() || COMPILED.test(entry.name)) continue;
    const from = path.join(entry.parentPath, entry.name);
    cpSync(from, path.join(dist, path.relative(src, from)));
    copied++;
  }
  return copied;
}

if (process.argv.includes('--clean')) {
  for (const pkg of PACKAGES) rmSync(path.join(root, pkg, 'dist'), { recursive: true, force: true });
}

const missingClient = SERVICES.filter(
  (s) => s.startsWith('subgraphs/') && !existsSync(path.join(root, s, 'src/generated/prisma/client.ts')),
);
if (missingClient.length) {
  console.error(`no generated Prisma client in ${missingClient.join(', ')}: run \`pnpm db:generate\` first`);
  process.exit(1);
}

const tsc = path.join(root, 'node_modules', '.bin', 'tsc');
const started = Date.now();
const res = spawnSync(tsc, ['-b', ...SERVICES.map((s) => path.join(s, 'tsconfig.build.json'))], {
  cwd: root,
  stdio: 'inherit',
});
if (res.status !== 0) process.exit(res.status ?? 1);

let assets = 0;
for (const pkg of PACKAGES) assets += copyAssets(pkg);
console.log(
  `built ${PACKAGES.length} packages (${assets} run-time files copied) in ${((Date.now() - started) / 1000).toFixed(1)} s`,
);
