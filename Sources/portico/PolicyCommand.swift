import ArgumentParser
import Foundation
import PorticoCore
import PorticoStore
import Synchronization

struct PolicyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "policy", abstract: "Inspect the policy the gateways enforce.", subcommands: [PolicyMeasureCommand.self])
}

/// Reads the policy exactly as a gateway does at start and says what each part costs in time and memory, so an
/// operator can size gateways before a million keys arrive.
struct PolicyMeasureCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "measure",
        abstract: "Read the whole policy as a gateway does at start; print each part's count, read time and memory.",
        discussion: """
            Memory is the growth of this process's resident memory while the part is read, so run it alone; \
            a gateway holds the same maps.
            """)

    @OptionGroup var database: DatabaseOptions
    @OptionGroup var logging: LoggingOptions

    func run() async throws {
        let logger = logging.logger("portico.policy")
        try await CLI.withDatabase(database, logger: CLI.quiet(logger)) { database in
            let clock = ContinuousClock()
            let parts = Mutex<[(PolicyRepository.PolicyPart, Int, Duration, Int)]>([])
            let last = Mutex((clock.now, ResidentMemory.bytes()))
            let started = clock.now
            let snapshot = try await PolicyRepository(logger: CLI.quiet(logger)).loadSnapshot(from: database, timeout: .seconds(600)) {
                part, count in
                let (now, resident) = (clock.now, ResidentMemory.bytes())
                let (since, before) = last.withLock { previous in
                    defer { previous = (now, resident) }
                    return previous
                }
                parts.withLock { $0.append((part, count, now - since, resident - before)) }
            }
            print("policy version \(snapshot.version), read in \(Self.seconds(clock.now - started))")
            for (part, count, duration, bytes) in parts.withLock({ $0 }) {
                let each = count > 0 ? " (\(bytes / count) bytes each)" : ""
                print(
                    "\(part.rawValue.padding(toLength: 6, withPad: " ", startingAt: 0)) \(count) in \(Self.seconds(duration)), "
                        + String(format: "%.1f MiB", Double(bytes) / 1_048_576) + each)
            }
            withExtendedLifetime(snapshot) {}
        }
    }

    static func seconds(_ duration: Duration) -> String {
        String(format: "%.2f s", duration.seconds)
    }
}

/// This process's resident memory, from /proc (Linux).
enum ResidentMemory {
    static func bytes() -> Int {
        guard let statm = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) else { return 0 }
        let fields = statm.split(separator: " ")
        guard fields.count > 1, let pages = Int(fields[1]) else { return 0 }
        return pages * Int(sysconf(Int32(_SC_PAGESIZE)))
    }
}
