/// A SIP URI (`sip:`, `sips:`) or a `tel:` URI, as RFC 3261 §19.1 writes it:
/// `sip:user:password@host:port;uri-parameters?headers`.
public struct SIPURI: Hashable, Sendable, CustomStringConvertible {
    /// `sip`, `sips` or `tel` (lower case).
    public var scheme: String
    /// The user part (a phone number for a trunk), without escapes decoded.
    public var user: String?
    /// The password part; RFC 3261 discourages it but the grammar allows it.
    public var password: String?
    /// A host name, an IPv4 address, or an IPv6 reference in brackets (`[::1]`). For `tel:`
    /// URIs, empty.
    public var host: String
    /// The port, 1...65535, when given.
    public var port: Int?
    /// URI parameters in order (`;transport=tcp`, `;lr`), names in lower case.
    public var parameters: [SIPParameter]
    /// The headers part after `?`, as written.
    public var headers: String?

    public init(
        scheme: String = "sip", user: String? = nil, password: String? = nil, host: String, port: Int? = nil,
        parameters: [SIPParameter] = [], headers: String? = nil
    ) {
        self.scheme = scheme
        self.user = user
        self.password = password
        self.host = host
        self.port = port
        self.parameters = parameters
        self.headers = headers
    }

    /// The value of parameter `name` (`""` for a flag such as `lr`), or `nil` when absent.
    public func parameter(_ name: String) -> String? {
        let lower = name.lowercased()
        return parameters.first { $0.name == lower }.map { $0.value ?? "" }
    }

    public var description: String {
        var text = scheme + ":"
        if scheme == "tel" {
            text += user ?? ""
        } else {
            if let user {
                text += user
                if let password { text += ":" + password }
                text += "@"
            }
            text += host
            if let port { text += ":\(port)" }
        }
        for parameter in parameters { text += ";" + parameter.description }
        if let headers { text += "?" + headers }
        return text
    }

    /// Parses a URI; throws ``SIPParseError/invalidURI(_:)`` naming what is wrong.
    public static func parse(_ text: some StringProtocol) throws(SIPParseError) -> SIPURI {
        let text = String(text)
        guard let colon = text.firstIndex(of: ":") else { throw .invalidURI("no scheme in \(excerpt(text))") }
        let scheme = text[..<colon].lowercased()
        var rest = Substring(text[text.index(after: colon)...])
        guard scheme == "sip" || scheme == "sips" || scheme == "tel" else {
            throw .invalidURI("unsupported scheme \(excerpt(scheme))")
        }
        var headers: String?
        var user: String?
        var password: String?
        // The user part ends at the first '@' (inside it, '@' must be escaped); it may hold
        // ';', '?' and '&' (RFC 4475 §3.1.1.5), so it is split off before the parameters.
        if scheme != "tel", let at = rest.firstIndex(of: "@") {
            let userInfo = rest[..<at]
            rest = rest[rest.index(after: at)...]
            if let colon = userInfo.firstIndex(of: ":") {
                user = String(userInfo[..<colon])
                password = String(userInfo[userInfo.index(after: colon)...])
            } else {
                user = String(userInfo)
            }
            if user?.isEmpty == true { throw .invalidURI("empty user part") }
        }
        if let question = rest.firstIndex(of: "?") {
            headers = String(rest[rest.index(after: question)...])
            rest = rest[..<question]
        }
        if scheme == "tel" {
            let parts = rest.split(separator: ";", omittingEmptySubsequences: false)
            guard let number = parts.first, !number.isEmpty else { throw .invalidURI("empty tel: number") }
            let parameters = try parts.dropFirst().map { (part) throws(SIPParseError) in try SIPParameter.parse(part) }
            return SIPURI(scheme: scheme, user: String(number), host: "", parameters: parameters, headers: headers)
        }
        let pieces = rest.split(separator: ";", omittingEmptySubsequences: false)
        guard let hostPort = pieces.first, !hostPort.isEmpty else { throw .invalidURI("no host") }
        let (host, port) = try parseHostPort(hostPort)
        let parameters = try pieces.dropFirst().map { (part) throws(SIPParseError) in try SIPParameter.parse(part) }
        return SIPURI(
            scheme: scheme, user: user, password: password, host: host, port: port, parameters: parameters,
            headers: headers)
    }

