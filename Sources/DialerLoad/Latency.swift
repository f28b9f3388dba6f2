public import Histogram

/// Percentiles of one latency, in milliseconds, as reports print them.
public struct LatencySummary: Codable, Hashable, Sendable {
    /// How many values were recorded.
    public var count: UInt64
    public var p50Ms: Double
    public var p99Ms: Double
    public var p999Ms: Double
    public var maxMs: Double
    /// Where and how it was measured, for the reader of the JSON.
    public var source: String

    public init(count: UInt64, p50Ms: Double, p99Ms: Double, p999Ms: Double, maxMs: Double, source: String) {
        self.count = count
        self.p50Ms = p50Ms
        self.p99Ms = p99Ms
        self.p999Ms = p999Ms
        self.maxMs = maxMs
        self.source = source
    }

    /// The percentiles of a histogram of microseconds.
    public init(microseconds histogram: Histogram<UInt64>, source: String) {
        func ms(_ value: UInt64) -> Double { Double(value) / 1000 }
        self.init(
            count: histogram.totalCount, p50Ms: ms(histogram.valueAtPercentile(50)),
            p99Ms: ms(histogram.valueAtPercentile(99)), p999Ms: ms(histogram.valueAtPercentile(99.9)),
            maxMs: ms(histogram.max), source: source)
    }
}

/// A histogram of latencies in microseconds, from 1 µs to 10 minutes, 3 significant digits.
public func makeLatencyHistogram() -> Histogram<UInt64> {
    Histogram<UInt64>(highestTrackableValue: 600_000_000, numberOfSignificantValueDigits: .three)
}

/// Percentile bounds read from a Prometheus histogram (cumulative bucket counts by upper
/// bound): the bucket a percentile falls in is known, not the value inside it, so each figure
/// is an upper bound, as coarse as the buckets.
public struct BucketedLatency: Codable, Hashable, Sendable {
    public var count: Double
    /// The upper bound of the bucket holding the 50th percentile, in milliseconds; nil when
    /// it lies above the largest finite bucket.
    public var p50AtMostMs: Double?
    public var p99AtMostMs: Double?
    public var p999AtMostMs: Double?
    public var meanMs: Double?
    public var source: String
    /// Why there are no figures, when there are none: the histogram is absent or empty.
    public var note: String?

    /// - Parameters:
    ///   - buckets: cumulative counts by upper bound in seconds (`+Inf` as `.infinity`).
    ///   - sum: the sum of the values in seconds.
    public init(buckets: [Double: Double], sum: Double, source: String) {
        let bounds = buckets.keys.sorted()
        let total = buckets[.infinity] ?? bounds.last.flatMap { buckets[$0] } ?? 0
        func bound(_ quantile: Double) -> Double? {
            guard total > 0 else { return nil }
            for bound in bounds where buckets[bound]! >= quantile * total {
                return bound.isFinite ? bound * 1000 : nil
            }
            return nil
        }
        self.count = total
        self.p50AtMostMs = bound(0.5)
        self.p99AtMostMs = bound(0.99)
        self.p999AtMostMs = bound(0.999)
        self.meanMs = total > 0 ? sum / total * 1000 : nil
        self.source = source
    }

    /// The values `histogram` recorded between two reads of the nodes' Prometheus texts (each
    /// the texts of every node, concatenated); with a ``note`` instead of figures when the nodes
    /// do not expose the histogram or it recorded nothing in between.
    public init(_ histogram: String, start: String, end: String, source: String) {
        let before = PrometheusText.buckets(histogram, in: start)
        let after = PrometheusText.buckets(histogram, in: end)
        var buckets: [Double: Double] = [:]
        for (bound, count) in after {
            // A count that went backwards belongs to a restarted node: take it from zero.
            let earlier = before[bound] ?? 0
            buckets[bound] = count >= earlier ? count - earlier : count
        }
        let sumBefore = PrometheusText.sum(histogram + "_sum", in: start)
        let sumAfter = PrometheusText.sum(histogram + "_sum", in: end)
        self.init(buckets: buckets, sum: sumAfter >= sumBefore ? sumAfter - sumBefore : sumAfter, source: source)
        if after.isEmpty {
            note =
                "no process read exposes the \(histogram) histogram: a build without it, none recorded yet, or none answered"
        } else if count == 0 {
            note = "\(histogram) recorded nothing during the run"
        }
    }
}
