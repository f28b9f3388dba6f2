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
        MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry))
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
