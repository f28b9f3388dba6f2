public import FoundationEssentials

/// The manager's persistent state, behind one interface: the embedded SQLite store is the
/// default, and a PostgreSQL implementation can fill the same protocol. Nothing outside the
/// store touches the database.
public protocol ManagerStore: Sendable {
    // MARK: API tokens

    /// Stores a new token (only its hash) and returns its record.
    func createToken(name: String, role: APIRole, tokenHash: String, at: Date) async throws -> APITokenRecord
    /// The token with this hash, if it exists and is not revoked.
    func token(withHash hash: String) async throws -> APITokenRecord?
    func listTokens() async throws -> [APITokenRecord]
    /// Revokes a token; returns whether it existed.
    func revokeToken(id: Int64) async throws -> Bool
    func tokenCount() async throws -> Int
}

/// What an API token may do. Each role may do everything the ones below it may.
public enum APIRole: String, Codable, Sendable, CaseIterable, Comparable {
    /// Reads: campaigns, lists, statistics, the cluster table.
    case readOnly = "read-only"
    /// Runs operations: start and stop campaigns, drain nodes, import lists.
    case supervisor
    /// Everything, including tokens and agents.
    case admin

    private var level: Int {
        switch self {
        case .readOnly: return 0
        case .supervisor: return 1
        case .admin: return 2
        }
    }

    public static func < (lhs: Self, rhs: Self) -> Bool { lhs.level < rhs.level }
}

/// A stored API token: never the token itself, only its hash.
public struct APITokenRecord: Codable, Sendable, Equatable {
    public var id: Int64
    public var name: String
    public var role: APIRole
    public var createdAt: Date

    public init(id: Int64, name: String, role: APIRole, createdAt: Date) {
        self.id = id
        self.name = name
        self.role = role
        self.createdAt = createdAt
    }
}
