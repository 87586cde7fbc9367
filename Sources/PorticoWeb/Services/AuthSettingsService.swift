import Foundation
import PorticoCore
import PorticoGateway
import PorticoStore
import PostgresNIO

/// What `PUT /auth-settings` takes. A field left out keeps its current value (`"jwt": null` clears the JWT
/// settings), and `"signingSecret": "set"` keeps the stored secret, so a read can be edited and written back.
public struct AuthSettingsInput: Decodable, Sendable {
    public var mode: AuthMode?
    public var jwt: JWTSettings??
    public var claimsMapping: ClaimsMapping?

    public init(mode: AuthMode? = nil, jwt: JWTSettings?? = nil, claimsMapping: ClaimsMapping? = nil) {
        self.mode = mode
        self.jwt = jwt
        self.claimsMapping = claimsMapping
    }

    private enum CodingKeys: String, CodingKey, CaseIterable {
        case mode, jwt, claimsMapping
    }

    public init(from decoder: any Decoder) throws {
        try StrictDecoding.rejectUnknownFields(
            in: decoder, known: CodingKeys.allCases.map(\.rawValue), reason: "is not an auth setting (mode, jwt, claimsMapping)")
        let container = try decoder.container(keyedBy: CodingKeys.self)
        mode = try container.decodeIfPresent(AuthMode.self, forKey: .mode)
        if container.contains(.jwt) {
            jwt = .some(try container.decodeIfPresent(JWTSettings.self, forKey: .jwt))
        }
        claimsMapping = try container.decodeIfPresent(ClaimsMapping.self, forKey: .claimsMapping)
    }
}

/// The settings as a read shows them: secrets only as "set".
public struct AuthSettingsView: Codable, Sendable, Equatable {
    public var mode: AuthMode
    public var jwt: JWTSettings?
    public var claimsMapping: ClaimsMapping
    public var version: Int
    public var updatedAt: Date
    /// Keys currently off because of the switch to JWT mode; a switch back turns them on.
    public var keysDisabledByModeSwitch: Int
    /// The identity providers whose tokens JWT mode accepts beside its own key source (`acceptTokens`).
    public var trustedProviders: [TrustedProvider]

    /// An identity provider JWT mode trusts, by name and issuer.
    public struct TrustedProvider: Codable, Sendable, Equatable {
        public var name: String
        public var issuer: String
    }
}

/// The settings as saved, and how many keys a mode switch turned off or on again.
public struct AuthSettingsUpdate: Codable, Sendable {
    public var settings: AuthSettingsView
    /// Set when the mode changed: how many API keys the switch turned off or back on.
    public var keysTurnedOff: Int?
    public var keysTurnedOn: Int?
}

/// What a proposed change would do, without doing it.
public struct AuthSwitchPreview: Codable, Sendable {
    public var currentMode: AuthMode
    public var proposedMode: AuthMode
    public var modeChanges: Bool
    public var keysToTurnOff: Int
    public var keysToTurnOn: Int
    /// Up to 100 of the keys concerned.
    public var keys: [AuthSettingsRepository.AffectedKey]
    public var usersLosingAccess: Int
    /// Up to 100 of them.
    public var users: [AuthSettingsRepository.AffectedUser]
}

/// The auth settings: checked in full (keys fetched and parsed) before they are saved, secrets sealed, and the mode
/// switch's key handling.
public struct AuthSettingsService: Sendable {
    let store: AdminStore
    let secretBox: SecretBox?
    let verifiers: JWTVerifierFactory
    let repository: AuthSettingsRepository

    static let previewSampleSize = 100

    public init(store: AdminStore, secretBox: SecretBox?) {
        self.store = store
        self.secretBox = secretBox
        self.verifiers = JWTVerifierFactory(resolver: SecretResolver(box: secretBox), logger: store.database.logger)
        self.repository = AuthSettingsRepository(logger: store.database.logger)
    }

    /// The settings as the admin API shows them: stored secrets as `"set"`, never their value.
    public func current() async throws -> AuthSettingsView {
        try await store.read { connection in try await view(of: repository.load(on: connection), on: connection) }
    }

