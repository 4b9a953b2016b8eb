/// Columns aligned as Docker's tables are (Go's text/tabwriter with
/// minwidth 10, padding 3, padded with spaces): every column but the last is
/// as wide as its widest cell plus three spaces, and at least ten characters.
///
///     REPOSITORY   TAG       IMAGE ID       CREATED       SIZE
///     busybox      latest    a416a98b71e2   4 weeks ago   4.26MB
public struct TableWriter {
    public var minWidth = 10
    public var padding = 3
    private var rows: [[String]] = []

    public init() {}

    public mutating func add(_ cells: [String]) { rows.append(cells) }

    /// A line whose cells are separated by tabs (what a `table` template renders).
    public mutating func add(line: String) { rows.append(line.split(separator: "\t", omittingEmptySubsequences: false).map(String.init)) }

    public func render() -> String {
        var widths: [Int] = []
        for row in rows {
            // As tabwriter: the last cell of a row is not part of a column.
            for (i, cell) in row.dropLast().enumerated() {
                let w = max(minWidth, cell.count + padding)
                if i < widths.count { widths[i] = max(widths[i], w) } else { widths.append(w) }
            }
        }
        var out = ""
        for row in rows {
            for (i, cell) in row.enumerated() {
                out += cell
                if i < row.count - 1 { out += String(repeating: " ", count: widths[i] - cell.count) }
            }
            out += "\n"
        }
        return out
    }
}
