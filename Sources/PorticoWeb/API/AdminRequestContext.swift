import Foundation
import Hummingbird
import PorticoCore

public struct AdminRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    /// The signed-in admin, set by `AdminAuthMiddleware`.
    public var admin: User?

    public init(source: ApplicationRequestContextSource) {
        self.coreContext = .init(source: source)
        self.admin = nil
    }

    public var actor: Actor {
        admin.map { Actor(id: $0.id, label: $0.email) } ?? Actor(id: nil, label: "anonymous")
    }

    /// The `{name}` path parameter as a UUID; anything else names no entity, so it is a 404.
    public func id(_ name: String = "id", of entity: String) throws -> UUID {
        let raw = parameters.get(name) ?? ""
        guard let id = UUID(uuidString: raw) else { throw PorticoError.notFound("\(entity) \(raw)") }
        return id
    }
}
