import DialerCore
import Metrics

/// A closure that records each duration to the metrics system's timer `label`: a Prometheus
/// histogram once ``ProcessBootstrap`` has set the metrics up (the buckets of the latencies
/// judged in milliseconds are chosen there).
public func durationRecorder(label: String) -> @Sendable (Duration) -> Void {
    let timer = Timer(label: label)
    return { timer.recordNanoseconds($0.totalNanoseconds) }
}
