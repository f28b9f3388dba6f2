import DialerCore
import FoundationEssentials
public import Hummingbird

/// The CSV export of attempts (RFC 4180: a header row, CRLF line ends, fields quoted when they
/// hold a comma, a quote, CR or LF, quotes doubled), streamed: pages of rows read by keyset
/// pagination, each page written as one chunk, so memory stays the same for ten rows or ten
/// million.
public enum AttemptExport {
    /// The columns, in order. Instants are RFC 3339 in UTC; empty when not recorded.
    public static let columns = [
        "attempt_id", "campaign", "contact_id", "agent", "node", "started_at", "dialed_at", "answered_at",
        "bridged_at", "call_ended_at", "ended_at", "outcome", "abandon_cause", "disposition", "disposition_at",
        "caller_id",
    ]

    /// Rows per page (and per chunk written): about 200 KB of CSV.
    public static let pageSize = 1000

    /// The response: `text/csv`, its body streamed from `store`.
    public static func response(_ store: any AttemptReportStore, filter: AttemptFilter) -> Response {
        Response(
            status: .ok,
            headers: [
                .contentType: "text/csv; charset=utf-8; header=present",
                .contentDisposition: #"attachment; filename="attempts.csv""#,
                .cacheControl: "no-store",
            ],
            body: body(store, filter: filter))
    }

    /// The streamed body.
    public static func body(_ store: any AttemptReportStore, filter: AttemptFilter) -> ResponseBody {
        ResponseBody { writer in
            var line = ""
            for (index, column) in columns.enumerated() {
                if index > 0 { line.append(",") }
                line.append(column)
            }
            line.append("\r\n")
            try await writer.write(ByteBuffer(string: line))
            var cursor: AttemptCursor?
            while true {
                let page = try await store.attemptPage(filter, after: cursor, limit: pageSize)
                guard let last = page.last else { break }
                var text = ""
                text.reserveCapacity(page.count * 220)
                for row in page { append(row, to: &text) }
                try await writer.write(ByteBuffer(string: text))
                guard page.count == pageSize else { break }
                cursor = AttemptCursor(after: last)
            }
            try await writer.finish(nil)
        }
    }

    /// One row of the CSV, CRLF-terminated.
    static func append(_ row: AttemptRow, to text: inout String) {
        field(row.id, to: &text)
        text.append(",")
        field(row.campaign, to: &text)
        text.append(",")
        text.append(row.contactID)
        text.append(",")
        field(row.agent, to: &text)
        text.append(",")
        field(row.node, to: &text)
        let instants: [Double?] = [
            row.startedAt, row.dialedAt, row.answeredAt, row.bridgedAt, row.callEndedAt, row.endedAt,
        ]
        for instant in instants {
            text.append(",")
            if let instant { text.append(ReportTime.format(unixSeconds: instant)) }
        }
        text.append(",")
        field(row.outcome, to: &text)
        text.append(",")
        field(row.abandonCause, to: &text)
        text.append(",")
        field(row.disposition, to: &text)
        text.append(",")
        if let at = row.dispositionAt { text.append(ReportTime.format(unixSeconds: at)) }
        text.append(",")
        field(row.callerID, to: &text)
        text.append("\r\n")
    }

    /// A field as RFC 4180 writes it: as is, or quoted with its quotes doubled.
    static func field(_ value: String?, to text: inout String) {
        guard let value else { return }
        let needsQuotes = value.utf8.contains { (byte: UInt8) -> Bool in
            switch byte {
            case 0x2C, 0x22, 0x0D, 0x0A: true
            default: false
            }
        }
        guard needsQuotes else {
            text.append(value)
            return
        }
        text.append("\"")
        text.append(value.replacingOccurrences(of: "\"", with: "\"\""))
        text.append("\"")
    }
}
