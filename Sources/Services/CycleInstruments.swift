import Metrics

/// What a processing cycle reports, whoever runs it (an aggregation worker, or
/// the query service refreshing a metric): counts for `status`, and the
/// duration and size histograms for `/metrics`.
struct CycleInstruments: Sendable {
    let counters: ServiceCounters
    private let duration = Metrics.Timer(label: "orzo_metricd_cycle_duration_seconds")
    private let measures = Recorder(label: "orzo_metricd_cycle_measures", aggregate: true)

    init(counters: ServiceCounters) { self.counters = counters }

    func processed(measures processed: Int, droppedTooOld: Int, since started: ContinuousClock.Instant) {
        duration.record(duration: started.duration(to: .now))
        measures.record(processed)
        counters.add(.cyclesProcessed)
        counters.add(.measuresProcessed, processed)
        counters.add(.measuresDroppedTooOld, droppedTooOld)
    }
}
