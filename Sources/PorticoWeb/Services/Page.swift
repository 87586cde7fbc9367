/// One page of a longer list, and how many rows the whole list has.
public struct Page<Row: Sendable>: Sendable {
    public let rows: [Row]
    public let total: Int

    public init(rows: [Row], total: Int) {
        self.rows = rows
        self.total = total
    }
}
