/// Why a SIP message was refused. None of these carries more than a short excerpt of the
/// message, with control characters escaped, so they can be logged.
public enum SIPParseError: Error, Hashable, Sendable, CustomStringConvertible {
    case messageTooLarge(limit: Int)
    case lineTooLong(limit: Int)
    case tooManyHeaders(limit: Int)
    case notText
    case malformedStartLine(String)
    case unsupportedVersion(String)
    case invalidStatusCode(String)
    case malformedHeader(String, String)
    case missingHeader(String)
    case invalidContentLength(String)
    case bodyTruncated(expected: Int, received: Int)
    case invalidURI(String)
    case methodMismatch(requestLine: String, cseq: String)

    public var description: String {
        switch self {
        case .messageTooLarge(let limit): "message longer than \(limit) bytes"
        case .lineTooLong(let limit): "a line longer than \(limit) bytes"
        case .tooManyHeaders(let limit): "more than \(limit) header fields"
        case .notText: "the start line and headers are not UTF-8 text"
        case .malformedStartLine(let line): "malformed start line \(line)"
        case .unsupportedVersion(let version): "unsupported SIP version \(version)"
        case .invalidStatusCode(let code): "status code \(code) is not 100...699"
        case .malformedHeader(let name, let why): "header \(name): \(why)"
        case .missingHeader(let name): "missing mandatory header \(name)"
        case .invalidContentLength(let value): "Content-Length \(value) is not 0...limit"
        case .bodyTruncated(let expected, let received):
            "Content-Length says \(expected) bytes, the message carries \(received)"
        case .invalidURI(let why): "invalid URI: \(why)"
        case .methodMismatch(let requestLine, let cseq): "CSeq method \(cseq) differs from the request's \(requestLine)"
        }
    }
}

/// Size limits on what the parser accepts from the wire.
public struct SIPLimits: Hashable, Sendable {
    /// The largest message, headers and body (UDP datagrams are at most 65,507 bytes anyway).
    public var maxMessageBytes: Int
    /// The most header fields (after unfolding, before splitting comma-joined values).
    public var maxHeaderFields: Int
    /// The longest line, folded continuation lines counted together.
    public var maxLineBytes: Int

    public init(maxMessageBytes: Int = 65_535, maxHeaderFields: Int = 128, maxLineBytes: Int = 8_192) {
        self.maxMessageBytes = maxMessageBytes
        self.maxHeaderFields = maxHeaderFields
        self.maxLineBytes = maxLineBytes
    }
}

/// Parses and serialises SIP messages (RFC 3261 §7, §25).
public struct SIPParser: Sendable {
    public var limits: SIPLimits

    public init(limits: SIPLimits = SIPLimits()) {
        self.limits = limits
    }

    /// Parses one datagram: the body runs to the end of the datagram, cut at Content-Length
    /// when that is shorter (RFC 3261 §18.3); a Content-Length longer than the body is an error.
    public func parseDatagram(_ bytes: some Collection<UInt8>) throws(SIPParseError) -> SIPMessage {
        try parse(Array(bytes), framed: false)
    }

    /// Parses one message whose length the stream framer has already found (Content-Length
    /// mandatory).
    public func parseFramed(_ bytes: [UInt8]) throws(SIPParseError) -> SIPMessage {
        try parse(bytes, framed: true)
    }

    func parse(_ bytes: [UInt8], framed: Bool) throws(SIPParseError) -> SIPMessage {
        guard bytes.count <= limits.maxMessageBytes else { throw .messageTooLarge(limit: limits.maxMessageBytes) }
        // Leading CRLFs are keep-alives or stray line ends (RFC 3261 §7.5).
        var start = 0
        while start + 1 < bytes.count, bytes[start] == 13, bytes[start + 1] == 10 { start += 2 }
        guard let headerEnd = Self.headerEnd(in: bytes, from: start) else {
            throw .malformedStartLine("no blank line after the headers")
        }
        guard let head = String(validating: bytes[start..<headerEnd.headersEnd], as: UTF8.self) else { throw .notText }
        let lines = try unfoldedLines(head)
        guard let startLine = lines.first, !startLine.isEmpty else { throw .malformedStartLine("empty") }
        var headers = SIPHeaders()
        for line in lines.dropFirst() {
            guard headers.count < limits.maxHeaderFields else { throw .tooManyHeaders(limit: limits.maxHeaderFields) }
            guard let colon = line.firstIndex(of: ":") else { throw .malformedHeader(excerpt(line), "no colon") }
            let name = line[..<colon].trimmingSIPWhitespace()
            guard SIPText.isToken(name) else { throw .malformedHeader(excerpt(name), "name is not a token") }
            headers.add(String(name), String(line[line.index(after: colon)...].trimmingSIPWhitespace()))
        }
        let available = bytes.count - headerEnd.bodyStart
        var bodyLength = available
        let lengths = headers.fields.filter { $0.name == "Content-Length" }
        if let first = lengths.first {
            guard lengths.allSatisfy({ $0.value == first.value }) else {
                throw .invalidContentLength("given twice with different values")
            }
            guard let length = SIPNumbers.decimal(first.value, maxDigits: 9), length <= limits.maxMessageBytes
            else { throw .invalidContentLength(excerpt(first.value)) }
            guard length <= available else { throw .bodyTruncated(expected: length, received: available) }
            bodyLength = length
        } else if framed {
            throw .missingHeader("Content-Length")
        }
        let body = Array(bytes[headerEnd.bodyStart..<headerEnd.bodyStart + bodyLength])
        let message = try startLineMessage(startLine, headers: headers, body: body)
        try validate(message)
        return message
    }