    /// Validates fully (including reading the key source: a bad PEM, an unreadable file or an unreachable JWKS URL
    /// is a 422 and the old settings stay), then saves in one audited transaction. A mode switch turns API keys
    /// off or back on in the same transaction.
    public func update(_ input: AuthSettingsInput, by actor: Actor) async throws -> AuthSettingsUpdate {
        let stored = try await store.read { try await repository.load(on: $0) }
        let proposed = try await validated(input, over: stored.settings)
        return try await store.write("auth_settings.update", entity: "auth_settings", by: actor) { connection in
            let before = try await repository.load(on: connection)
            // Checked again here: a provider may have gone since the settings were checked.
            try await requireTrustedProvider(for: proposed, on: connection)
            try await repository.save(proposed, on: connection)
            var turnedOff: Int?
            var turnedOn: Int?
            switch (before.settings.mode, proposed.mode) {
            case (.apiKey, .jwt): turnedOff = try await repository.turnKeysOff(on: connection)
            case (.jwt, .apiKey): turnedOn = try await repository.turnKeysOn(on: connection)
            default: break
            }
            let after = try await view(of: repository.load(on: connection), on: connection)
            let beforeView = try await view(of: before, on: connection)
            let update = AuthSettingsUpdate(settings: after, keysTurnedOff: turnedOff, keysTurnedOn: turnedOn)
            return (AdminStore.Change(before: beforeView, after: after, entityId: nil), update)
        }
    }

    /// What `update` would do with the same body, changing nothing; invalid settings are the same 422.
    public func preview(_ input: AuthSettingsInput) async throws -> AuthSwitchPreview {
        let stored = try await store.read { try await repository.load(on: $0) }
        let proposed = try await validated(input, over: stored.settings)
        let current = stored.settings.mode
        return try await store.read { connection in
            let limit = Self.previewSampleSize
            switch (current, proposed.mode) {
            case (.apiKey, .jwt):
                let keys = try await repository.keysAffected(bySwitchingOn: false, limit: limit, on: connection)
                let users = try await repository.usersOnlyWithKeys(limit: limit, on: connection)
                return AuthSwitchPreview(
                    currentMode: current, proposedMode: proposed.mode, modeChanges: true, keysToTurnOff: keys.total, keysToTurnOn: 0,
                    keys: keys.sample, usersLosingAccess: users.total, users: users.sample)
            case (.jwt, .apiKey):
                let keys = try await repository.keysAffected(bySwitchingOn: true, limit: limit, on: connection)
                let users = try await repository.tokenUsersWithoutKeys(limit: limit, on: connection)
                return AuthSwitchPreview(
                    currentMode: current, proposedMode: proposed.mode, modeChanges: true, keysToTurnOff: 0, keysToTurnOn: keys.total,
                    keys: keys.sample, usersLosingAccess: users.total, users: users.sample)
            default:
                return AuthSwitchPreview(
                    currentMode: current, proposedMode: proposed.mode, modeChanges: false, keysToTurnOff: 0, keysToTurnOn: 0,
                    keys: [], usersLosingAccess: 0, users: [])
            }
        }
    }

    /// The input merged over the stored settings, the secret sealed, everything checked.
    private func validated(_ input: AuthSettingsInput, over stored: AuthSettings) async throws -> AuthSettings {
        var settings = stored
        if let mode = input.mode { settings.mode = mode }
        if let mapping = input.claimsMapping { settings.claimsMapping = mapping }
        if let jwt = input.jwt {
            settings.jwt = try jwt.map { proposed in try sealingSecret(of: proposed, stored: stored.jwt) }
        }
        let compiled = try settings.compiled()
        if settings.trustsOnlyIdentityProviders {
            try await store.read { [settings] in try await requireTrustedProvider(for: settings, on: $0) }
        } else if let config = compiled.jwt {
            _ = try await verifiers.makeChecked(config)
        }
        return settings
    }

    /// JWT mode with no key source of its own needs an identity provider whose tokens it can trust.
    private func requireTrustedProvider(for settings: AuthSettings, on connection: PostgresConnection) async throws {
        guard settings.trustsOnlyIdentityProviders else { return }
        let trusting = try await store.identityProviders.list(on: connection).filter { $0.settings.acceptTokens == true }
        guard !trusting.isEmpty else {
            throw PorticoError.invalid(
                field: "jwt", reason: "JWT mode needs JWT settings with a key source, or an identity provider with acceptTokens")
        }
    }

    private func sealingSecret(of proposed: JWTSettings, stored: JWTSettings?) throws -> JWTSettings {
        var settings = proposed
        settings.signingSecret = try SecretSealing(box: secretBox).stored(
            proposed.signingSecret, over: stored?.signingSecret, field: "jwt.signingSecret")
        return settings
    }

    private func view(of stored: AuthSettingsRepository.Stored, on connection: PostgresConnection) async throws -> AuthSettingsView {
        let off = try await repository.keysAffected(bySwitchingOn: true, limit: 0, on: connection).total
        let trusted = try await store.identityProviders.list(on: connection)
            .filter { $0.settings.acceptTokens == true }.map { AuthSettingsView.TrustedProvider(name: $0.settings.name, issuer: $0.settings.issuer) }
        return AuthSettingsView(
            mode: stored.settings.mode, jwt: stored.settings.jwt?.shown, claimsMapping: stored.settings.claimsMapping,
            version: stored.version, updatedAt: stored.updatedAt, keysDisabledByModeSwitch: off, trustedProviders: trusted)
    }
}
