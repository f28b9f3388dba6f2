import Foundation
import Testing

@testable import DialerConfig

/// The example files in `cluster-config/` are what people start from: they must load as shipped.
@Suite("Shipped cluster files")
struct ShippedFilesTests {
    /// `cluster-config/` of the repository, found from this file's path.
    static let directory = URL(fileURLWithPath: #filePath).resolvingSymlinksInPath()
        .deletingLastPathComponent()  // DialerConfigTests
        .deletingLastPathComponent()  // Tests
        .deletingLastPathComponent()  // the repository
        .appendingPathComponent("cluster-config")

    static func path(_ name: String) -> String {
        directory.appendingPathComponent(name).path
    }

    @Test func localLoadsAndValidates() throws {
        let config = try ConfigLoader.load(path: Self.path("local.toml"), overrides: [], environment: [:], nodeID: nil)
        #expect(config.cluster.secret?.isEmpty == false)
        #expect(config.cluster.runDirectory == ".dialer/local")
        #expect(config.manager.database == ".dialer/local/dialer.sqlite")
        #expect(config.manager.clusterAddress.description == "127.0.0.1:7400")
        #expect(config.manager.httpAddress.description == "127.0.0.1:8080")
        #expect(config.gateway.clusterAddress.description == "127.0.0.1:7500")
        #expect(config.gateway.httpAddress.description == "127.0.0.1:8090")
        #expect(config.nodes.map(\.id) == ["node-1", "node-2"])
        #expect(config.nodes.map(\.httpAddress.description) == ["127.0.0.1:8101", "127.0.0.1:8102"])
        #expect(config.queues.map(\.id) == ["sales", "retention", "support"])
        #expect(config.queues.map(\.kind) == [.campaign, .campaign, .inbound])
        // Apart from the secret, the local file spells out the defaults.
        var withoutSecret = config
        withoutSecret.cluster.secret = nil
        #expect(withoutSecret.cluster == ClusterSettings())
        #expect(withoutSecret.manager == ManagerSettings())
        #expect(withoutSecret.gateway == GatewaySettings())
    }

    @Test func threeNodesLoadsAndValidates() throws {
        let config = try ConfigLoader.load(
            path: Self.path("three-nodes.toml"), overrides: [], environment: [:], nodeID: "node-3")
        #expect(config.cluster.runDirectory == ".dialer/three-nodes")
        #expect(config.manager.database == ".dialer/three-nodes/dialer.sqlite")
        #expect(config.nodes.map(\.id) == ["node-1", "node-2", "node-3"])
        #expect(config.nodes.map(\.httpAddress.port) == [8101, 8102, 8103])
        #expect(config.queues.count == 6)
        #expect(config.queues.contains { $0.kind == .inbound })
        #expect(config.queues.contains { $0.kind == .campaign })
    }

    @Test func theReadmeDocumentsEveryKey() throws {
        let readme = try String(contentsOfFile: Self.path("README.md"), encoding: .utf8)
        for key in ConfigKey.all {
            #expect(readme.contains("`\(key.name)`"), "README.md does not document \(key.qualifiedName)")
            if key.isOverridable {
                #expect(readme.contains(key.environmentVariable), "README.md lacks \(key.environmentVariable)")
            }
        }
    }
}
