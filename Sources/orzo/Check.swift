import ArgumentParser
import Foundation
import Services
import Storage
import StorageFiles

extension Orzo {
    /// Reads a whole store and its index and reports what is wrong
    /// (docs/operations.md, "Checking a store").
    struct Check: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Check a data directory or a Ceph namespace: damage, crash leftovers, orphans.",
            discussion: """
                Read-only by default, and safe beside running processes. With --repair, removes crash \
                leftovers and the data of deleted metrics (never damaged data: it is reported, and kept \
                for an operator). On a data directory, --repair needs the directory free of orzo serve. \
                Exits 0 when nothing is left to do, 1 otherwise.
                """)
        @OptionGroup var common: CommonOptions
        @OptionGroup var backend: BackendOptions
        @Flag(help: "Remove crash leftovers and the data of deleted metrics.") var repair = false

        func run() async throws {
            let configuration = try await common.load(backend.flags)
            let (storage, indexer) = try await BackendOptions.open(
                configuration, filesSharing: repair ? .shared : .unlocked)
            let report = try await StoreCheck(storage: storage, indexer: indexer).run(repair: repair)
            print("metrics: \(report.metricsIndexed) in the index, \(report.metricsStored) with stored data")
            for (metric, problem) in report.damaged { print("damaged: \(metric): \(problem)") }
            for problem in report.indexProblems { print("index: \(problem)") }
            for leftover in report.leftovers {
                print("leftover\(leftover.repaired ? " (removed)" : ""): \(leftover.description)")
            }
            for orphan in report.orphans {
                print("orphan\(orphan.removed ? " (removed)" : ""): data of \(orphan.metric), a deleted metric")
            }
            for (metric, reason) in report.quarantined { print("quarantined: \(metric): \(reason)") }
            let left =
                report.damaged.count + report.indexProblems.count
                + report.leftovers.filter { !$0.repaired }.count + report.orphans.filter { !$0.removed }.count
            print(report.isClean ? "clean" : "\(left) problem\(left == 1 ? "" : "s") left")
            if !report.isClean { throw ExitCode(1) }
        }
    }
}
