// berth, the command-line client of berthd: argument parsing, calls through
// BerthClient, and Docker's output and exit codes. See CLI/BerthCLI.swift.
BerthCLI.main()
