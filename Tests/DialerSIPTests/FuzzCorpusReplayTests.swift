import DialerSIP
import Foundation
import Testing

/// Every input of the SIP parser's fuzz corpus (fuzz/corpus/sip, including any input that once
/// crashed it) parses to a message or a clean error, and what parses survives the round trip
/// the fuzz target checks: serialised, it parses again and serialises to the same bytes.
@Suite("Fuzz corpus replay: SIP")
struct SIPCorpusReplayTests {
    static let corpus = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("fuzz/corpus/sip")

    @Test func everyCorpusInputParsesOrIsRefused() throws {
        let files = try FileManager.default.contentsOfDirectory(at: Self.corpus, includingPropertiesForKeys: nil)
        #expect(!files.isEmpty, "no corpus in \(Self.corpus.path)")
        let parser = SIPParser(limits: SIPLimits(maxMessageBytes: 2_048, maxHeaderFields: 16, maxLineBytes: 256))
        var parsed = 0
        for file in files {
            let bytes = [UInt8](try Data(contentsOf: file))
            for framed in [false, true] {
                guard let message = try? (framed ? parser.parseFramed(bytes) : parser.parseDatagram(bytes)) else {
                    continue
                }
                parsed += 1
                let again = SIPParser.serialise(message)
                let reparsed = try #require(
                    try? SIPParser().parseFramed(again), "\(file.lastPathComponent) did not parse after serialising")
                #expect(SIPParser.serialise(reparsed) == again, "\(file.lastPathComponent): serialising is not stable")
                if !message.body.isEmpty { _ = try? SessionDescription.parse(message.body) }
            }
            _ = try? SessionDescription.parse(bytes)
        }
        // The seeds include well-formed messages: a parser that refused everything fails here.
        #expect(parsed >= 4)
    }
}
