import { runMain } from '@tc/cli';
import { realDeps } from './deps.js';
import { run } from './run.js';

runMain((argv, io) => run(argv, io, { deps: (o) => realDeps(o) }));
