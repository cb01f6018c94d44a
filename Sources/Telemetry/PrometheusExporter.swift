import Metrics
import Prometheus

/// The process's metrics registry, behind swift-metrics. Bootstrapped once,
/// before any service is created, and only when `/metrics` is served: with no
/// exporter, swift-metrics calls cost nothing.
public enum PrometheusExporter {
    /// Histogram buckets chosen for what Orzo measures (the defaults are for web requests).
    static func factory(registry: PrometheusCollectorRegistry) -> PrometheusMetricsFactory {
        var factory = PrometheusMetricsFactory(registry: registry)
        factory.defaultDurationHistogramBuckets = [
            .microseconds(100), .microseconds(250), .microseconds(500), .milliseconds(1), .microseconds(2500),
            .milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50), .milliseconds(100),
            .milliseconds(250), .milliseconds(500), .seconds(1), .milliseconds(2500), .seconds(5), .seconds(10),
        ]
        factory.valueHistogramBuckets["orzo_metricd_cycle_measures"] = [
            1, 10, 100, 1_000, 10_000, 100_000, 1_000_000,
        ]
        return factory
    }

    /// Sets swift-metrics up to record into a new registry, which it returns.
    public static func bootstrap() -> PrometheusCollectorRegistry {
        let registry = PrometheusCollectorRegistry()
        MetricsSystem.bootstrap(factory(registry: registry))
        return registry
    }
}
