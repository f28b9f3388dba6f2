import DialerCore
import Foundation
import Hummingbird
import HummingbirdTesting
import Synchronization
import Testing

@testable import DialerManager

@Suite("CSV export of attempts")
struct AttemptExportTests {
    static let start = Date(timeIntervalSince1970: 1_796_428_800)
    static let header =
        "attempt_id,campaign,contact_id,agent,node,started_at,dialed_at,answered_at,bridged_at,call_ended_at,ended_at,outcome,abandon_cause,disposition,disposition_at,caller_id"

    /// Reads RFC 4180 text into records (quoted fields may hold commas, quotes and line ends).
    static func records(_ text: String) -> [[String]] {
        var records: [[String]] = []
        var record: [String] = []
        var field = ""
        var quoted = false
        var characters = Array(text.unicodeScalars)[...]
        while let character = characters.popFirst() {
            if quoted {
                if character == "\"" {
                    if characters.first == "\"" {
                        field.unicodeScalars.append("\"")
                        characters.removeFirst()
                    } else {
                        quoted = false
                    }
                } else {
                    field.unicodeScalars.append(character)
                }
            } else if character == "\"" {
                quoted = true
            } else if character == "," {
                record.append(field)
                field = ""
            } else if character == "\r", characters.first == "\n" {
                characters.removeFirst()
                record.append(field)
                records.append(record)
                record = []
                field = ""
            } else {
                field.unicodeScalars.append(character)
            }
        }
        return records
    }

