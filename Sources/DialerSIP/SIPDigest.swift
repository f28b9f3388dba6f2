import Crypto

/// A digest challenge from `WWW-Authenticate` (401) or `Proxy-Authenticate` (407).
public struct SIPDigestChallenge: Hashable, Sendable {
    public var realm: String
    public var nonce: String
    public var opaque: String?
    /// `MD5`, `MD5-sess`, `SHA-256` or `SHA-256-sess` (RFC 8760).
    public var algorithm: SIPDigestAlgorithm
    /// The qop options offered (`auth`, `auth-int`); empty for an RFC 2069 challenge.
    public var qopOptions: [String]
    public var stale: Bool

    public init(
        realm: String, nonce: String, opaque: String? = nil, algorithm: SIPDigestAlgorithm = .md5,
        qopOptions: [String] = [], stale: Bool = false
    ) {
        self.realm = realm
        self.nonce = nonce
        self.opaque = opaque
        self.algorithm = algorithm
        self.qopOptions = qopOptions
        self.stale = stale
    }

    /// Parses `Digest realm="…", nonce="…", …`. Throws for another scheme, a missing realm or
    /// nonce, or an algorithm this stack does not implement.
    public static func parse(_ value: String) throws(SIPDigestError) -> SIPDigestChallenge {
        let trimmed = value.trimmingSIPWhitespace()
        guard trimmed.count > 7, trimmed.prefix(7).lowercased() == "digest " else { throw .notDigest }
        let fields = try parameters(trimmed.dropFirst(7))
        guard let realm = fields["realm"] else { throw .missingField("realm") }
        guard let nonce = fields["nonce"] else { throw .missingField("nonce") }
        let algorithm: SIPDigestAlgorithm
        if let name = fields["algorithm"] {
            guard let known = SIPDigestAlgorithm(rawValue: name.uppercased()) else {
                throw .unsupportedAlgorithm(excerpt(name))
            }
            algorithm = known
        } else {
            algorithm = .md5
        }
        let qop = (fields["qop"] ?? "").split(separator: ",").map { String($0.trimmingSIPWhitespace()).lowercased() }
            .filter { !$0.isEmpty }
        return SIPDigestChallenge(
            realm: realm, nonce: nonce, opaque: fields["opaque"], algorithm: algorithm, qopOptions: qop,
            stale: fields["stale"]?.lowercased() == "true")
    }

    /// `name=value` pairs separated by commas, values quoted or tokens; names in lower case.
    static func parameters(_ text: Substring) throws(SIPDigestError) -> [String: String] {
        var result: [String: String] = [:]
        var rest = text.trimmingSIPWhitespace()
        while !rest.isEmpty {
            guard let equals = rest.firstIndex(of: "=") else { throw .malformed("parameter without '='") }
            let name = rest[..<equals].trimmingSIPWhitespace().lowercased()
            rest = rest[rest.index(after: equals)...].trimmingSIPWhitespace()
            let value: String
            if rest.hasPrefix("\"") {
                do {
                    let (quoted, after) = try SIPText.quotedString(rest)
                    value = quoted
                    rest = after.trimmingSIPWhitespace()
                } catch { throw .malformed("unterminated quoted value of \(name)") }
            } else {
                let end = rest.firstIndex(of: ",") ?? rest.endIndex
                value = String(rest[..<end].trimmingSIPWhitespace())
                rest = rest[end...]
            }
            result[name] = value
            if rest.hasPrefix(",") {
                rest = rest.dropFirst().trimmingSIPWhitespace()
            } else if !rest.isEmpty {
                throw .malformed("text after the value of \(name)")
            }
        }
        return result
    }
}

public enum SIPDigestAlgorithm: String, Hashable, Sendable {
    case md5 = "MD5"
    case md5Session = "MD5-SESS"
    case sha256 = "SHA-256"
    case sha256Session = "SHA-256-SESS"

    /// The name as written in headers.
    public var headerName: String {
        switch self {
        case .md5: "MD5"
        case .md5Session: "MD5-sess"
        case .sha256: "SHA-256"
        case .sha256Session: "SHA-256-sess"
        }
    }