    /// Splits `host[:port]`, checking the port's range and the host's characters.
    static func parseHostPort(_ text: Substring) throws(SIPParseError) -> (String, Int?) {
        var host: Substring
        var portText: Substring?
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]") else { throw .invalidURI("unclosed IPv6 reference") }
            host = text[...close]
            let after = text[text.index(after: close)...]
            if after.hasPrefix(":") {
                portText = after.dropFirst()
            } else if !after.isEmpty {
                throw .invalidURI("text after IPv6 reference")
            }
        } else if let colon = text.firstIndex(of: ":") {
            host = text[..<colon]
            portText = text[text.index(after: colon)...]
        } else {
            host = text
        }
        guard !host.isEmpty else { throw .invalidURI("empty host") }
        let allowed = host.unicodeScalars.allSatisfy { scalar in
            scalar.isASCII
                && (scalar.properties.isAlphabetic || ("0"..."9").contains(scalar)
                    || "-.[]:_".unicodeScalars.contains(scalar))
        }
        guard allowed else { throw .invalidURI("bad characters in host \(excerpt(host))") }
        var port: Int?
        if let portText {
            guard let value = SIPNumbers.decimal(portText, maxDigits: 5), (1...65535).contains(value) else {
                throw .invalidURI("port \(excerpt(portText)) is not 1...65535")
            }
            port = value
        }
        return (String(host), port)
    }
}

/// A `;name=value` (or `;flag`) parameter of a URI or a header.
public struct SIPParameter: Hashable, Sendable, CustomStringConvertible {
    /// The name, in lower case.
    public var name: String
    /// The value, `nil` for a flag; quotes kept as written.
    public var value: String?

    public init(_ name: String, _ value: String? = nil) {
        self.name = name.lowercased()
        self.value = value
    }

    public var description: String { value.map { "\(name)=\($0)" } ?? name }

    static func parse(_ text: Substring) throws(SIPParseError) -> SIPParameter {
        let trimmed = text.trimmingSIPWhitespace()
        guard !trimmed.isEmpty else { throw .invalidURI("empty parameter") }
        if let equals = trimmed.firstIndex(of: "=") {
            let name = trimmed[..<equals].trimmingSIPWhitespace()
            guard !name.isEmpty else { throw .invalidURI("parameter without a name") }
            return SIPParameter(String(name), String(trimmed[trimmed.index(after: equals)...].trimmingSIPWhitespace()))
        }
        return SIPParameter(String(trimmed))
    }
}

/// A `name-addr` or `addr-spec` header value (From, To, Contact, Route, P-Asserted-Identity):
/// `"Display" <sip:uri;uri-param>;header-param`.
public struct SIPNameAddress: Hashable, Sendable, CustomStringConvertible {
    /// The display name, unquoted, or `nil`.
    public var displayName: String?
    public var uri: SIPURI
    /// Header parameters (after the `>`), e.g. `tag`, `expires`.
    public var parameters: [SIPParameter]

    public init(displayName: String? = nil, uri: SIPURI, parameters: [SIPParameter] = []) {
        self.displayName = displayName
        self.uri = uri
        self.parameters = parameters
    }

    /// The `tag` parameter (From, To).
    public var tag: String? {
        get { parameters.first { $0.name == "tag" }?.value }
        set {
            parameters.removeAll { $0.name == "tag" }
            if let newValue { parameters.append(SIPParameter("tag", newValue)) }
        }
    }

    public var description: String {
        var text = ""
        if let displayName {
            var escaped = ""
            for character in displayName {
                if character == "\\" || character == "\"" { escaped.append("\\") }
                escaped.append(character)
            }
            text += "\"\(escaped)\" "
        }
        text += "<\(uri)>"
        for parameter in parameters { text += ";" + parameter.description }
        return text
    }