    @Test func filtersQuotingAndHeader() async throws {
        let fixture = try await APIFixture()
        let store = try #require(fixture.process.store as? SQLiteManagerStore)
        try await fixture.test { client in
            try await fixture.makeCampaign(client, campaign: "c1", list: "l1", queue: "q1")
            try await fixture.makeCampaign(client, campaign: "c2", list: "l2", queue: "q2")
            let at = { (minutes: Double) in Self.start.addingTimeInterval(minutes * 60) }
            try await store.insertAttemptsForTesting([
                StoredAttempt(
                    id: "x1", agent: "ann", startedAt: at(1), outcome: "connected",
                    disposition: #"said "no", then "yes""#, bridgedAt: at(1.5), callEndedAt: at(3), dispositionAt: at(4)
                ),
                StoredAttempt(id: "x2", campaign: "c2", contact: 2, startedAt: at(2), outcome: "busy"),
                StoredAttempt(
                    id: "x3", contact: 3, agent: "bob", startedAt: at(3), outcome: "connected",
                    disposition: "line one\nline two, with a comma", bridgedAt: at(3.1), callEndedAt: at(5),
                    dispositionAt: at(5)),
                StoredAttempt(
                    id: "x4", contact: 4, startedAt: at(4), outcome: "abandoned", abandonCause: "no-agent-free"),
                StoredAttempt(id: "x5", contact: 5, startedAt: at(5), outcome: nil),
            ])
            func export(_ query: String) async throws -> (Reply, [[String]]) {
                let reply = try await client.call(.get, "/v1/attempts/export?\(query)", token: fixture.adminToken)
                return (reply, Self.records(reply.text))
            }
            let (all, rows) = try await export("")
            #expect(all.status == .ok)
            #expect(all.text.hasPrefix(Self.header + "\r\n"))
            #expect(rows.count == 6)
            #expect(rows.allSatisfy { $0.count == 16 })
            #expect(rows.dropFirst().map { $0[0] } == ["x1", "x2", "x3", "x4", "x5"])
            let first = rows[1]
            #expect(first[13] == #"said "no", then "yes""#)
            #expect(all.text.contains(#""said ""no"", then ""yes""""#))
            #expect(first[5] == "2026-12-05T00:01:00Z")
            #expect(first[8] == "2026-12-05T00:01:30Z")
            #expect(first[2] == "000000000001")
            #expect(rows[3][13] == "line one\nline two, with a comma")
            #expect(rows[4][12] == "no-agent-free")
            #expect(rows[5][11] == "")

            #expect(try await export("campaign=c2").1.dropFirst().map { $0[0] } == ["x2"])
            #expect(try await export("agent=bob").1.dropFirst().map { $0[0] } == ["x3"])
            #expect(try await export("outcome=connected").1.dropFirst().map { $0[0] } == ["x1", "x3"])
            #expect(try await export("outcome=open").1.dropFirst().map { $0[0] } == ["x5"])
            #expect(
                try await export(
                    "disposition=" + "line one\nline two, with a comma".addingPercentEncoding(
                        withAllowedCharacters: .alphanumerics)!
                ).1.dropFirst().map { $0[0] } == ["x3"])
            #expect(
                try await export("from=2026-12-05T00:02:00Z&to=2026-12-05T00:04:00Z").1.dropFirst().map { $0[0] }
                    == ["x2", "x3"])
            // Nothing matches: the header alone.
            let (empty, emptyRows) = try await export("campaign=nobody")
            #expect(empty.status == .ok)
            #expect(empty.text == Self.header + "\r\n")
            #expect(emptyRows.count == 1)
        }
    }

    @Test(arguments: [
        ("outcome=answered", "outcome: must be one of"),
        ("from=2026-12-05T00:00:00Z&to=2026-12-04T00:00:00Z", "to: must be after from"),
        ("from=soon", "from: not a date"),
        ("agent=", "agent: must be"),
        ("limit=5", "limit: is not a known query parameter"),
    ])
    func badFiltersAreNamed(query: String, message: String) async throws {
        let fixture = try await APIFixture()
        try await fixture.test { client in
            let reply = try await client.call(.get, "/v1/attempts/export?\(query)", token: fixture.adminToken)
            #expect(reply.status == .badRequest)
            #expect(reply.message.contains(message), "\(reply.message)")
        }
    }

    /// Counts what the export writes and samples the process's resident memory at each chunk.
    final class Measure: @unchecked Sendable {
        var bytes = 0
        var lineEnds = 0
        var chunks = 0
        var peakResident = 0
        var finished = false
    }

    struct MeasuringWriter: ResponseBodyWriter {
        let measure: Measure

        mutating func write(_ buffer: ByteBuffer) async throws {
            measure.bytes += buffer.readableBytes
            measure.chunks += 1
            buffer.withUnsafeReadableBytes { bytes in
                var count = 0
                for byte in bytes where byte == 0x0A { count += 1 }
                measure.lineEnds += count
            }
            measure.peakResident = max(measure.peakResident, residentBytes())
        }

        consuming func finish(_ trailingHeaders: HTTPFields?) async throws {
            measure.finished = true
        }
    }

    /// The resident set of this process, from /proc/self/statm (pages).
    static func residentBytes() -> Int {
        guard let text = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) else { return 0 }
        let fields = text.split(separator: " ")
        guard fields.count > 1, let pages = Int(fields[1]) else { return 0 }
        return pages * Int(sysconf(Int32(_SC_PAGESIZE)))
    }

    /// The bound on the resident memory the export may add while it streams a million rows
    /// (about 150 MB of CSV): its pages of 1000 rows take well under a megabyte each.
    static let residentGrowthBound = 64 << 20

    @Test(.enabled(if: FileManager.default.fileExists(atPath: "/proc/self/statm")))
    func aMillionAttemptsStreamInBoundedMemory() async throws {
        let temporary = try TemporaryStore()
        let store = temporary.store
        try await makeCampaign(store)
        // One statement in SQLite: a million rows in a few seconds.
        try await store.executeForTesting(
            """
            WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < 999999)
            INSERT INTO attempt (id, campaign_id, contact_id, agent, node, started_at, ended_at, answered_at, \
            dialed_at, bridged_at, call_ended_at, outcome, disposition_name, disposition_at, caller_id)
            SELECT printf('attempt-%07d', i), 'c1', i + 1, 'agent-' || (i % 50), 'node-1', ? + i * 0.5, \
            ? + i * 0.5 + 60, ? + i * 0.5 + 10, ? + i * 0.5 + 1, ? + i * 0.5 + 11, ? + i * 0.5 + 60, \
            CASE i % 4 WHEN 0 THEN 'connected' WHEN 1 THEN 'busy' WHEN 2 THEN 'noAnswer' ELSE 'machine' END, \
            CASE WHEN i % 4 = 0 THEN 'sale, "big"' END, CASE WHEN i % 4 = 0 THEN ? + i * 0.5 + 90 END, '+4520000000'
            FROM n
            """, Array(repeating: Self.start.storeValue, count: 7))
        #expect(try await store.integerForTesting("SELECT COUNT(*) FROM attempt") == 1_000_000)
        let measure = Measure()
        let baseline = Self.residentBytes()
        measure.peakResident = baseline
        let response = AttemptExport.response(store, filter: AttemptFilter())
        #expect(response.headers[.contentType]?.hasPrefix("text/csv") == true)
        try await response.body.write(MeasuringWriter(measure: measure))
        #expect(measure.finished)
        #expect(measure.lineEnds == 1_000_001)
        #expect(measure.chunks == 1 + 1000)
        let growth = measure.peakResident - baseline
        print(
            "export of 1,000,000 attempts: \(measure.bytes) bytes in \(measure.chunks) chunks, resident growth \(growth >> 20) MiB (bound \(Self.residentGrowthBound >> 20) MiB)"
        )
        #expect(measure.bytes > 3 * Self.residentGrowthBound)
        #expect(growth < Self.residentGrowthBound)
    }
}
