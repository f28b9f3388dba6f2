import DialerProtocol
import Foundation
import NIOCore
import Testing

/// Every input of the frame decoder's fuzz corpus (fuzz/corpus/frame, including the inputs
/// that once crashed it) decodes to envelopes or to a clean ``ProtocolViolation``, never a trap.
@Suite("Fuzz corpus replay: frames")
struct FrameCorpusReplayTests {
    static let corpus = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("fuzz/corpus/frame")

    @Test func everyCorpusInputDecodesOrFailsCleanly() throws {
        let files = try FileManager.default.contentsOfDirectory(at: Self.corpus, includingPropertiesForKeys: nil)
        #expect(!files.isEmpty, "no corpus in \(Self.corpus.path)")
        for file in files {
            var buffer = ByteBuffer(bytes: try Data(contentsOf: file))
            var frames = 0
            do {
                while let envelope = try FrameDecoder.decodeFrame(from: &buffer, maximumPayload: 1 << 16) {
                    var out = ByteBuffer()
                    try FrameEncoder.encodeFrame(envelope, into: &out, maximumPayload: 1 << 16)
                    frames += 1
                }
            } catch let violation as ProtocolViolation {
                #expect(!violation.detail.isEmpty, "\(file.lastPathComponent)")
            }
            #expect(frames <= 1 << 16, "\(file.lastPathComponent)")
        }
    }
}
