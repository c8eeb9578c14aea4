process.stderr.write('error: tc-debug-tracker is not implemented yet\n');
process.exitCode = 1;
