import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// What agents' logins cost the manager: one PBKDF2 check at the stored rounds, and a burst of
/// simultaneous checks through the manager's own bounded executor (``PasswordWork``), as a
/// wave of agents logging in at once makes them. `dialer-bench --only passwords` prints it.
public enum PasswordBenchmark {
    /// The figures of one run.
    public struct Report: Sendable, CustomStringConvertible {
        public var rounds: Int
        /// CPU milliseconds of one check on its thread: median, least and most of `samples`.
        public var checkMedianMs: Double
        public var checkMinMs: Double
        public var checkMaxMs: Double
        public var samples: Int
        /// The burst: checks started at once, of which admitted (the rest refused at once as
        /// busy), the wall seconds until the last admitted one finished, and the admitted
        /// checks' latencies from the burst's start.
        public var burst: Int
        public var admitted: Int
        public var refused: Int
        public var burstSeconds: Double
        public var latencyP50Ms: Double
        public var latencyP99Ms: Double
        public var threads: Int
        public var capacity: Int

        public var description: String {
            func ms(_ value: Double) -> String { String(format: "%.0f ms", value) }
            return """
                password checks (PBKDF2-HMAC-SHA256, \(rounds) rounds)
                  one check, CPU on its thread: median \(ms(checkMedianMs)) (min \(ms(checkMinMs)), \
                max \(ms(checkMaxMs)), \(samples) samples)
                  burst of \(burst) at once on \(threads) threads, at most \(capacity) admitted: \
                \(admitted) checked, \(refused) refused as busy
                  burst wall time \(String(format: "%.2f s", burstSeconds)), \
                \(String(format: "%.1f", Double(admitted) / max(burstSeconds, 1e-9))) checks/s; \
                latency p50 \(ms(latencyP50Ms)), p99 \(ms(latencyP99Ms))
                """
        }
    }

    /// Measures `samples` single checks, then a burst of `burst` simultaneous ones.
    ///
    /// - Parameter rounds: the PBKDF2 rounds (the store's default for new passwords when nil).
    public static func run(rounds: Int? = nil, samples: Int = 5, burst: Int = 100) async throws -> Report {
        let rounds = rounds ?? PasswordHasher.defaultIterations
        let hasher = PasswordHasher(iterations: rounds)
        let password = "correct horse battery staple"
        let stored = try hasher.hash(password)
        let work = PasswordWork.shared
        var cpu: [Double] = []
        for _ in 0..<max(1, samples) {
            let (ok, seconds) = try await work.run { () throws -> (Bool, Double) in
                let start = threadCPUSeconds()
                let ok = try PasswordHasher.verify(password, against: stored)
                return (ok, threadCPUSeconds() - start)
            }
            guard ok else { throw BenchmarkFailure("a correct password did not verify") }
            cpu.append(seconds * 1_000)
        }
        cpu.sort()
        let start = ContinuousClock.now
        let outcomes = await withTaskGroup(of: Double?.self) { group in
            for _ in 0..<max(1, burst) {
                group.addTask {
                    do {
                        guard try await work.run({ try PasswordHasher.verify(password, against: stored) }) else {
                            return nil
                        }
                        return milliseconds(ContinuousClock.now - start)
                    } catch {
                        return nil
                    }
                }
            }
            var all: [Double?] = []
            for await outcome in group { all.append(outcome) }
            return all
        }
        let wall = ContinuousClock.now - start
        let latencies = outcomes.compactMap { $0 }.sorted()
        func percentile(_ p: Double) -> Double {
            guard !latencies.isEmpty else { return 0 }
            return latencies[min(latencies.count - 1, Int((p * Double(latencies.count)).rounded(.up)) - 1)]
        }
        return Report(
            rounds: rounds, checkMedianMs: cpu[cpu.count / 2], checkMinMs: cpu[0], checkMaxMs: cpu[cpu.count - 1],
            samples: cpu.count, burst: max(1, burst), admitted: latencies.count,
            refused: outcomes.count - latencies.count, burstSeconds: milliseconds(wall) / 1_000,
            latencyP50Ms: percentile(0.50), latencyP99Ms: percentile(0.99), threads: work.threads,
            capacity: work.capacity)
    }

    private static func milliseconds(_ duration: Duration) -> Double {
        let (seconds, attoseconds) = duration.components
        return Double(seconds) * 1_000 + Double(attoseconds) / 1e15
    }

    private static func threadCPUSeconds() -> Double {
        var time = timespec()
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &time)
        return Double(time.tv_sec) + Double(time.tv_nsec) / 1e9
    }

    struct BenchmarkFailure: Error, CustomStringConvertible {
        var description: String
        init(_ description: String) { self.description = description }
    }
}
