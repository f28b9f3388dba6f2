public import Foundation

/// Where the PostgreSQL store connects: `manager.database` as a URL,
/// `postgres://user[:password]@host[:port]/dbname` (`postgresql://` too).
///
/// The password may stay out of the cluster file: when the URL has none, it is read from the
/// environment variable `DIALER_DATABASE_PASSWORD`, or else from the file named by
/// `DIALER_DATABASE_PASSWORD_FILE` (its first line). TLS is not used: the database is expected on
/// a private network or the same host.
public struct PostgresDatabaseURL: Sendable, Hashable {
    public var host: String
    public var port: Int
    public var user: String
    public var password: String?
    public var database: String

    /// The environment variable that may hold the password.
    public static let passwordVariable = "DIALER_DATABASE_PASSWORD"
    /// The environment variable that may name a file holding the password.
    public static let passwordFileVariable = "DIALER_DATABASE_PASSWORD_FILE"

    public init(host: String, port: Int = 5432, user: String, password: String?, database: String) {
        self.host = host
        self.port = port
        self.user = user
        self.password = password
        self.database = database
    }

    /// Whether `manager.database` names a PostgreSQL database rather than a SQLite file.
    public static func isPostgresURL(_ value: String) -> Bool {
        value.hasPrefix("postgres://") || value.hasPrefix("postgresql://")
    }

    /// Reads `manager.database`'s URL; every error names the key and never the password.
    ///
    /// - Parameters:
    ///   - environment: where the password may come from when the URL has none.
    public init(
        url text: String, environment: [String: String] = ProcessInfo.processInfo.environment
    ) throws(PostgresURLError) {
        func fail(_ why: String) -> PostgresURLError { PostgresURLError(message: "manager.database: \(why)") }
        guard Self.isPostgresURL(text) else { throw fail("a PostgreSQL URL starts with postgres://") }
        let rest = text.drop { $0 != "/" }.dropFirst(2)
        guard let at = rest.lastIndex(of: "@") else {
            throw fail("the URL needs a user: postgres://user[:password]@host[:port]/dbname")
        }
        let userInfo = rest[..<at]
        let location = rest[rest.index(after: at)...]
        let user: Substring
        var password: String?
        if let colon = userInfo.firstIndex(of: ":") {
            user = userInfo[..<colon]
            password = String(userInfo[userInfo.index(after: colon)...]).removingPercentEncoding
            guard password != nil else { throw fail("the password is not valid percent-encoding") }
        } else {
            user = userInfo
        }
        guard !user.isEmpty, let user = String(user).removingPercentEncoding else { throw fail("the user is empty") }
        guard let slash = location.firstIndex(of: "/") else { throw fail("the URL needs a database: .../dbname") }
        let hostPort = location[..<slash]
        var database = location[location.index(after: slash)...]
        if let query = database.firstIndex(of: "?") {
            guard database[query...].count <= 1 else { throw fail("the URL takes no parameters") }
            database = database[..<query]
        }
        guard !database.isEmpty, !database.contains("/") else { throw fail("the database name is empty or has a /") }
        var host = hostPort
        var port = 5432
        if hostPort.hasPrefix("[") {
            // An IPv6 address: [::1]:5432.
            guard let close = hostPort.firstIndex(of: "]") else { throw fail("an IPv6 host needs its ]") }
            host = hostPort[hostPort.index(after: hostPort.startIndex)..<close]
            let after = hostPort[hostPort.index(after: close)...]
            if !after.isEmpty {
                guard after.hasPrefix(":") else { throw fail("unexpected text after the host") }
                port = try Self.port(after.dropFirst(), fail)
            }
        } else if let colon = hostPort.lastIndex(of: ":") {
            host = hostPort[..<colon]
            port = try Self.port(hostPort[hostPort.index(after: colon)...], fail)
        }
        guard !host.isEmpty else { throw fail("the host is empty") }
        if password == nil {
            if let value = environment[Self.passwordVariable] {
                password = value
            } else if let file = environment[Self.passwordFileVariable] {
                guard let contents = try? String(contentsOfFile: file, encoding: .utf8) else {
                    throw fail("cannot read the password file \(file) (\(Self.passwordFileVariable))")
                }
                password = String(contents.split(separator: "\n", omittingEmptySubsequences: false).first ?? "")
            }
        }
        self.init(
            host: String(host), port: port, user: user, password: password,
            database: String(database).removingPercentEncoding ?? String(database))
    }

    private static func port(_ text: Substring, _ fail: (String) -> PostgresURLError) throws(PostgresURLError) -> Int {
        guard text.count <= 5, text.allSatisfy({ $0.isASCII && $0.isNumber }), let port = Int(text),
            (1...65_535).contains(port)
        else {
            throw fail("the port must be 1 to 65535")
        }
        return port
    }
}

/// A `manager.database` URL that cannot be used, with why.
public struct PostgresURLError: Error, Hashable, Sendable, CustomStringConvertible {
    public var message: String
    public var description: String { message }
}
