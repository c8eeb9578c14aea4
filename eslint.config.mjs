// Lint: type-aware checks that catch real bugs (promises nobody awaits, promises where a callback is
// expected), and the layering of ARCHITECTURE.md as rules, so that the shape holds without review.
import tseslint from 'typescript-eslint';

const APPS = [
  '@tc/debug-torrent',
  '@tc/debug-tracker',
  '@tc/download',
  '@tc/enhance',
  '@tc/netcheck',
  '@tc/seed',
  '@tc/validate',
  '@tc/create-app',
  '@tc/daemon',
  '@tc/fetch',
];
/** An app's folder under apps/: its package name without `@tc/`, except where the name would clash with a package. */
const APP_DIRS = { '@tc/create-app': 'create' };
const appDir = (app) => APP_DIRS[app] ?? app.slice('@tc/'.length);
const OUR_PACKAGES = [
  '@tc/clock',
  '@tc/codec',
  '@tc/wire',
  '@tc/tracker',
  '@tc/dht',
  '@tc/utp',
  '@tc/engine',
  '@tc/job',
  '@tc/cli',
  '@tc/testkit',
  '@tc/create',
  '@tc/daemon-api',
];

/** `@tc/x` and its subpaths (`@tc/x/y`). */
const pkg = (name) => [name, `${name}/*`];
const others = (allowed) => OUR_PACKAGES.filter((p) => !allowed.includes(p)).flatMap(pkg);

/** Sockets, files, processes and threads: what a pure protocol package must not touch. */
const IO_MODULES = [
  'dgram',
  'fs',
  'fs/promises',
  'http',
  'https',
  'http2',
  'child_process',
  'worker_threads',
  'timers',
  'timers/promises',
  'cluster',
  'tls',
].flatMap((m) => [m, `node:${m}`]);
const NET_PURE = ['isIP', 'isIPv4', 'isIPv6'];
const TIMERS = ['setTimeout', 'setInterval', 'setImmediate'].map((name) => ({
  name,
  message: 'pure protocol code takes time from its caller (a Clock), never a timer of its own',
}));

/** The import rule for one layer: which of our packages it may use, and whether it may do I/O. */
function layer(files, allowed, { pure = false, why }) {
  const patterns = [{ group: [...new Set([...others(allowed), ...APPS.flatMap(pkg)])], message: why }];
  const paths = pure
    ? [
        ...IO_MODULES.map((name) => ({ name, message: 'pure protocol code: no sockets, files or timers (the engine owns them)' })),
        ...['net', 'node:net'].map((name) => ({ name, allowImportNames: NET_PURE, message: 'pure protocol code: address parsing only, no sockets' })),
      ]
    : [];
  return {
    files,
    ignores: ['**/*.test.ts', '**/test/**'],
    rules: {
      'no-restricted-imports': ['error', { paths, patterns }],
      ...(pure ? { 'no-restricted-globals': ['error', ...TIMERS] } : {}),
    },
  };
}

export default tseslint.config(
  {
    ignores: [
      '**/dist/**',
      '**/node_modules/**',
      '**/.turbo/**',
      'test-fixtures/**',
      '**/*.d.ts',
      'bench/**',
      'packages/webrtc-stub/**',
      '**/*.mjs',
      '**/*.cjs',
      '**/*.js',
    ],
  },
  {
    files: ['packages/*/src/**/*.ts', 'packages/*/test/**/*.ts', 'apps/*/src/**/*.ts', 'apps/*/test/**/*.ts'],
    extends: [tseslint.configs.base],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    linterOptions: { reportUnusedDisableDirectives: 'error' },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': ['error', { checksVoidReturn: { arguments: false, attributes: false } }],
      '@typescript-eslint/await-thenable': 'error',
      '@typescript-eslint/require-await': 'off',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
      '@typescript-eslint/only-throw-error': 'error',
      '@typescript-eslint/prefer-promise-reject-errors': 'error',
      '@typescript-eslint/no-duplicate-type-constituents': 'error',
      '@typescript-eslint/no-redundant-type-constituents': 'error',
      '@typescript-eslint/return-await': ['error', 'in-try-catch'],
      '@typescript-eslint/switch-exhaustiveness-check': ['error', { considerDefaultExhaustiveForUnions: true }],
      eqeqeq: ['error', 'always', { null: 'ignore' }],
      // Matching control characters is what the sanitizers are for.
      'no-control-regex': 'off',
      'no-console': 'error',
    },
  },
  // Tests may print what they measured (bench-like figures beside the assertion).
  { files: ['**/*.test.ts', '**/test/**/*.ts'], rules: { 'no-console': 'off' } },
  // The layering (ARCHITECTURE.md): dependencies point one way, from codec up to the apps.
  layer(['packages/clock/src/**/*.ts'], [], { why: 'clock is a leaf: it imports nothing of ours' }),
  layer(['packages/codec/src/**/*.ts'], [], { pure: true, why: 'codec imports nothing of ours' }),
  layer(['packages/wire/src/**/*.ts'], ['@tc/codec'], { pure: true, why: 'wire imports only codec (never tracker, dht or the engine)' }),
  layer(['packages/tracker/src/**/*.ts'], ['@tc/codec', '@tc/clock'], { why: 'tracker imports only codec and clock (never wire)' }),
  layer(['packages/dht/src/**/*.ts'], ['@tc/codec', '@tc/clock'], { why: 'dht imports only codec and clock' }),
  layer(['packages/utp/src/**/*.ts'], ['@tc/clock'], { why: 'utp imports only clock' }),
  layer(['packages/engine/src/**/*.ts'], ['@tc/clock', '@tc/codec', '@tc/wire', '@tc/tracker', '@tc/dht', '@tc/utp'], {
    why: 'the engine sits under the job and the apps',
  }),
  layer(['packages/job/src/**/*.ts'], ['@tc/clock', '@tc/codec', '@tc/wire', '@tc/tracker', '@tc/dht', '@tc/engine', '@tc/cli'], {
    why: 'the job sits under the apps',
  }),
  layer(['packages/cli/src/**/*.ts'], ['@tc/codec', '@tc/wire', '@tc/tracker', '@tc/dht', '@tc/engine'], { why: '@tc/cli serves the apps: no app, no job' }),
  layer(['packages/testkit/src/**/*.ts'], ['@tc/codec', '@tc/clock', '@tc/wire'], { why: 'the test kit stands beside the packages it tests' }),
  layer(['packages/create/src/**/*.ts'], ['@tc/codec'], { why: 'create (torrent making and data verification) imports only codec' }),
  // No app imports another app: what two apps need lives in a package.
  ...APPS.map((app) => ({
    files: [`apps/${appDir(app)}/src/**/*.ts`],
    rules: {
      'no-restricted-imports': [
        'error',
        { patterns: [{ group: APPS.filter((a) => a !== app).flatMap(pkg), message: 'no app imports another app: move the shared logic into a package' }] },
      ],
    },
  })),
);
