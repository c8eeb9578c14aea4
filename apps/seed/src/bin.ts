import { runMain } from '@tc/cli';
import { run } from '@tc/download/run';

// tc-seed is tc-download's seed-only mode: verify the data, then seed (one code path, one set of tests for both).
runMain((argv, io) => run(argv, io, 'tc-seed'));
