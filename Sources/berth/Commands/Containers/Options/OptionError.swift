/// A flag value berth cannot use. Commands report it as Docker's flag
/// parser does: `invalid argument "512x" for "-m, --memory" flag: invalid size: '512x'`
/// (status 125, as every failure of the CLI itself).
struct OptionError: Error, Equatable, CustomStringConvertible {
    var message: String
    init(_ message: String) { self.message = message }
    var description: String { message }

    /// The message Docker's flag parser prints for a bad value.
    static func flag(_ flag: String, _ value: String, _ reason: String) -> OptionError {
        OptionError("invalid argument \"\(value)\" for \"\(flag)\" flag: \(reason)")
    }
}

extension OptionError {
    /// Wraps a parse of one flag value: its error names the flag as Docker does.
    static func wrap<T>(_ flag: String, _ value: String, _ parse: () throws(OptionError) -> T) throws(OptionError) -> T {
        do { return try parse() } catch { throw .flag(flag, value, error.message) }
    }
}
