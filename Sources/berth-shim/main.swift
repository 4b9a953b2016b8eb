import Glibc
import Shim

exit(ShimCommand.main(Array(CommandLine.arguments.dropFirst())))
