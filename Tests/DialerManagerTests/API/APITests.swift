import DialerConfig
import DialerCore
import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import Prometheus
import Testing

@testable import DialerManager

/// A manager's API over a real SQLite store in a fresh directory, without its cluster side.
struct APIFixture {
    let process: ManagerProcess
    let directory: String
    let adminToken: String

    init(manager: String = "") async throws {
        directory =
            FileManager.default.temporaryDirectory.appendingPathComponent("dialer-api-\(UUID().uuidString)").path
        // Few password rounds: agent tests create several agents.
        let config = try ConfigLoader.load(
            contents: """
                [cluster]
                secret = "test"
                run_directory = "\(directory)"
                [manager]
                password_iterations = 1000
                \(manager)
                [[queue]]
                id = "q1"
                [[queue]]
                id = "q2"
                [[queue]]
                id = "q3"
                [[queue]]
                id = "support"
                kind = "inbound"
                """)
        process = try await ManagerProcess.make(
            config: config, registry: PrometheusCollectorRegistry(), readyFile: nil, logger: Logger(label: "test"))
        adminToken = try String(contentsOfFile: directory + "/admin.token", encoding: .utf8)
            .trimmingCharacters(in: .whitespacesAndNewlines)
    }

    func test(_ body: @Sendable (any TestClientProtocol) async throws -> Void) async throws {
        let (router, _) = process.makeRouter()
        try await Application(router: router).test(.router, body)
        try? FileManager.default.removeItem(atPath: directory)
    }
}

func bearer(_ token: String) -> HTTPFields { [.authorization: "Bearer \(token)"] }

func json(_ text: String) -> ByteBuffer { ByteBuffer(string: text) }

func decode<T: Decodable>(_ type: T.Type, _ response: TestResponse) throws -> T {
    let decoder = JSONDecoder()
    decoder.keyDecodingStrategy = .convertFromSnakeCase
    decoder.dateDecodingStrategy = .deferredToDate
    return try decoder.decode(T.self, from: Data(response.body.readableBytesView))
}

struct ErrorReply: Decodable {
    var error: String
    var message: String
}

