public import DialerConfig
import FoundationEssentials
public import Logging
import Metrics
public import Prometheus

/// Process-wide setup every executable does once at start: logging and metrics.
public enum ProcessBootstrap {
    /// Sends log lines to standard error, one line per event, at the configured level, and
    /// installs a Prometheus registry as the metrics backend. Returns that registry, which
    /// `/metrics` renders.
    public static func bootstrap(logLevel: LogLevel) -> PrometheusCollectorRegistry {
        let level = Logger.Level(logLevel)
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        let registry = PrometheusCollectorRegistry()
        var factory = PrometheusMetricsFactory(registry: registry)
        // The SIP media delays are judged against 50 ms (issue 13): buckets fine enough to
        // bound a p99 by a few milliseconds rather than by the default 25/50/100 ms steps.
        let media: [Duration] =
            [1, 2, 3, 4, 5, 7, 10, 15, 20, 25, 30, 35, 40, 45, 50, 60, 75, 100, 150, 250, 500]
            .map { .milliseconds($0) } + [.seconds(1), .seconds(2.5), .seconds(5)]
        for label in ["dialer_sip_answer_to_agent_audio_seconds", "dialer_sip_first_agent_audio_seconds"] {
            factory.durationHistogramBuckets[label] = media
        }
        // The reservation round trip is judged against 10 ms (issue 17): sub-millisecond steps
        // at the bottom.
        let reservation: [Duration] =
            [250, 500, 750].map { .microseconds($0) }
            + [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 12, 15, 20, 25, 30, 40, 50, 75, 100, 150, 250, 500, 750]
            .map { .milliseconds($0) } + [1, 2.5, 5, 10, 30].map { .seconds($0) }
        for label in [
            "dialer_node_reservation_round_trip_seconds", "dialer_node_reservation_held_seconds",
            "dialer_gateway_reservation_answer_seconds", "dialer_scheduling_lag_seconds",
        ] {
            factory.durationHistogramBuckets[label] = reservation
        }
        MetricsSystem.bootstrap(factory)
        return registry
    }
}

extension Logger.Level {
    /// The swift-log level for a configured level.
    public init(_ level: LogLevel) {
        switch level {
        case .trace: self = .trace
        case .debug: self = .debug
        case .info: self = .info
        case .notice: self = .notice
        case .warning: self = .warning
        case .error: self = .error
        case .critical: self = .critical
        }
    }
}