    /// Parses a name-addr or an addr-spec. In an addr-spec (no `<>`), parameters after the URI
    /// belong to the header, as RFC 3261 §20.10 says.
    public static func parse(_ text: some StringProtocol) throws(SIPParseError) -> SIPNameAddress {
        var rest = Substring(String(text)).trimmingSIPWhitespace()
        var displayName: String?
        if rest.hasPrefix("\"") {
            let (quoted, after) = try SIPText.quotedString(rest)
            displayName = quoted
            rest = after.trimmingSIPWhitespace()
            guard rest.hasPrefix("<") else { throw .invalidURI("display name without <uri>") }
        } else if let open = rest.firstIndex(of: "<") {
            let name = rest[..<open].trimmingSIPWhitespace()
            if !name.isEmpty { displayName = String(name) }
            rest = rest[open...]
        }
        if rest.hasPrefix("<") {
            guard let close = rest.firstIndex(of: ">") else { throw .invalidURI("unclosed <") }
            let uri = try SIPURI.parse(rest[rest.index(after: rest.startIndex)..<close])
            let after = rest[rest.index(after: close)...].trimmingSIPWhitespace()
            return SIPNameAddress(displayName: displayName, uri: uri, parameters: try headerParameters(after))
        }
        // addr-spec: the URI ends at the first ';' after the host; its parameters are the header's.
        let pieces = rest.split(separator: ";", maxSplits: 1, omittingEmptySubsequences: false)
        let uri = try SIPURI.parse(pieces[0].trimmingSIPWhitespace())
        let parameters = pieces.count > 1 ? try headerParameters(";" + pieces[1]) : []
        return SIPNameAddress(uri: uri, parameters: parameters)
    }

    static func headerParameters(_ text: Substring) throws(SIPParseError) -> [SIPParameter] {
        let trimmed = text.trimmingSIPWhitespace()
        if trimmed.isEmpty { return [] }
        guard trimmed.hasPrefix(";") else { throw .invalidURI("text after address: \(excerpt(trimmed))") }
        return try trimmed.dropFirst().split(separator: ";", omittingEmptySubsequences: false).map {
            (part) throws(SIPParseError) in try SIPParameter.parse(part)
        }
    }
}

/// One `Via` value: `SIP/2.0/UDP host:port;branch=z9hG4bK...;rport`.
public struct SIPVia: Hashable, Sendable, CustomStringConvertible {
    /// `UDP`, `TCP`, `TLS` (upper case).
    public var transport: String
    public var host: String
    public var port: Int?
    public var parameters: [SIPParameter]

    public init(transport: String, host: String, port: Int?, parameters: [SIPParameter]) {
        self.transport = transport
        self.host = host
        self.port = port
        self.parameters = parameters
    }

    /// The branch parameter, the transaction's id (RFC 3261 §8.1.1.7).
    public var branch: String? { parameters.first { $0.name == "branch" }?.value }

    public var description: String {
        var text = "SIP/2.0/\(transport) \(host)"
        if let port { text += ":\(port)" }
        for parameter in parameters { text += ";" + parameter.description }
        return text
    }

    public static func parse(_ text: some StringProtocol) throws(SIPParseError) -> SIPVia {
        let text = Substring(String(text)).trimmingSIPWhitespace()
        // sent-protocol may have whitespace around its slashes (RFC 4475 §3.1.1.1).
        let parts = text.split(separator: ";", omittingEmptySubsequences: false)
        let head = parts[0]
        let slashParts = head.split(separator: "/", maxSplits: 2)
        guard slashParts.count == 3 else { throw .malformedHeader("Via", "no sent-protocol") }
        guard slashParts[0].trimmingSIPWhitespace().uppercased() == "SIP",
            slashParts[1].trimmingSIPWhitespace() == "2.0"
        else { throw .malformedHeader("Via", "protocol is not SIP/2.0") }
        let transportAndHost = slashParts[2].trimmingSIPWhitespace()
        guard let space = transportAndHost.firstIndex(where: { $0 == " " || $0 == "\t" }) else {
            throw .malformedHeader("Via", "no sent-by")
        }
        let transport = transportAndHost[..<space].uppercased()
        let sentBy = transportAndHost[space...].trimmingSIPWhitespace()
        let hostPort: (String, Int?)
        do { hostPort = try SIPURI.parseHostPort(sentBy) } catch { throw .malformedHeader("Via", "sent-by: \(error)") }
        var parameters: [SIPParameter] = []
        for part in parts.dropFirst() {
            do { parameters.append(try SIPParameter.parse(part)) } catch {
                throw .malformedHeader("Via", "bad parameter")
            }
        }
        return SIPVia(transport: transport, host: hostPort.0, port: hostPort.1, parameters: parameters)
    }
}

