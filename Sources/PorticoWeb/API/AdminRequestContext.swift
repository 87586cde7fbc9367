import Foundation
import Hummingbird
import NIOCore
import PorticoCore

/// The control plane's request context: the admin of an API call, or the dashboard's and portal's session state.
public struct AdminRequestContext: RequestContext, RemoteAddressRequestContext {
    public var coreContext: CoreRequestContextStorage
    public let remoteAddress: SocketAddress?
    /// The signed-in admin, set by `AdminAuthMiddleware`.
    public var admin: User?
    /// The dashboard's and portal's state for this request, set by `WebSessionMiddleware`.
    public var web: WebState

    public init(source: ApplicationRequestContextSource) {
        self.coreContext = .init(source: source)
        self.remoteAddress = source.channel.remoteAddress
        self.admin = nil
        self.web = WebState()
    }

    public var actor: Actor {
        (admin ?? web.user).map { Actor(id: $0.id, label: $0.email) } ?? Actor(id: nil, label: "anonymous")
    }

    /// The `{name}` path parameter as a UUID; anything else names no entity, so it is a 404.
    public func id(_ name: String = "id", of entity: String) throws -> UUID {
        let raw = parameters.get(name) ?? ""
        guard let id = UUID(uuidString: raw) else { throw PorticoError.notFound("\(entity) \(raw)") }
        return id
    }
}
