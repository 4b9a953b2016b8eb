import Glibc

/// Sizes as Docker prints them (docker/go-units): decimal units with a given
/// number of significant digits and Go's %g (`docker images` uses 3:
/// "5.12MB", "1.2GB", "999B"), or binary units with 4 (`docker info`'s
/// "Total Memory: 990.7MiB").
public enum HumanSize {
    static let decimalUnits = ["B", "kB", "MB", "GB", "TB", "PB", "EB", "ZB", "YB"]
    static let binaryUnits = ["B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB", "ZiB", "YiB"]

    /// go-units HumanSizeWithPrecision: 1000-based; `docker images` and `history` use 3.
    public static func decimal(_ bytes: Int64, precision: Int = 3) -> String {
        scaled(Double(bytes), base: 1000, units: decimalUnits, precision: precision)
    }

    /// go-units HumanSize (precision 4), as `docker system df` prints.
    public static func human(_ bytes: Int64) -> String { decimal(bytes, precision: 4) }

    /// go-units BytesSize: 1024-based, precision 4.
    public static func binary(_ bytes: Int64) -> String {
        scaled(Double(bytes), base: 1024, units: binaryUnits, precision: 4)
    }

    private static func scaled(_ size: Double, base: Double, units: [String], precision: Int) -> String {
        var size = size
        var i = 0
        while size >= base && i < units.count - 1 {
            size /= base
            i += 1
        }
        return formatG(size, precision: precision) + units[i]
    }

    /// C's %.Ng, which Go's %.Ng matches for these magnitudes (no trailing
    /// zeros; "1e+03" where rounding reaches the next power of ten, as Docker shows).
    static func formatG(_ v: Double, precision: Int) -> String {
        var buf = [CChar](repeating: 0, count: 64)
        _ = withVaList([Int32(precision), v]) { vsnprintf(&buf, buf.count, "%.*g", $0) }
        return String(decoding: buf.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
