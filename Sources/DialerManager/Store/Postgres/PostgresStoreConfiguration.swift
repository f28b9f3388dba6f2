public import DialerConfig
import PostgresNIO

/// Where and how the PostgreSQL store connects: the database of `manager.database`'s URL, and
/// the pool's size (`manager.database_connections`).
public struct PostgresStoreConfiguration: Sendable, Hashable {
    public var url: PostgresDatabaseURL
    /// The most connections the pool opens.
    public var connections: Int

    /// - Throws: ``StoreError/invalid(_:)`` for a pool size out of 1...1000.
    public init(url: PostgresDatabaseURL, connections: Int = 8) throws {
        guard (1...1_000).contains(connections) else {
            throw StoreError.invalid("manager.database_connections must be 1 to 1000")
        }
        self.url = url
        self.connections = connections
    }

    /// Reads `manager.database`'s URL (see ``PostgresDatabaseURL``).
    public init(url text: String, connections: Int = 8) throws {
        do {
            try self.init(url: try PostgresDatabaseURL(url: text), connections: connections)
        } catch let error as PostgresURLError {
            throw StoreError.invalid(error.message)
        }
    }

    var clientConfiguration: PostgresClient.Configuration {
        var configuration = PostgresClient.Configuration(
            host: url.host, port: url.port, username: url.user, password: url.password, database: url.database,
            tls: .disable)
        configuration.options.maximumConnections = connections
        configuration.options.minimumConnections = 0
        return configuration
    }
}
