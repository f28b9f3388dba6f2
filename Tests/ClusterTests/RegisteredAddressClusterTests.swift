import DialerTestSupport
import Foundation
import Testing

/// Members configured with HTTP port 0 (the system picks one) register the address they bound,
/// so that the manager's cluster table, the live panel and operators can reach them.
@Suite("Registered HTTP addresses", .serialized)
struct RegisteredAddressClusterTests {
    @Test func aNodeAndTheGatewayOnPortZeroRegisterTheAddressesTheyBound() async throws {
        let cluster = try LocalTestCluster(nodes: ["node-1"], queues: [(id: "sales", kind: "campaign")])
        await cluster.runThenShutDown { cluster in
            try await cluster.start()
            let bound = ["node-1": cluster.httpAddress(of: "node-1"), "gateway": cluster.httpAddress(of: "gateway")]
            for (member, address) in bound {
                #expect(!address.hasSuffix(":0") && !address.isEmpty, "\(member) has no bound address: \(address)")
            }
            var registered: [String: String] = [:]
            let listed = await cluster.waitUntil(timeout: .seconds(30)) {
                let table = try await cluster.table()
                registered = Dictionary(table.nodes.map { ($0.id, $0.httpAddress) }, uniquingKeysWith: { $1 })
                return bound.allSatisfy { registered[$0.key] == $0.value }
            }
            #expect(listed, "registered \(registered), bound \(bound)")
        }
    }
}