/// The `CSeq` value: a sequence number below 2³¹ and a method.
public struct SIPCSeq: Hashable, Sendable, CustomStringConvertible {
    public var number: UInt32
    public var method: String

    public init(_ number: UInt32, _ method: String) {
        self.number = number
        self.method = method
    }

    public var description: String { "\(number) \(method)" }

    public static func parse(_ text: some StringProtocol) throws(SIPParseError) -> SIPCSeq {
        let parts = String(text).split(whereSeparator: { $0 == " " || $0 == "\t" })
        guard parts.count == 2 else { throw .malformedHeader("CSeq", "expected a number and a method") }
        guard let number = SIPNumbers.decimal(parts[0], maxDigits: 10), number < 1 << 31 else {
            throw .malformedHeader("CSeq", "sequence number is not 0...2^31-1")
        }
        guard SIPText.isToken(parts[1]) else { throw .malformedHeader("CSeq", "method is not a token") }
        return SIPCSeq(UInt32(number), String(parts[1]))
    }
}

/// The headers of a message, in order, names in their canonical long form.
public struct SIPHeaders: Hashable, Sendable, Sequence {
    public struct Field: Hashable, Sendable {
        public var name: String
        public var value: String
        public init(_ name: String, _ value: String) {
            self.name = name
            self.value = value
        }
    }

    public private(set) var fields: [Field] = []

    public init() {}

    public init(_ fields: [(String, String)]) {
        for (name, value) in fields { add(name, value) }
    }

    public func makeIterator() -> IndexingIterator<[Field]> { fields.makeIterator() }

    public var count: Int { fields.count }

    /// Appends a field (a compact name is expanded).
    public mutating func add(_ name: String, _ value: String) {
        fields.append(Field(SIPHeaderNames.canonical(name), value))
    }

    /// Puts `value` first among the fields named `name` (a Via on a request forwarded on).
    public mutating func prepend(_ name: String, _ value: String) {
        let canonical = SIPHeaderNames.canonical(name)
        let index = fields.firstIndex { $0.name.lowercased() == canonical.lowercased() } ?? 0
        fields.insert(Field(canonical, value), at: index)
    }

    /// Replaces every field named `name` with one of `value` (`nil`: removes them).
    public mutating func set(_ name: String, _ value: String?) {
        let canonical = SIPHeaderNames.canonical(name)
        let lower = canonical.lowercased()
        if let index = fields.firstIndex(where: { $0.name.lowercased() == lower }) {
            fields.removeAll { $0.name.lowercased() == lower }
            if let value { fields.insert(Field(canonical, value), at: Swift.min(index, fields.count)) }
        } else if let value {
            fields.append(Field(canonical, value))
        }
    }

    /// The first field named `name`'s value, as written (any comma-joined values together).
    public subscript(_ name: String) -> String? {
        let lower = SIPHeaderNames.canonical(name).lowercased()
        return fields.first { $0.name.lowercased() == lower }?.value
    }

    /// Every value of `name`: fields in order, each split at the commas that join several
    /// values (outside quotes and angle brackets).
    public func values(_ name: String) -> [String] {
        let lower = SIPHeaderNames.canonical(name).lowercased()
        return fields.filter { $0.name.lowercased() == lower }.flatMap { SIPText.splitList($0.value) }
    }
}

