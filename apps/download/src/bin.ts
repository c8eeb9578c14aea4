process.stderr.write('error: tc-download is not implemented yet\n');
process.exitCode = 1;
