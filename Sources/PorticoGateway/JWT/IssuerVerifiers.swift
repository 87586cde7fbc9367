import PorticoCore
import Synchronization

/// One verifier per trusted identity provider, made the first time a token of its issuer arrives and kept while
/// the provider's configuration stays the same, so its key set and verified-token memory live across policy
/// reloads. A changed configuration gets a new verifier.
final class IssuerVerifiers: Sendable {
    private let factory: JWTVerifierFactory
    private let verifiers = Mutex<[String: JWTVerifier]>([:])

    init(factory: JWTVerifierFactory) { self.factory = factory }

    /// The verifier for `trusted` if it is made already; it then decides without suspending.
    func ready(_ trusted: TrustedIssuer) -> JWTVerifier? {
        verifiers.withLock { verifiers in
            guard let verifier = verifiers[trusted.issuer], verifier.config == trusted.config else { return nil }
            return verifier
        }
    }

    /// The verifier for `trusted`, made now when there is none for its current configuration.
    func verifier(for trusted: TrustedIssuer) async throws(PorticoError) -> JWTVerifier {
        if let ready = ready(trusted) { return ready }
        // A JWKS URL makes no request until a token needs a key, so this does not wait on the provider.
        let made = try await factory.make(trusted.config)
        return verifiers.withLock { verifiers in
            if let raced = verifiers[trusted.issuer], raced.config == trusted.config { return raced }
            verifiers[trusted.issuer] = made
            return made
        }
    }
}