/// Header names: compact forms and canonical spelling.
public enum SIPHeaderNames {
    static let compact: [String: String] = [
        "i": "Call-ID", "m": "Contact", "f": "From", "t": "To", "v": "Via", "l": "Content-Length",
        "c": "Content-Type", "k": "Supported", "s": "Subject", "e": "Content-Encoding",
    ]
    static let known: [String: String] = {
        let names = [
            "Call-ID", "Contact", "From", "To", "Via", "Content-Length", "Content-Type", "Supported", "Subject",
            "Content-Encoding", "CSeq", "Max-Forwards", "Route", "Record-Route", "Allow", "User-Agent",
            "WWW-Authenticate", "Proxy-Authenticate", "Authorization", "Proxy-Authorization", "Expires",
            "P-Asserted-Identity", "Require", "Unsupported", "Accept", "Retry-After", "Server", "Reason",
        ]
        return Dictionary(uniqueKeysWithValues: names.map { ($0.lowercased(), $0) })
    }()

    /// The long, conventionally spelled name for `name` (compact forms expanded).
    public static func canonical(_ name: String) -> String {
        let lower = name.lowercased()
        if let long = compact[lower] { return long }
        return known[lower] ?? name
    }
}

/// A SIP request.
public struct SIPRequest: Hashable, Sendable {
    public var method: String
    public var uri: SIPURI
    public var headers: SIPHeaders
    public var body: [UInt8]

    public init(method: String, uri: SIPURI, headers: SIPHeaders = SIPHeaders(), body: [UInt8] = []) {
        self.method = method
        self.uri = uri
        self.headers = headers
        self.body = body
    }
}

/// A SIP response.
public struct SIPResponse: Hashable, Sendable {
    /// 100...699.
    public var statusCode: Int
    public var reason: String
    public var headers: SIPHeaders
    public var body: [UInt8]

    public init(statusCode: Int, reason: String? = nil, headers: SIPHeaders = SIPHeaders(), body: [UInt8] = []) {
        self.statusCode = statusCode
        self.reason = reason ?? SIPResponse.defaultReason(statusCode)
        self.headers = headers
        self.body = body
    }

    public var isProvisional: Bool { statusCode < 200 }
    public var isSuccess: Bool { (200..<300).contains(statusCode) }

    static func defaultReason(_ code: Int) -> String {
        switch code {
        case 100: "Trying"
        case 180: "Ringing"
        case 183: "Session Progress"
        case 200: "OK"
        case 400: "Bad Request"
        case 401: "Unauthorized"
        case 403: "Forbidden"
        case 404: "Not Found"
        case 407: "Proxy Authentication Required"
        case 408: "Request Timeout"
        case 480: "Temporarily Unavailable"
        case 481: "Call/Transaction Does Not Exist"
        case 486: "Busy Here"
        case 487: "Request Terminated"
        case 488: "Not Acceptable Here"
        case 500: "Server Internal Error"
        case 501: "Not Implemented"
        case 503: "Service Unavailable"
        case 603: "Decline"
        default: "Status \(code)"
        }
    }
}

/// A request or a response, with what every SIP message carries.
public enum SIPMessage: Hashable, Sendable {
    case request(SIPRequest)
    case response(SIPResponse)

    public var headers: SIPHeaders {
        get {
            switch self {
            case .request(let request): request.headers
            case .response(let response): response.headers
            }
        }
        set {
            switch self {
            case .request(var request):
                request.headers = newValue
                self = .request(request)
            case .response(var response):
                response.headers = newValue
                self = .response(response)
            }
        }
    }

    public var body: [UInt8] {
        switch self {
        case .request(let request): request.body
        case .response(let response): response.body
        }
    }
}

extension SIPHeaders {
    /// The Call-ID.
    public var callID: String? { self["Call-ID"] }

    /// The parsed CSeq, or `nil` when absent or malformed.
    public var cseq: SIPCSeq? { self["CSeq"].flatMap { try? SIPCSeq.parse($0) } }

