import ArgumentParser
import Foundation
import NIOCore
import NIOPosix

@main
struct Portico: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "portico",
        abstract: "Developer portal and embedded API gateway.",
        subcommands: [
            MigrateCommand.self, AdminCommand.self, ServeCommand.self, GatewayCommand.self, DemoUpstreamCommand.self,
            DemoCommand.self, TokenCommand.self, SecretKeyCommand.self, PolicyCommand.self,
        ])

    static func main() async {
        // Threads serving connections (default: one per core); read before the first event loop starts.
        if let loops = ProcessInfo.processInfo.environment["PORTICO_EVENT_LOOPS"].flatMap(Int.init), loops > 0 {
            NIOSingletons.groupLoopCountSuggestion = loops
        }
        // Async code then runs on the NIO event loops too: a request that has to wait (a first token
        // verification, a key fetch) resumes without a hop to another thread pool and back. Portico never
        // blocks an event loop (no `.wait()`).
        _ = NIOSingletons.unsafeTryInstallSingletonPosixEventLoopGroupAsConcurrencyGlobalExecutor()
        await Self.main(nil)
    }
}
