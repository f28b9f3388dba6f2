import DialerCore
import DialerRuntime
import FoundationEssentials
import Hummingbird

/// `/v1/reports/intervals` (counts per 15 minutes, hour or day, per campaign or agent) and
/// `/v1/attempts/export` (the attempts as CSV).
enum ReportRoutes {
    /// The outcomes a filter can name: the domain's, and `open` for attempts without one yet.
    enum OutcomeFilter: String, CaseIterable {
        case connected, abandoned, machine, busy, noAnswer, invalidNumber, networkFailure, unknown, open
    }

    struct NameCount: Encodable {
        var name: String
        var count: Int
    }

    struct CountsBody: Encodable {
        var attempts: Int
        var open: Int
        var liveAnswers: Int
        var connected: Int
        var abandoned: Int
        var abandonedByCause: [NameCount]
        var machine: Int
        var busy: Int
        var noAnswer: Int
        var invalidNumber: Int
        var networkFailure: Int
        var unknown: Int
        var talkCalls: Int
        var talkMs: Int64
        var wrapCalls: Int
        var wrapMs: Int64
        var dispositions: [NameCount]

        init(_ counts: IntervalCounts) {
            func sorted(_ values: [String: Int]) -> [NameCount] {
                values.sorted { $0.key < $1.key }.map { NameCount(name: $0.key, count: $0.value) }
            }
            attempts = counts.attempts
            open = counts.open
            liveAnswers = counts.liveAnswers
            connected = counts.connected
            abandoned = counts.abandoned
            abandonedByCause = sorted(counts.abandonedByCause)
            machine = counts.machine
            busy = counts.busy
            noAnswer = counts.noAnswer
            invalidNumber = counts.invalidNumber
            networkFailure = counts.networkFailure
            unknown = counts.unknown
            talkCalls = counts.talkCalls
            talkMs = counts.talkMilliseconds
            wrapCalls = counts.wrapCalls
            wrapMs = counts.wrapMilliseconds
            dispositions = sorted(counts.dispositions)
        }
    }

    struct RowBody: Encodable {
        var intervalStart: String
        var intervalEnd: String
        var campaign: String?
        var agent: String?
        var counts: CountsBody
    }

    struct ReportBody: Encodable {
        var interval: String
        var by: String
        var timeZone: String
        var from: String
        var to: String
        var campaign: String?
        var agent: String?
        var rows: [RowBody]
        var totals: CountsBody
    }

    /// Rows read per page while adding up a report.
    static let reportPageSize = 5000

    static func add(to routes: RouteTable, _ api: APIEnvironment) {
        let store = api.store
        routes.add(.get, "/v1/reports/intervals", role: .readOnly) { request, _ in
            var query = Query(request)
            let interval = try query.choice("interval", of: ReportInterval.self) ?? .hour
            let grouping = try query.choice("by", of: ReportGrouping.self) ?? .campaign
            let zoneName = query.string("time_zone")
            let zone = try ReportTime.zone(zoneName)
            guard let fromText = query.string("from") else { throw APIError.invalid("from: is required") }
            guard let toText = query.string("to") else { throw APIError.invalid("to: is required") }
            let from = try ReportTime.parse(fromText, field: "from", zone: zone)
            let to = try ReportTime.parse(toText, field: "to", zone: zone)
            var filter = AttemptFilter(from: from, to: to)
            filter.campaign = try identifier(&query, "campaign").map(CampaignID.init)
            filter.agent = try identifier(&query, "agent").map(AgentID.init)
            try query.checkAllUsed()
            let window = try ReportWindow(from: from, to: to, zone: zone, interval: interval)
            var report = IntervalReport(window: window, grouping: grouping)
            var cursor: AttemptCursor?
            while true {
                let page = try await store.attemptPage(filter, after: cursor, limit: reportPageSize)
                for row in page { report.add(row) }
                guard page.count == reportPageSize, let last = page.last else { break }
                cursor = AttemptCursor(after: last)
            }
            func instant(_ unix: Double) -> String {
                ReportTime.format(Date(timeIntervalSince1970: unix), in: zone)
            }
            let rows = report.rows.map { key, counts in
                RowBody(
                    intervalStart: instant(window.boundaries[key.interval]),
                    intervalEnd: instant(window.boundaries[key.interval + 1]),
                    campaign: grouping == .campaign ? key.group : nil,
                    agent: grouping == .agent ? key.group : nil, counts: CountsBody(counts))
            }
            return try reply(
                ReportBody(
                    interval: interval.rawValue, by: grouping.rawValue, timeZone: zoneName ?? "UTC",
                    from: ReportTime.format(from, in: zone), to: ReportTime.format(to, in: zone),
                    campaign: filter.campaign?.rawValue, agent: filter.agent?.rawValue, rows: rows,
                    totals: CountsBody(report.totals)))
        }
        routes.add(.get, "/v1/attempts/export", role: .readOnly) { request, _ in
            let filter = try exportFilter(request)
            return AttemptExport.response(store, filter: filter)
        }
    }

    /// The export's filter from the query, each parameter checked by name.
    static func exportFilter(_ request: Request) throws -> AttemptFilter {
        var query = Query(request)
        let zone = try ReportTime.zone(query.string("time_zone"))
        var filter = AttemptFilter()
        filter.from = try query.string("from").map { text throws(APIError) in
            try ReportTime.parse(text, field: "from", zone: zone)
        }
        filter.to = try query.string("to").map { text throws(APIError) in
            try ReportTime.parse(text, field: "to", zone: zone)
        }
        if let from = filter.from, let to = filter.to, to <= from {
            throw APIError.invalid("to: must be after from")
        }
        filter.campaign = try identifier(&query, "campaign").map(CampaignID.init)
        filter.agent = try identifier(&query, "agent").map(AgentID.init)
        switch try query.choice("outcome", of: OutcomeFilter.self) {
        case nil: break
        case .open: filter.openOnly = true
        case let outcome?: filter.outcome = AttemptOutcome(rawValue: outcome.rawValue)
        }
        if let disposition = query.string("disposition") {
            guard (1...200).contains(disposition.count) else {
                throw APIError.invalid("disposition: must be 1 to 200 characters")
            }
            filter.disposition = disposition
        }
        try query.checkAllUsed()
        return filter
    }

    private static func identifier(_ query: inout Query, _ name: String) throws -> String? {
        guard let value = query.string(name) else { return nil }
        try checkIdentifier(value, field: name)
        return value
    }
}