@Suite("Manager API: authentication, tokens, bad input")
struct APITests {
    @Test func healthEndpointsNeedNoToken() async throws {
        try await APIFixture().test { client in
            try await client.execute(uri: "/healthz", method: .get) { #expect($0.status == .ok) }
            try await client.execute(uri: "/metrics", method: .get) { #expect($0.status == .ok) }
        }
    }

    @Test func missingMalformedAndUnknownTokensGet401() async throws {
        try await APIFixture().test { client in
            try await client.execute(uri: "/v1/cluster", method: .get) { response in
                #expect(response.status == .unauthorized)
                let reply = try decode(ErrorReply.self, response)
                #expect(reply.error == "unauthorized")
            }
            try await client.execute(uri: "/v1/cluster", method: .get, headers: [.authorization: "Basic abc"]) {
                #expect($0.status == .unauthorized)
            }
            try await client.execute(uri: "/v1/cluster", method: .get, headers: bearer("dlr_not-a-real-token")) {
                #expect($0.status == .unauthorized)
            }
        }
    }

    @Test func rolesAreEnforced() async throws {
        let fixture = try await APIFixture()
        try await fixture.test { client in
            struct Created: Decodable {
                var id: Int64
                var token: String
                var role: String
            }
            var readOnly = ""
            try await client.execute(
                uri: "/v1/tokens", method: .post, headers: bearer(fixture.adminToken),
                body: json(#"{"name": "dashboard", "role": "read-only"}"#)
            ) { response in
                #expect(response.status == .created)
                let created = try decode(Created.self, response)
                #expect(created.role == "read-only")
                #expect(created.token.hasPrefix("dlr_"))
                readOnly = created.token
            }
            try await client.execute(uri: "/v1/cluster", method: .get, headers: bearer(readOnly)) {
                #expect($0.status == .ok)
            }
            try await client.execute(uri: "/v1/nodes/node-1/drain", method: .post, headers: bearer(readOnly)) {
                #expect($0.status == .forbidden)
            }
            try await client.execute(uri: "/v1/tokens", method: .get, headers: bearer(readOnly)) {
                #expect($0.status == .forbidden)
            }
            // An admin may drain; an unknown node is a clear 404.
            try await client.execute(uri: "/v1/nodes/node-1/drain", method: .post, headers: bearer(fixture.adminToken))
            {
                #expect($0.status == .notFound)
            }
        }
    }

    @Test func revokedTokensStopWorking() async throws {
        let fixture = try await APIFixture()
        try await fixture.test { client in
            struct Created: Decodable {
                var id: Int64
                var token: String
            }
            var created: Created?
            try await client.execute(
                uri: "/v1/tokens", method: .post, headers: bearer(fixture.adminToken),
                body: json(#"{"name": "temp", "role": "supervisor"}"#)
            ) { created = try decode(Created.self, $0) }
            let token = try #require(created)
            try await client.execute(
                uri: "/v1/tokens/\(token.id)", method: .delete, headers: bearer(fixture.adminToken)
            ) {
                #expect($0.status == .noContent)
            }
            try await client.execute(uri: "/v1/cluster", method: .get, headers: bearer(token.token)) {
                #expect($0.status == .unauthorized)
            }
            try await client.execute(
                uri: "/v1/tokens/\(token.id)", method: .delete, headers: bearer(fixture.adminToken)
            ) {
                #expect($0.status == .notFound)
            }
            try await client.execute(uri: "/v1/tokens/abc", method: .delete, headers: bearer(fixture.adminToken)) {
                #expect($0.status == .badRequest)
            }
        }
    }

    @Test(arguments: [
        (#"{"name": "x", "role": "root"}"#, "role: must be one of"),
        (#"{"role": "admin"}"#, "name: is required"),
        (#"{"name": 42, "role": "admin"}"#, "name: expected"),
        (#"{"name": "x", "role": "admin""#, "not valid JSON"),
        (#"{"name": "   ", "role": "admin"}"#, "name: must be 1 to 100"),
        ("", "not valid JSON"),
    ])
    func badBodiesAreRejectedWithTheField(body: String, message: String) async throws {
        let fixture = try await APIFixture()
        try await fixture.test { client in
            try await client.execute(
                uri: "/v1/tokens", method: .post, headers: bearer(fixture.adminToken), body: json(body)
            ) {
                response in
                #expect(response.status == .badRequest)
                let reply = try decode(ErrorReply.self, response)
                #expect(reply.message.contains(message), "\(reply.message)")
            }
            // Nothing was created by a bad request.
            try await client.execute(uri: "/v1/tokens", method: .get, headers: bearer(fixture.adminToken)) { response in
                struct List: Decodable { var tokens: [APITokenRecordView] }
                struct APITokenRecordView: Decodable { var name: String }
                let list = try decode(List.self, response)
                #expect(list.tokens.map(\.name) == ["bootstrap admin"])
            }
        }
    }

    @Test func oversizedBodiesGet413() async throws {
        let fixture = try await APIFixture()
        try await fixture.test { client in
            let huge = #"{"name": ""# + String(repeating: "x", count: 2 << 20) + #"", "role": "admin"}"#
            try await client.execute(
                uri: "/v1/tokens", method: .post, headers: bearer(fixture.adminToken), body: json(huge)
            ) {
                #expect($0.status == .contentTooLarge)
            }
            // The server goes on serving.
            try await client.execute(uri: "/v1/tokens", method: .get, headers: bearer(fixture.adminToken)) {
                #expect($0.status == .ok)
            }
        }
    }

    @Test func theStoreMigratesOnceAndReopens() async throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("store-\(UUID().uuidString)/d.sqlite")
            .path
        let store = try SQLiteManagerStore(path: path)
        #expect(try store.appliedMigrations() == ["v1: api tokens"] + StoreSchema.migrationNames)
        _ = try await store.createToken(name: "a", role: .supervisor, tokenHash: "h1", at: Date())
        let reopened = try SQLiteManagerStore(path: path)
        #expect(try reopened.appliedMigrations() == ["v1: api tokens"] + StoreSchema.migrationNames)
        #expect(try await reopened.token(withHash: "h1")?.role == .supervisor)
        try? FileManager.default.removeItem(atPath: URL(fileURLWithPath: path).deletingLastPathComponent().path)
    }
}

@Suite("openapi.yaml matches the routes")
struct OpenAPISpecTests {
    /// The (method, path) pairs under `paths:` of the spec, read line by line (the file keeps
    /// paths at two spaces and methods at four).
    static func specRoutes() throws -> Set<String> {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("openapi.yaml")
        let text = try String(contentsOf: url, encoding: .utf8)
        var routes = Set<String>()
        var inPaths = false
        var currentPath: String?
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            if line == "paths:" {
                inPaths = true
                continue
            }
            guard inPaths else { continue }
            if !line.hasPrefix(" ") && !line.isEmpty { break }
            if line.hasPrefix("  /"), line.hasSuffix(":"), !line.hasPrefix("   ") {
                currentPath = String(line.dropFirst(2).dropLast())
            } else if let currentPath, line.hasPrefix("    "), !line.hasPrefix("     ") {
                let method = line.trimmingCharacters(in: .whitespaces).dropLast()
                if ["get", "post", "put", "patch", "delete"].contains(String(method)) {
                    routes.insert("\(method.uppercased()) \(currentPath)")
                }
            }
        }
        return routes
    }

    @Test func everyRegisteredRouteIsInTheSpecAndTheOtherWayRound() async throws {
        let fixture = try await APIFixture()
        let (_, table) = fixture.process.makeRouter()
        let registered = Set(table.entries.map { "\($0.method) \($0.path)" })
        let spec = try Self.specRoutes()
        #expect(!spec.isEmpty)
        #expect(
            registered.subtracting(spec).isEmpty, "registered but not in openapi.yaml: \(registered.subtracting(spec))")
        #expect(
            spec.subtracting(registered).isEmpty, "in openapi.yaml but not registered: \(spec.subtracting(registered))")
    }
}