    private func startLineMessage(_ line: Substring, headers: SIPHeaders, body: [UInt8]) throws(SIPParseError)
        -> SIPMessage
    {
        if line.hasPrefix("SIP/") {
            let parts = line.split(separator: " ", maxSplits: 2, omittingEmptySubsequences: false)
            guard parts.count >= 2 else { throw .malformedStartLine(excerpt(line)) }
            guard parts[0] == "SIP/2.0" else { throw .unsupportedVersion(excerpt(parts[0])) }
            guard parts[1].utf8.count == 3, let code = SIPNumbers.decimal(parts[1], maxDigits: 3),
                (100...699).contains(code)
            else { throw .invalidStatusCode(excerpt(parts[1])) }
            let reason = parts.count > 2 ? String(parts[2]) : ""
            return .response(SIPResponse(statusCode: code, reason: reason, headers: headers, body: body))
        }
        // Request-Line: exactly single spaces between the three elements (RFC 3261 §25.1).
        let parts = line.split(separator: " ", omittingEmptySubsequences: false)
        guard parts.count == 3 else { throw .malformedStartLine(excerpt(line)) }
        guard SIPText.isToken(parts[0]) else { throw .malformedStartLine("method \(excerpt(parts[0]))") }
        guard parts[2].hasPrefix("SIP/") else { throw .malformedStartLine(excerpt(line)) }
        guard parts[2] == "SIP/2.0" else { throw .unsupportedVersion(excerpt(parts[2])) }
        let uri = try SIPURI.parse(parts[1])
        return .request(SIPRequest(method: String(parts[0]), uri: uri, headers: headers, body: body))
    }

    /// The mandatory headers of RFC 3261 §8.1.1, checked so that transactions and dialogs can
    /// rely on them.
    private func validate(_ message: SIPMessage) throws(SIPParseError) {
        let headers = message.headers
        for name in ["Call-ID", "CSeq", "From", "To", "Via"] where headers[name] == nil {
            throw .missingHeader(name)
        }
        guard let cseqText = headers["CSeq"] else { throw .missingHeader("CSeq") }
        let cseq = try SIPCSeq.parse(cseqText)
        for value in headers.values("Via") { _ = try SIPVia.parse(value) }
        for name in ["From", "To"] {
            do { _ = try SIPNameAddress.parse(headers[name] ?? "") } catch {
                throw .malformedHeader(name, "\(error)")
            }
        }
        for maxForwards in headers.fields where maxForwards.name == "Max-Forwards" {
            guard let value = SIPNumbers.decimal(maxForwards.value, maxDigits: 10), value <= 255 else {
                throw .malformedHeader("Max-Forwards", "not 0...255")
            }
        }
        if let expires = headers["Expires"] {
            guard SIPNumbers.decimal(expires, maxDigits: 10) != nil else {
                throw .malformedHeader("Expires", "not a number of seconds")
            }
        }
        if case .request(let request) = message, request.method != "CANCEL" || cseq.method != "CANCEL" {
            guard request.method == cseq.method else {
                throw .methodMismatch(requestLine: excerpt(request.method), cseq: excerpt(cseq.method))
            }
        }
    }

    /// Splits the head into lines, joining folded continuation lines (RFC 3261 §7.3.1), and
    /// checks the line limit.
    private func unfoldedLines(_ head: String) throws(SIPParseError) -> [Substring] {
        var lines: [Substring] = []
        var current = ""
        var started = false
        for rawLine in head.split(separator: "\r\n", omittingEmptySubsequences: false) {
            let line = rawLine
            // A bare LF or CR inside a line is not a line end in SIP; refuse it.
            if line.contains("\n") || line.contains("\r") { throw .malformedHeader(excerpt(line), "bare CR or LF") }
            if started, let first = line.first, first == " " || first == "\t" {
                current += " " + line.trimmingSIPWhitespace()
            } else {
                if started { lines.append(Substring(current)) }
                current = String(line)
                started = true
            }
            guard current.utf8.count <= limits.maxLineBytes else { throw .lineTooLong(limit: limits.maxLineBytes) }
        }
        if started { lines.append(Substring(current)) }
        return lines
    }

    /// Where the headers end: the first empty line.
    static func headerEnd(in bytes: [UInt8], from start: Int) -> (headersEnd: Int, bodyStart: Int)? {
        var index = start
        while index + 3 < bytes.count {
            if bytes[index] == 13, bytes[index + 1] == 10, bytes[index + 2] == 13, bytes[index + 3] == 10 {
                return (index, index + 4)
            }
            index += 1
        }
        return nil
    }

    // MARK: Serialising

    /// The message's bytes, with Content-Length set to the body's length.
    public static func serialise(_ message: SIPMessage) -> [UInt8] {
        var text: String
        var headers = message.headers
        headers.set("Content-Length", String(message.body.count))
        switch message {
        case .request(let request):
            text = "\(request.method) \(request.uri) SIP/2.0\r\n"
        case .response(let response):
            text = "SIP/2.0 \(response.statusCode) \(response.reason)\r\n"
        }
        for field in headers { text += "\(field.name): \(field.value)\r\n" }
        text += "\r\n"
        return Array(text.utf8) + message.body
    }
}