    /// Every Via, topmost first; malformed ones are left out (the parser has checked them).
    public var vias: [SIPVia] { values("Via").compactMap { try? SIPVia.parse($0) } }

    /// From, parsed.
    public var from: SIPNameAddress? { self["From"].flatMap { try? SIPNameAddress.parse($0) } }

    /// To, parsed.
    public var to: SIPNameAddress? { self["To"].flatMap { try? SIPNameAddress.parse($0) } }

    /// The first Contact, parsed.
    public var contact: SIPNameAddress? { values("Contact").first.flatMap { try? SIPNameAddress.parse($0) } }

    /// Record-Route values, parsed, in the order received.
    public var recordRoute: [SIPNameAddress] { values("Record-Route").compactMap { try? SIPNameAddress.parse($0) } }
}

/// Safe decimal conversion of numbers from the wire.
enum SIPNumbers {
    /// The value of `text` if it is 1...`maxDigits` ASCII digits, else `nil`: never traps.
    static func decimal(_ text: some StringProtocol, maxDigits: Int) -> Int? {
        guard !text.isEmpty, text.utf8.count <= maxDigits else { return nil }
        var value = 0
        for byte in text.utf8 {
            guard (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) else { return nil }
            value = value * 10 + Int(byte - UInt8(ascii: "0"))
        }
        return value
    }
}

/// Short excerpt of wire text for an error message, with control characters escaped.
func excerpt(_ text: some StringProtocol) -> String {
    var result = ""
    for scalar in text.unicodeScalars.prefix(60) {
        if scalar.value < 0x20 || scalar.value == 0x7F {
            result += "\\u{\(String(scalar.value, radix: 16))}"
        } else {
            result.unicodeScalars.append(scalar)
        }
    }
    return "\"" + result + (text.count > 60 ? "…" : "") + "\""
}

enum SIPText {
    static let tokenExtras = Set("-.!%*_+`'~".unicodeScalars)

    static func isToken(_ text: some StringProtocol) -> Bool {
        !text.isEmpty
            && text.unicodeScalars.allSatisfy {
                $0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0) || tokenExtras.contains($0))
            }
    }

    /// Reads a quoted string at the start of `text`; returns its unescaped content and the rest.
    static func quotedString(_ text: Substring) throws(SIPParseError) -> (String, Substring) {
        var content = ""
        var index = text.index(after: text.startIndex)
        while index < text.endIndex {
            let character = text[index]
            if character == "\\" {
                index = text.index(after: index)
                guard index < text.endIndex else { break }
                content.append(text[index])
            } else if character == "\"" {
                return (content, text[text.index(after: index)...])
            } else {
                content.append(character)
            }
            index = text.index(after: index)
        }
        throw .invalidURI("unterminated quoted string")
    }

    /// Splits a header value at commas outside quotes and `<>`.
    static func splitList(_ value: String) -> [String] {
        var parts: [String] = []
        var current = ""
        var inQuotes = false
        var inAngle = false
        var escaped = false
        for character in value {
            if escaped {
                escaped = false
                current.append(character)
                continue
            }
            switch character {
            case "\\" where inQuotes:
                escaped = true
            case "\"":
                inQuotes.toggle()
            case "<" where !inQuotes:
                inAngle = true
            case ">" where !inQuotes:
                inAngle = false
            case "," where !inQuotes && !inAngle:
                let trimmed = current.trimmingSIPWhitespace()
                if !trimmed.isEmpty { parts.append(String(trimmed)) }
                current = ""
                continue
            default:
                break
            }
            current.append(character)
        }
        let trimmed = current.trimmingSIPWhitespace()
        if !trimmed.isEmpty { parts.append(String(trimmed)) }
        return parts
    }
}

extension StringProtocol {
    func trimmingSIPWhitespace() -> Substring {
        let substring = Substring(self)
        guard let first = substring.firstIndex(where: { $0 != " " && $0 != "\t" }) else {
            return substring[substring.endIndex...]
        }
        let last = substring.lastIndex(where: { $0 != " " && $0 != "\t" })!
        return substring[first...last]
    }
}
