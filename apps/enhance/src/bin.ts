process.stderr.write('error: tc-enhance is not implemented yet\n');
process.exitCode = 1;
