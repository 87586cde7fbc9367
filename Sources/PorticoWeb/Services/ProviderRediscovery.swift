import Foundation
import Logging
import PorticoCore
import PorticoGateway
import PorticoStore
import ServiceLifecycle

/// Reads every identity provider's discovery document again, now and then: endpoints and `jwks_uri` move when a
/// provider is reconfigured. A changed document is stored (audited, and the gateways reload); a provider that
/// cannot be discovered right now keeps what was found before, so its outage breaks nothing that worked.
public struct ProviderRediscovery: Service, NamedByType {
    let store: AdminStore
    let discovery: OIDCDiscovery
    let interval: Duration
    let logger: Logger

    public init(store: AdminStore, interval: Duration) {
        self.store = store
        self.discovery = OIDCDiscovery()
        self.interval = interval
        self.logger = store.database.logger
    }

    public func run() async throws {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                try? await Task.sleep(for: interval)
                if Task.isCancelled { break }
                _ = try? await rediscoverAll()
            }
        }
    }

    /// One pass over every provider; returns the names of those whose stored metadata changed.
    @discardableResult
    public func rediscoverAll() async throws -> [String] {
        var changed: [String] = []
        for provider in try await store.read({ try await store.identityProviders.list(on: $0) }) {
            let metadata: ProviderMetadata
            do {
                metadata = try await discovery.discover(try provider.settings.compiled())
            } catch {
                logger.warning(
                    "identity provider not rediscovered; its stored endpoints stay",
                    metadata: ["provider": "\(provider.settings.name)", "reason": "\(error)"])
                continue
            }
            guard metadata != provider.metadata else { continue }
            try await store.write("identity_provider.rediscover", entity: "identity_provider", by: Actor(id: nil, label: "portico")) {
                connection in
                let before = try await store.identityProviders.require(provider.id, on: connection)
                var after = before
                after.metadata = metadata
                let updated = try await store.identityProviders.update(after, on: connection)
                return (
                    AdminStore.Change(
                        before: IdentityProviderView(before), after: IdentityProviderView(updated), entityId: provider.id.uuidString), ()
                )
            }
            logger.info("identity provider's discovery document changed", metadata: ["provider": "\(provider.settings.name)"])
            changed.append(provider.settings.name)
        }
        return changed
    }
}
