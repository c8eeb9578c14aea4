process.stderr.write('error: tc-debug-torrent is not implemented yet\n');
process.exitCode = 1;
