import DialerCore
import Foundation
import Hummingbird
import HummingbirdTesting
import Testing

@testable import DialerManager

@Suite("Interval reports")
struct IntervalReportAPITests {
    /// Saturday 5 December 2026, 00:00 UTC.
    static let start = Date(timeIntervalSince1970: 1_796_428_800)

    func sum(_ rows: [[String: Any]], _ key: String) -> Int {
        rows.reduce(0) { $0 + ((($1["counts"] as? [String: Any])?[key] as? NSNumber)?.intValue ?? 0) }
    }

    @Test(arguments: [
        ("15m", "campaign", "UTC"), ("hour", "agent", "Europe/Copenhagen"), ("day", "campaign", "Asia/Kolkata"),
        ("day", "agent", "America/New_York"),
    ])
    func sumsOverIntervalsEqualTheAttemptsInTheStore(interval: String, by: String, zone: String) async throws {
        let fixture = try await APIFixture()
        let store = try #require(fixture.process.store as? SQLiteManagerStore)
        try await fixture.test { client in
            try await fixture.makeCampaign(client, campaign: "c1", list: "l1", queue: "q1")
            try await fixture.makeCampaign(client, campaign: "c2", list: "l2", queue: "q2")
            try await store.insertAttemptsForTesting(attemptMix(count: 3000, start: Self.start))
            // A window inside the three days, so that attempts fall outside it on both sides.
            let from = "2026-12-05T06:30:00Z"
            let to = "2026-12-07T10:00:00+01:00"
            let reply = try await client.call(
                .get,
                "/v1/reports/intervals?interval=\(interval)&by=\(by)&time_zone=\(zone)&from=\(from)&to=\(to.replacingOccurrences(of: "+", with: "%2B"))",
                token: fixture.adminToken)
            #expect(reply.status == .ok, "\(reply.text)")
            let rows = reply.array("rows")
            let totals = try #require(reply["totals"] as? [String: Any])
            let window = "started_at >= ? AND started_at < ?"
            let bounds: [Double] = [
                try ReportTime.parse(from, field: "from", zone: .gmt).storeValue,
                try ReportTime.parse(to, field: "to", zone: .gmt).storeValue,
            ]
            func stored(_ condition: String) async throws -> Int {
                try await store.integerForTesting(
                    "SELECT COUNT(*) FROM attempt WHERE \(window) AND \(condition)", [bounds[0], bounds[1]])
            }
            let attempts = try await stored("1")
            #expect(attempts > 1000)
            #expect(sum(rows, "attempts") == attempts)
            #expect((totals["attempts"] as? Int) == attempts)
            #expect(sum(rows, "connected") == (try await stored("outcome = 'connected'")))
            #expect(sum(rows, "abandoned") == (try await stored("outcome = 'abandoned'")))
            #expect(sum(rows, "live_answers") == (try await stored("outcome IN ('connected', 'abandoned')")))
            #expect(sum(rows, "machine") == (try await stored("outcome = 'machine'")))
            #expect(sum(rows, "open") == (try await stored("outcome IS NULL")))
            #expect(sum(rows, "talk_calls") == (try await stored("bridged_at IS NOT NULL")))
            // Abandoned by cause adds up to the abandoned, with `unspecified` for no cause.
            let causes = rows.flatMap {
                (($0["counts"] as? [String: Any])?["abandoned_by_cause"] as? [[String: Any]]) ?? []
            }
            let byCause = Dictionary(grouping: causes, by: { $0["name"] as? String ?? "" })
                .mapValues { $0.reduce(0) { $0 + ($1["count"] as? Int ?? 0) } }
            #expect(byCause["no-agent-free"] == (try await stored("abandon_cause = 'no-agent-free'")))
            #expect(byCause["unspecified"] == (try await stored("outcome = 'abandoned' AND abandon_cause IS NULL")))
            let dispositions = rows.flatMap {
                (($0["counts"] as? [String: Any])?["dispositions"] as? [[String: Any]]) ?? []
            }
            #expect(
                dispositions.filter { $0["name"] as? String == "sale" }.reduce(0) { $0 + ($1["count"] as? Int ?? 0) }
                    == (try await stored("disposition_name = 'sale'")))
            // Rows are per campaign or per agent, never both, and in interval order.
            for row in rows {
                #expect((row["campaign"] != nil) == (by == "campaign"))
                #expect(row["agent"] == nil || by == "agent")
            }
            let starts = rows.compactMap { $0["interval_start"] as? String }
            let parsed = try starts.map { try ReportTime.parse($0, field: "x", zone: .gmt) }
            #expect(parsed == parsed.sorted())
            #expect(reply.string("time_zone") == zone)
        }
    }

    @Test func daysStartAtLocalMidnight() async throws {
        let fixture = try await APIFixture()
        let store = try #require(fixture.process.store as? SQLiteManagerStore)
        try await fixture.test { client in
            try await fixture.makeCampaign(client)
            // 23:30 UTC on 5 December is 00:30 on the 6th in Copenhagen.
            try await store.insertAttemptsForTesting([
                StoredAttempt(id: "late", startedAt: Date(timeIntervalSince1970: 1_796_428_800 + 86_400 - 1800))
            ])
            let reply = try await client.call(
                .get, "/v1/reports/intervals?interval=day&time_zone=Europe/Copenhagen&from=2026-12-05&to=2026-12-08",
                token: fixture.adminToken)
            #expect(reply.status == .ok, "\(reply.text)")
            let row = try #require(reply.array("rows").first)
            #expect(row["interval_start"] as? String == "2026-12-06T00:00:00+01:00")
            #expect(row["interval_end"] as? String == "2026-12-07T00:00:00+01:00")
            #expect(reply.string("from") == "2026-12-05T00:00:00+01:00")
        }
    }

    @Test(arguments: [
        ("interval=hour&to=2026-12-06T00:00:00Z", "from: is required"),
        ("from=2026-12-05T00:00:00Z", "to: is required"),
        ("from=yesterday&to=2026-12-06T00:00:00Z", "from: not a date"),
        ("from=2026-13-05T00:00:00Z&to=2026-12-06T00:00:00Z", "from: the month must be"),
        ("from=2026-02-30&to=2026-12-06", "from: day 30 is not in that month"),
        ("from=2026-12-05T25:00:00Z&to=2026-12-06T00:00:00Z", "from: the time of day"),
        ("from=2026-12-05T10:00:00&to=2026-12-06T00:00:00Z", "from: the time zone offset"),
        ("from=1969-12-05&to=2026-12-06", "from: the year must be"),
        ("from=2026-12-06&to=2026-12-05", "to: must be after from"),
        ("interval=15m&from=2026-01-01&to=2026-03-01", "to: a report of 15m intervals covers at most 31 days"),
        ("interval=week&from=2026-12-05&to=2026-12-06", "interval: must be one of 15m, hour, day"),
        ("by=team&from=2026-12-05&to=2026-12-06", "by: must be one of campaign, agent"),
        ("time_zone=Mars/Olympus&from=2026-12-05&to=2026-12-06", "time_zone:"),
        ("campaign=../x&from=2026-12-05&to=2026-12-06", "campaign: must be"),
        ("colour=red&from=2026-12-05&to=2026-12-06", "colour: is not a known query parameter"),
    ])
    func badParametersAreNamed(query: String, message: String) async throws {
        let fixture = try await APIFixture()
        try await fixture.test { client in
            let reply = try await client.call(.get, "/v1/reports/intervals?\(query)", token: fixture.adminToken)
            #expect(reply.status == .badRequest)
            #expect(reply.message.contains(message), "\(reply.message)")
        }
    }

    @Test func theRouteNeedsAToken() async throws {
        let fixture = try await APIFixture()
        try await fixture.test { client in
            let reply = try await client.call(
                .get, "/v1/reports/intervals?from=2026-12-05&to=2026-12-06", token: nil)
            #expect(reply.status == .unauthorized)
        }
    }

    @Test func timesFormatAndParseBothWays() throws {
        let instant = 1_796_428_800.25
        #expect(ReportTime.format(unixSeconds: instant) == "2026-12-05T00:00:00.250Z")
        #expect(ReportTime.format(unixSeconds: instant, offsetSeconds: 19_800) == "2026-12-05T05:30:00.250+05:30")
        #expect(ReportTime.format(unixSeconds: -1.5) == "1969-12-31T23:59:58.500Z")
        for text in ["2026-12-05T00:00:00.250Z", "2026-12-05T05:30:00.250+05:30", "2024-02-29T23:59:59Z"] {
            let date = try ReportTime.parse(text, field: "x", zone: .gmt)
            let offset = text.hasSuffix("+05:30") ? 19_800 : 0
            #expect(ReportTime.format(unixSeconds: date.timeIntervalSince1970, offsetSeconds: offset) == text)
        }
    }
}
