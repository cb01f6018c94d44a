import Storage
import Timeseries
import WireProtocol

/// Routes named measures to their metrics' ids and appends them, so that a
/// metric deleted and created again in another process never swallows an
/// acknowledged measure.
///
/// Names are resolved through the cache, the measures appended, and then the
/// index generation is read (``MetricDirectory/isCurrent(_:)``). Unchanged: no
/// metric used was deleted before the append, so the put is ordered before any
/// delete and stored where it belongs. Changed: the names are resolved again,
/// and the measures of each name that now resolves to another id are appended
/// to that one (the copy under the deleted id is removed with it). A measure is
/// therefore stored under every metric its name had from the first read to the
/// confirmation, and counted only under the one that stands.
struct MeasureRouter: Sendable {
    let directory: MetricDirectory
    let storage: any MetricStorage

    enum Failure: Error {
        case indexer(any Error)
        case storage(any Error)
        /// No metric has this name and no rule matches it (acknowledged puts only).
        case unknownMetric(String)
        /// Deletes kept coming while the put was confirmed: retry.
        case unsettled
    }

    struct Outcome {
        /// Measures stored under a metric.
        var stored = 0
        /// Names without a metric or a rule, and how many measures each had (pushes only).
        var unknown: [(name: String, measures: Int)] = []
    }

    /// Stores `entries`. With `refuseUnknown`, a name without a metric or a rule
    /// fails the whole put (before anything is appended on the first pass);
    /// otherwise its measures are left out and reported.
    func append(_ entries: [PutEntry], refuseUnknown: Bool) async throws(Failure) -> Outcome {
        // name → the id its measures were appended under, across passes.
        var appended: [String: MetricID] = [:]
        for _ in 0..<4 {
            let ticket: MetricDirectory.Ticket
            do { ticket = try await directory.ticket() } catch { throw .indexer(error) }
            var outcome = Outcome()
            var batches: [MetricID: [Measure]] = [:]
            var routes: [String: MetricID] = [:]
            let records: [String: MetricRecord]
            do { records = try await directory.metricsCreatingIfNeeded(entries.map(\.name)) } catch {
                throw .indexer(error)
            }
            for entry in entries {
                guard let record = records[entry.name] else {
                    if refuseUnknown { throw .unknownMetric(entry.name) }
                    outcome.unknown.append((entry.name, entry.measures.count))
                    continue
                }
                routes[entry.name] = record.id
                outcome.stored += entry.measures.count
                if appended[entry.name] != record.id && !entry.measures.isEmpty {
                    batches[record.id, default: []] += entry.measures
                }
            }
            do { try await storage.appendMeasures(batches) } catch { throw .storage(error) }
            appended.merge(routes) { _, new in new }
            let current: Bool
            do { current = try await directory.isCurrent(ticket) } catch { throw .indexer(error) }
            if current { return outcome }
        }
        throw .unsettled
    }
}
