import DialerTestSupport
import DialerTransport
import Logging
import Synchronization
import Testing

/// A log handler that keeps what it is given.
final class CapturedLog: Sendable {
    let lines = Mutex<[(Logger.Message, Logger.Metadata?)]>([])

    var logger: Logger {
        Logger(label: "test") { _ in CapturingHandler(log: self) }
    }

    struct CapturingHandler: LogHandler {
        let log: CapturedLog
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .trace

        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }

        func log(event: LogEvent) {
            log.lines.withLock { $0.append((event.message, event.metadata)) }
        }
    }
}

@Suite("Violation log")
struct ViolationLogTests {
    @Test func onePeerReconnectingWithGarbageIsLoggedOncePerInterval() {
        let captured = CapturedLog()
        let log = ViolationLog(logger: captured.logger, interval: .seconds(60))
        var written = 0
        for _ in 0..<500 {
            if log.record(host: "10.1.2.3", code: 2, codeName: "MALFORMED_FRAME", detail: "x", peer: nil) {
                written += 1
            }
        }
        #expect(written == 1)
        #expect(captured.lines.withLock { $0.count } == 1)
        // Another peer, or another kind of violation, is still reported.
        #expect(log.record(host: "10.9.9.9", code: 2, codeName: "MALFORMED_FRAME", detail: "x", peer: nil))
        #expect(log.record(host: "10.1.2.3", code: 5, codeName: "AUTHENTICATION_FAILED", detail: "x", peer: nil))
    }

    /// Time is the injected clock's: the interval ends exactly when it says.
    @Test func theNextLineCountsWhatWasSuppressed() {
        let captured = CapturedLog()
        let clock = ManualClock()
        let log = ViolationLog(logger: captured.logger, interval: .milliseconds(50), clock: clock)
        for _ in 0..<10 {
            log.record(host: "h", code: 1, codeName: "FRAME_TOO_LARGE", detail: "x", peer: nil)
        }
        clock.advance(by: .milliseconds(49))
        #expect(!log.record(host: "h", code: 1, codeName: "FRAME_TOO_LARGE", detail: "x", peer: nil))
        clock.advance(by: .milliseconds(1))
        #expect(log.record(host: "h", code: 1, codeName: "FRAME_TOO_LARGE", detail: "x", peer: nil))
        let last = captured.lines.withLock { $0.last?.1?["suppressed_since_last"] }
        #expect(last == "10")
    }
}
