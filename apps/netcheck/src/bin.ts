process.stderr.write('error: tc-netcheck is not implemented yet\n');
process.exitCode = 1;
