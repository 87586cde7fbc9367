// swift-tools-version:6.1
import PackageDescription

/// libFuzzer binaries, one per `FuzzTarget` of the main package, each file only its `LLVMFuzzerTestOneInput`:
/// `make fuzz` (scripts/fuzz.sh) builds them with `-sanitize=fuzzer,address` and runs each. A package of their
/// own, so that the main package's builds never link them.
let targets = ["jws", "claims-expression", "claim-path", "admin-json", "form", "request-head"]

let package = Package(
    name: "portico-fuzz",
    platforms: [.macOS(.v15)],
    dependencies: [.package(name: "portico", path: "..")],
    targets: targets.map { name in
        .executableTarget(
            name: "fuzz-\(name)",
            dependencies: [.product(name: "PorticoFuzzTargets", package: "portico")],
            path: "Targets/fuzz-\(name)")
    },
    swiftLanguageModes: [.v6]
)