    var isSession: Bool { self == .md5Session || self == .sha256Session }

    func hash(_ text: String) -> String {
        let bytes = Array(text.utf8)
        switch self {
        case .md5, .md5Session: return hex(Insecure.MD5.hash(data: bytes))
        case .sha256, .sha256Session: return hex(SHA256.hash(data: bytes))
        }
    }

    private func hex(_ digest: some Digest) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        for byte in digest {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 0x0F)])
        }
        return String(decoding: out, as: UTF8.self)
    }
}

public enum SIPDigestError: Error, Hashable, Sendable, CustomStringConvertible {
    case notDigest
    case missingField(String)
    case unsupportedAlgorithm(String)
    case malformed(String)

    public var description: String {
        switch self {
        case .notDigest: "the challenge is not a Digest challenge"
        case .missingField(let name): "the challenge has no \(name)"
        case .unsupportedAlgorithm(let name): "digest algorithm \(name) is not supported"
        case .malformed(let why): "malformed challenge: \(why)"
        }
    }
}

/// A user name and password for a carrier.
public struct SIPCredentials: Hashable, Sendable {
    public var username: String
    public var password: String

    public init(username: String, password: String) {
        self.username = username
        self.password = password
    }
}

/// Digest responses (RFC 2617 §3.2.2, RFC 7616 §3.4, RFC 8760 for SIP).
public enum SIPDigest {
    /// The `response` value.
    public static func response(
        algorithm: SIPDigestAlgorithm, username: String, realm: String, password: String, method: String,
        uri: String, nonce: String, qop: String?, nonceCount: String?, clientNonce: String?
    ) -> String {
        var ha1 = algorithm.hash("\(username):\(realm):\(password)")
        if algorithm.isSession { ha1 = algorithm.hash("\(ha1):\(nonce):\(clientNonce ?? "")") }
        let ha2 = algorithm.hash("\(method):\(uri)")
        if let qop {
            return algorithm.hash("\(ha1):\(nonce):\(nonceCount ?? ""):\(clientNonce ?? ""):\(qop):\(ha2)")
        }
        return algorithm.hash("\(ha1):\(nonce):\(ha2)")
    }

    /// The `Authorization` / `Proxy-Authorization` value answering `challenge` for a request.
    /// With qop offered, `auth` is used (`auth-int` is not implemented).
    public static func authorization(
        challenge: SIPDigestChallenge, credentials: SIPCredentials, method: String, uri: String,
        nonceCount: UInt32, clientNonce: String
    ) -> String {
        let qop: String? = challenge.qopOptions.contains("auth") ? "auth" : nil
        let nc = qop == nil ? nil : hex8(nonceCount)
        let value = response(
            algorithm: challenge.algorithm, username: credentials.username, realm: challenge.realm,
            password: credentials.password, method: method, uri: uri, nonce: challenge.nonce, qop: qop,
            nonceCount: nc, clientNonce: qop == nil && !challenge.algorithm.isSession ? nil : clientNonce)
        var text =
            "Digest username=\"\(quoted(credentials.username))\", realm=\"\(quoted(challenge.realm))\", "
            + "nonce=\"\(quoted(challenge.nonce))\", uri=\"\(quoted(uri))\", response=\"\(value)\", "
            + "algorithm=\(challenge.algorithm.headerName)"
        if let qop, let nc { text += ", qop=\(qop), nc=\(nc), cnonce=\"\(quoted(clientNonce))\"" }
        if let opaque = challenge.opaque { text += ", opaque=\"\(quoted(opaque))\"" }
        return text
    }

    static func hex8(_ value: UInt32) -> String {
        let digits = String(value, radix: 16)
        return String(repeating: "0", count: Swift.max(0, 8 - digits.count)) + digits
    }

    static func quoted(_ text: String) -> String {
        var out = ""
        for character in text {
            if character == "\"" || character == "\\" { out.append("\\") }
            out.append(character)
        }
        return out
    }
}
