import Crypto
public import FoundationEssentials

/// Signed resume tokens: an agent's credential for later logins that costs one HMAC to check,
/// instead of a password's PBKDF2 (about 69 ms of CPU at 600,000 rounds), so that a whole floor
/// can log in at once (PROTOCOL.md §5.5).
///
/// The manager issues one at each successful password login (and through its API); the gateway
/// checks it alone, with the key both derive from the cluster secret, against its copy of the
/// agent directory. A token carries the agent's id, its expiry and the agent's credential
/// generation, which changes with every change of the agent's password or profile: an older
/// token is refused from then on. Passwords stay the first credential: a token is only ever
/// issued to an agent whose password was checked, or by an administrator.
///
/// Layout (then base64url without padding): version `1` (1 byte), expiry in Unix milliseconds
/// (8 bytes, big-endian), credential generation (8 bytes, big-endian), the agent id's length
/// (1 byte, 1–128) and its UTF-8 bytes, then HMAC-SHA256 over `"dialer-resume-token\0"` and
/// everything before it (32 bytes).
public struct AgentResumeTokens: Sendable {
    /// What a valid token says.
    public struct Claims: Hashable, Sendable {
        public var agent: String
        public var generation: UInt64
        public var expiresAtMs: UInt64

        public init(agent: String, generation: UInt64, expiresAtMs: UInt64) {
            self.agent = agent
            self.generation = generation
            self.expiresAtMs = expiresAtMs
        }
    }

    /// A token just issued, with its expiry.
    public struct Issued: Hashable, Sendable {
        public var token: String
        public var expiresAtMs: UInt64

        public init(token: String, expiresAtMs: UInt64) {
            self.token = token
            self.expiresAtMs = expiresAtMs
        }
    }

    /// Why a token was refused; never tells more than needed to the agent (the gateway answers
    /// `LOGIN_FAILED` for all of them and logs the reason).
    public enum Refusal: Error, Hashable, Sendable, CustomStringConvertible {
        /// Not a token of this layout (bad base64, wrong length, unknown version, bad agent id).
        case malformed(String)
        /// The signature does not match: tampered with, or signed with another cluster's key.
        case badSignature
        /// Past its expiry.
        case expired
        /// An expiry further ahead than any token is issued for.
        case expiryTooFar

        public var description: String {
            switch self {
            case .malformed(let why): "malformed resume token: \(why)"
            case .badSignature: "resume token signature does not match"
            case .expired: "resume token expired"
            case .expiryTooFar: "resume token expiry is further ahead than any token is issued for"
            }
        }
    }

    /// The longest lifetime a token may be issued for, and so the furthest expiry accepted.
    public static let maximumLifetime: Duration = .seconds(7 * 24 * 3600)
    /// The lifetime of tokens issued at login when nothing else is configured: a long shift.
    public static let defaultLifetime: Duration = .seconds(12 * 3600)
    /// The longest token text accepted (a 128-byte agent id gives 240 characters).
    public static let maximumLength = 256
    static let version: UInt8 = 1
    static let macLength = 32
    static let label = Array("dialer-resume-token\u{0}".utf8)

    private let key: SymmetricKey
    /// How long tokens this issuer makes stay valid (at most ``maximumLifetime``).
    public let lifetime: Duration

    /// Tokens keyed by the cluster secret (through a key derived for this use only, so a token
    /// never serves as a handshake proof or the reverse).
    public init(secret: String, lifetime: Duration = AgentResumeTokens.defaultLifetime) {
        let derived = HMAC<SHA256>.authenticationCode(
            for: Array("dialer-agent-resume-token-key-v1".utf8), using: SymmetricKey(data: Array(secret.utf8)))
        self.key = SymmetricKey(data: Array(derived))
        self.lifetime = min(max(lifetime, .seconds(1)), Self.maximumLifetime)
    }

    /// A token for `agent` (1–128 bytes of UTF-8) at `generation`, valid for ``lifetime`` from `nowMs`.
    public func issue(agent: String, generation: UInt64, nowMs: UInt64) -> Issued {
        let lifetimeMs = UInt64(lifetime.components.seconds) * 1000
        let expires = nowMs.addingReportingOverflow(lifetimeMs).overflow ? UInt64.max : nowMs + lifetimeMs
        var body: [UInt8] = [Self.version]
        body += Self.bigEndian(expires)
        body += Self.bigEndian(generation)
        let id = Array(agent.utf8.prefix(128))
        body.append(UInt8(id.count))
        body += id
        return Issued(token: Self.base64URL(body + mac(body)), expiresAtMs: expires)
    }

