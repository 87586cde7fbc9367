import Foundation
import PorticoFuzzTargets
import Testing

/// Every input of the fuzzers' committed corpora (`Fuzz/corpus/<target>/`: the seeds, what `make fuzz` found, and
/// any input that once crashed) replayed through the same entry points, without the sanitizers: a parser that
/// crashes on one of them fails the suite here, even where `make fuzz` is not run.
@Suite struct FuzzCorpusTests {
    static let corpus = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../Fuzz/corpus").standardized

    @Test(arguments: FuzzTarget.allCases)
    func everyCommittedInputIsHandled(_ target: FuzzTarget) throws {
        let folder = Self.corpus.appendingPathComponent(target.rawValue)
        let files = try FileManager.default.contentsOfDirectory(at: folder, includingPropertiesForKeys: nil)
        #expect(files.count >= 5, "the \(target.rawValue) corpus has lost its inputs")
        for file in files {
            target.run(Array(try Data(contentsOf: file)))
        }
    }
}
