import DialerImport
import Foundation
import Testing

/// Every input of the CSV reader's fuzz corpus (fuzz/corpus/csv, including the inputs that
/// once crashed it) reads to records and row errors and ends, never a trap; fed whole and in
/// two pieces, as the fuzz target does.
@Suite("Fuzz corpus replay: CSV")
struct CSVCorpusReplayTests {
    static let corpus = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("fuzz/corpus/csv")

    @Test func everyCorpusInputReadsToTheEnd() throws {
        let files = try FileManager.default.contentsOfDirectory(at: Self.corpus, includingPropertiesForKeys: nil)
        #expect(!files.isEmpty, "no corpus in \(Self.corpus.path)")
        for file in files {
            let bytes = [UInt8](try Data(contentsOf: file))
            for cut in [bytes.count, bytes.isEmpty ? 0 : Int(bytes[0]) % (bytes.count + 1)] {
                var reader = CSVReader(
                    configuration: .init(maxFieldBytes: 64, maxFieldsPerRecord: 8, maxRecordBytes: 256))
                reader.feed(bytes[..<cut])
                var results = 0
                while reader.next() != nil, results < 1_000_000 { results += 1 }
                reader.feed(bytes[cut...])
                reader.finish()
                while reader.next() != nil, results < 1_000_000 { results += 1 }
                #expect(reader.isAtEnd, "\(file.lastPathComponent) (cut at \(cut)) did not read to the end")
            }
        }
    }
}
