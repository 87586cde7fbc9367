import ArgumentParser

@main
struct Portico: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "portico",
        abstract: "Developer portal and embedded API gateway.",
        subcommands: [
            MigrateCommand.self, AdminCommand.self, ServeCommand.self, GatewayCommand.self, DemoUpstreamCommand.self,
            DemoCommand.self, TokenCommand.self, SecretKeyCommand.self,
        ])
}
