process.stderr.write('error: tc-validate is not implemented yet\n');
process.exitCode = 1;
