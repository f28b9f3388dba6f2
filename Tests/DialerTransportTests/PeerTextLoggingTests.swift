import DialerCore
import DialerTransport
import Logging
import Synchronization
import Testing

/// Peer-supplied text cannot forge log lines, and a peer repeating an error writes one line per
/// interval, with a count of the rest.
@Suite("Peer text in logs")
struct PeerTextLoggingTests {
    @Test func controlCharactersAreEscapedAndLongTextIsCut() {
        #expect(LogText.escaped("ok\n2026-12-06 forged line") == #"ok\n2026-12-06 forged line"#)
        #expect(LogText.escaped("a\r\tb\u{1B}[31m\u{7F}\u{85}\u{2028}") == #"a\r\tb\u{1B}[31m\u{7F}\u{85}\u{2028}"#)
        // A backslash is doubled, so that an escape cannot be faked either.
        #expect(LogText.escaped(#"\n"#) == #"\\n"#)
        #expect(LogText.escaped("Åse ✓") == "Åse ✓")
        #expect(LogText.escaped(String(repeating: "x", count: 600), limit: 512).hasSuffix("x…(88 more)"))
        #expect(!LogText.escaped(String(repeating: "\n", count: 100)).contains("\n"))
    }

    @Test func aRepeatedPeerErrorIsLoggedOncePerIntervalWithTheCountOfTheRest() {
        let captured = CapturedLog()
        let clock = Mutex(ContinuousClock.now)
        let log = RepeatedEventLog(
            logger: captured.logger, interval: .seconds(60), now: { clock.withLock { $0 } })
        var written = 0
        for _ in 0..<10_000 {
            if log.log(.notice, "peer reported an error", key: "node-1|3", metadata: ["detail": "x"]) { written += 1 }
        }
        #expect(written == 1)
        // Another peer or code is its own key.
        #expect(log.log(.notice, "peer reported an error", key: "node-2|3", metadata: [:]))
        // A minute later the next line carries the count of those left out.
        clock.withLock { $0 = $0.advanced(by: .seconds(61)) }
        #expect(log.log(.notice, "peer reported an error", key: "node-1|3", metadata: [:]))
        #expect(captured.lines.withLock { $0.last?.1?["suppressed_since_last"] } == "9999")
        #expect(captured.lines.withLock { $0.count } == 3)
    }
}
