import { runMain } from '@tc/cli';
import { run } from './run.js';

runMain(run);
