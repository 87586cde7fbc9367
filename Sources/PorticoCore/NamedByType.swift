/// A long-lived object that describes itself by its type's name alone. Service lifecycle logs each service as
/// text; the default description would dump every stored property, keys and clients included, into the log.
public protocol NamedByType: CustomStringConvertible {}

extension NamedByType {
    public var description: String { String(describing: Self.self) }
}
