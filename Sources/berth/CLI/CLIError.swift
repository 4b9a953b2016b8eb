/// A failure of berth itself (not of berthd): printed as `berth: MESSAGE`.
/// 125 is Docker's status for "the CLI failed"; a command may choose another.
struct CLIError: Error, CustomStringConvertible {
    var message: String
    var status: Int32
    init(_ message: String, status: Int32 = 125) {
        self.message = message
        self.status = status
    }
    var description: String { message }
}
