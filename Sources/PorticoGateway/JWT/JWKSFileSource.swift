import Foundation
import JWTKit
import Logging
import PorticoCore
import Synchronization

/// A JWK set in a file, re-read when the file changes (its modification time or size is looked at no more than
/// once a second). A change that does not parse keeps the last good keys.
final class JWKSFileSource: Sendable {
    let path: String
    private let algorithms: [JWTAlgorithmName]
    private let logger: Logger
    private let state: Mutex<State>

    static let checkInterval: Duration = .seconds(1)

    private struct State {
        var keys: VerificationKeys
        var signature: FileSignature?
        var checkedAt: ContinuousClock.Instant
        /// Counts re-reads that installed new keys.
        var generation = 0
    }

    private struct FileSignature: Equatable {
        let modified: Date?
        let size: Int?
    }

    private init(path: String, algorithms: [JWTAlgorithmName], logger: Logger, keys: VerificationKeys, signature: FileSignature?) {
        self.path = path
        self.algorithms = algorithms
        self.logger = logger
        self.state = Mutex(State(keys: keys, signature: signature, checkedAt: .now))
    }

    static func load(path: String, algorithms: [JWTAlgorithmName], logger: Logger) async throws(VerificationKeys.BuildError) -> JWKSFileSource {
        let signature = Self.signature(of: path)
        guard let data = FileManager.default.contents(atPath: path) else {
            throw .unusable("the file \(path) cannot be read")
        }
        do {
            let keys = try await VerificationKeys.jwks(json: data, algorithms: algorithms, inconsistent: .refuse)
            return JWKSFileSource(path: path, algorithms: algorithms, logger: logger, keys: keys, signature: signature)
        } catch let error as VerificationKeys.BuildError {
            throw error
        } catch {
            throw .unusable(String(describing: error))
        }
    }

    /// Which keys are current, without touching the file; nil when the file is due to be looked at again.
    func checkedGeneration() -> Int? {
        state.withLock { ContinuousClock.now - $0.checkedAt >= Self.checkInterval ? nil : $0.generation }
    }

    func currentKeys() async -> VerificationKeys {
        let (keys, due) = state.withLock { state in
            let now = ContinuousClock.now
            guard now - state.checkedAt >= Self.checkInterval else { return (state.keys, false) }
            state.checkedAt = now
            return (state.keys, true)
        }
        guard due else { return keys }
        let signature = Self.signature(of: path)
        guard signature != state.withLock({ $0.signature }) else { return keys }
        do {
            guard let data = FileManager.default.contents(atPath: path) else { throw VerificationKeys.BuildError.unusable("unreadable") }
            let reloaded = try await VerificationKeys.jwks(json: data, algorithms: algorithms, inconsistent: .refuse)
            state.withLock {
                $0.keys = reloaded
                $0.signature = signature
                $0.generation += 1
            }
            logger.info("JWK set file re-read", metadata: ["path": "\(path)", "keys": "\(reloaded.count)"])
            return reloaded
        } catch {
            state.withLock { $0.signature = signature }
            logger.warning(
                "JWK set file changed but cannot be used; keeping the last good keys", metadata: ["path": "\(path)", "reason": "\(error)"])
            return keys
        }
    }

    private static func signature(of path: String) -> FileSignature? {
        guard let attributes = try? FileManager.default.attributesOfItem(atPath: path) else { return nil }
        return FileSignature(modified: attributes[.modificationDate] as? Date, size: (attributes[.size] as? NSNumber)?.intValue)
    }
}
