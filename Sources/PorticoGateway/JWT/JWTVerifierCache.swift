import Foundation
import Logging
import PorticoCore
import Synchronization

/// The verifier for the current auth settings, built once per settings version. Requests after the build read
/// it under a lock without suspending; a build that failed (say, an environment variable missing in this
/// process) is retried after a while, since the cause may be fixed without a settings change.
public final class JWTVerifierCache: Sendable {
    private enum Entry {
        case building(version: Int, Task<Result<JWTVerifier, PorticoError>, Never>)
        case ready(version: Int, Result<JWTVerifier, PorticoError>, at: ContinuousClock.Instant)
    }

    private let factory: JWTVerifierFactory
    private let entry = Mutex<Entry?>(nil)
    static let retryFailedBuildAfter: Duration = .seconds(10)

    public init(factory: JWTVerifierFactory) { self.factory = factory }

    /// The verifier for `version` if it is built already; nil means `verifier(version:config:)` must run.
    func readyVerifier(version: Int) -> JWTVerifier? {
        entry.withLock { entry in
            if case .ready(version, .success(let verifier), _)? = entry { return verifier }
            return nil
        }
    }

    /// The verifier for settings `version`, built from `config` the first time it is asked for (concurrent callers wait
    /// for one build).
    public func verifier(version: Int, config: JWTConfig) async -> Result<JWTVerifier, PorticoError> {
        enum Next {
            case done(Result<JWTVerifier, PorticoError>)
            case wait(Task<Result<JWTVerifier, PorticoError>, Never>, started: Bool)
        }
        let next: Next = entry.withLock { entry in
            switch entry {
            case .ready(version, let result, let at)?:
                if case .failure = result, ContinuousClock.now - at > Self.retryFailedBuildAfter { break }
                return .done(result)
            case .building(version, let running)?:
                return .wait(running, started: false)
            default:
                break
            }
            let factory = self.factory
            let build = Task { () -> Result<JWTVerifier, PorticoError> in
                do throws(PorticoError) { return .success(try await factory.make(config)) } catch { return .failure(error) }
            }
            entry = .building(version: version, build)
            return .wait(build, started: true)
        }
        switch next {
        case .done(let result):
            return result
        case .wait(let task, let started):
            let result = await task.value
            guard started else { return result }
            entry.withLock { entry in
                if case .building(version, _)? = entry { entry = .ready(version: version, result, at: .now) }
            }
            if case .failure(let error) = result {
                factory.logger.error("JWT verification is unavailable", metadata: ["reason": "\(error.message)"])
            }
            return result
        }
    }
}
