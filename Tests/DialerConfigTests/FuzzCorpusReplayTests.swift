import Foundation
import Testing

@testable import DialerConfig

/// Every input of the TOML reader's fuzz corpus (fuzz/corpus/toml, including the inputs that
/// once crashed it) parses or fails with a ``ConfigError`` that has a message, never a trap;
/// the loader too.
@Suite("Fuzz corpus replay: TOML")
struct TOMLCorpusReplayTests {
    static let corpus = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("fuzz/corpus/toml")

    @Test func everyCorpusInputParsesOrFailsCleanly() throws {
        let files = try FileManager.default.contentsOfDirectory(at: Self.corpus, includingPropertiesForKeys: nil)
        #expect(!files.isEmpty, "no corpus in \(Self.corpus.path)")
        for file in files {
            let bytes = [UInt8](try Data(contentsOf: file))
            do {
                _ = try TOMLParser.parse(bytes: bytes, fileName: "corpus.toml")
            } catch {
                #expect(!error.message.isEmpty, "\(file.lastPathComponent)")
            }
            do {
                _ = try ConfigLoader.load(
                    contents: String(decoding: bytes, as: UTF8.self), fileName: "corpus.toml", requireSecret: false)
            } catch {
                #expect(!error.message.isEmpty, "\(file.lastPathComponent)")
            }
        }
    }
}