    /// Checks `token` at `nowMs`: its layout, its signature, then its expiry.
    public func verify(_ token: String, nowMs: UInt64) throws(Refusal) -> Claims {
        guard token.utf8.count <= Self.maximumLength else {
            throw .malformed("longer than \(Self.maximumLength) characters")
        }
        guard let bytes = Self.decodeBase64URL(token) else { throw .malformed("not base64url") }
        let fixed = 1 + 8 + 8 + 1
        guard bytes.count >= fixed + 1 + Self.macLength else { throw .malformed("too short") }
        guard bytes[0] == Self.version else { throw .malformed("unknown version \(bytes[0])") }
        let idLength = Int(bytes[fixed - 1])
        guard (1...128).contains(idLength), bytes.count == fixed + idLength + Self.macLength else {
            throw .malformed("agent id length does not match the token's length")
        }
        let body = Array(bytes[0..<(fixed + idLength)])
        let signature = Array(bytes[(fixed + idLength)...])
        // The signature first: nothing of an unsigned token is trusted, not even its expiry.
        guard ClusterSecret.proofsMatch(signature, mac(body)) else { throw .badSignature }
        guard let agent = String(validating: body[fixed...], as: UTF8.self) else {
            throw .malformed("agent id is not UTF-8")
        }
        let expires = Self.readBigEndian(body[1..<9])
        guard expires > nowMs else { throw .expired }
        let furthest = UInt64(Self.maximumLifetime.components.seconds) * 1000
        guard expires - nowMs <= furthest else { throw .expiryTooFar }
        return Claims(agent: agent, generation: Self.readBigEndian(body[9..<17]), expiresAtMs: expires)
    }

    private func mac(_ body: [UInt8]) -> [UInt8] {
        Array(HMAC<SHA256>.authenticationCode(for: Self.label + body, using: key))
    }

    /// The credential generation of an agent whose record last changed at `updatedAt`: any change
    /// of the password (or the profile) gives another one. The exact bits of the stored time, so
    /// two changes within a millisecond still differ.
    public static func generation(updatedAt: Date) -> UInt64 {
        updatedAt.timeIntervalSinceReferenceDate.bitPattern
    }

    /// Unix milliseconds now, from the system's wall clock.
    @Sendable public static func wallNowMilliseconds() -> UInt64 { unixMilliseconds(Date()) }

    /// Unix milliseconds of `date`, 0 before 1970.
    public static func unixMilliseconds(_ date: Date) -> UInt64 {
        let ms = (date.timeIntervalSince1970 * 1000).rounded(.down)
        guard ms > 0 else { return 0 }
        return ms < 1.8e19 ? UInt64(ms) : UInt64.max
    }

    static func bigEndian(_ value: UInt64) -> [UInt8] {
        (0..<8).map { UInt8(truncatingIfNeeded: value >> (56 - 8 * $0)) }
    }

    static func readBigEndian(_ bytes: ArraySlice<UInt8>) -> UInt64 {
        bytes.reduce(0) { ($0 << 8) | UInt64($1) }
    }

    static func base64URL(_ bytes: [UInt8]) -> String {
        var text = Data(bytes).base64EncodedString()
        text = text.replacing("+", with: "-").replacing("/", with: "_")
        while text.hasSuffix("=") { text.removeLast() }
        return text
    }

    static func decodeBase64URL(_ text: String) -> [UInt8]? {
        guard text.utf8.allSatisfy({ $0 < 0x80 && $0 != UInt8(ascii: "+") && $0 != UInt8(ascii: "/") }) else {
            return nil
        }
        var standard = text.replacing("-", with: "+").replacing("_", with: "/")
        switch standard.utf8.count % 4 {
        case 0: break
        case 2: standard += "=="
        case 3: standard += "="
        default: return nil
        }
        guard let data = Data(base64Encoded: standard) else { return nil }
        return Array(data)
    }
}
