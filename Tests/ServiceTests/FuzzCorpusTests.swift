import Foundation
import Testing

/// Every committed fuzz input, the seeds and each crash the fuzzer found, run
/// once through its target in the normal build (`orzo-fuzz TARGET FILE…`): a
/// crash found once stays fixed. The fuzzing itself is deploy/fuzz.sh.
@Suite("fuzz corpora and regressions replayed", .timeLimit(.minutes(2)))
struct FuzzCorpusTests {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()
    static let executable = orzoExecutable.deletingLastPathComponent().appendingPathComponent("orzo-fuzz")

    @Test(
        "each target takes its corpus and regressions without a trap",
        arguments: ["put", "query", "operations", "blobs", "state", "statsd", "config"])
    func replay(target: String) async throws {
        let corpus = Self.repository.appendingPathComponent("Fuzz/corpus/\(target)").path
        let regressions = Self.repository.appendingPathComponent("Fuzz/regressions/\(target)").path
        let seeds = try FileManager.default.contentsOfDirectory(atPath: corpus).count
        let found = (try? FileManager.default.contentsOfDirectory(atPath: regressions).count) ?? 0
        #expect(seeds > 0, "the \(target) corpus is committed")
        let (status, output) = try await runProcessOffPool(Self.executable, [target, corpus, regressions])
        #expect(status == 0, "\(output)")
        #expect(output.contains("\(target): \(seeds + found) inputs replayed, no crash"), "\(output)")
    }
}
