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
            DemoCommand.self, TokenCommand.self, SecretKeyCommand.self,
        ])

    static func main() async {
        // Request handlers then run on the NIO event loop that owns their connection: no hop to Swift's
        // cooperative pool and back for every request. Portico never blocks an event loop (no `.wait()`).
        if let loops = ProcessInfo.processInfo.environment["EXPERIMENT_LOOPS"].flatMap(Int.init) { NIOSingletons.groupLoopCountSuggestion = loops }
        _ = NIOSingletons.unsafeTryInstallSingletonPosixEventLoopGroupAsConcurrencyGlobalExecutor()
        await Self.main(nil)
    }
}
