/// The domain errors of Portico. The web layer maps each case to one HTTP status, in one place.
public enum PorticoError: Error, Equatable, Sendable {
    /// The request body is not well-formed (not JSON, wrong type of a field).
    case malformed(String)
    /// A field of the input is wrong; `reason` is a sentence for a person.
    case invalid(field: String, reason: String)
    /// No such entity (`what` names it, e.g. "user 3f…").
    case notFound(String)
    /// A unique name, email or prefix is already taken.
    case duplicate(String)
    /// The request conflicts with the current state.
    case conflict(String)
    /// The caller is not authenticated.
    case unauthenticated(String)
    /// The caller is authenticated but may not do this.
    case forbidden(String)
    /// A dependency (the database) is not reachable.
    case unavailable(String)
    /// The request body is larger than the endpoint takes.
    case tooLarge(String)
    /// The entity changed since the version the caller read (`If-Match` or a form's version no longer current).
    case changedSinceRead(String)

    public var code: String {
        switch self {
        case .malformed: "malformed_request"
        case .invalid: "invalid_input"
        case .notFound: "not_found"
        case .duplicate: "duplicate"
        case .conflict: "conflict"
        case .unauthenticated: "unauthenticated"
        case .forbidden: "forbidden"
        case .unavailable: "unavailable"
        case .tooLarge: "too_large"
        case .changedSinceRead: "changed_since_read"
        }
    }

    public var message: String {
        switch self {
        case .invalid(let field, let reason): "\(field): \(reason)"
        case .notFound(let what): "\(what) not found"
        case .duplicate(let what): "\(what) already exists"
        case .malformed(let why), .conflict(let why), .unauthenticated(let why), .forbidden(let why), .unavailable(let why),
            .tooLarge(let why), .changedSinceRead(let why):
            why
        }
    }
}
