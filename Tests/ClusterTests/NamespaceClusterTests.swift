import DialerCore
import DialerRuntime
import DialerSimulation
import DialerTestSupport
import DialerTransport
import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// A cluster spread over network namespaces, as over hosts: the manager, the gateway and two
/// nodes each in a namespace of their own, with their own address on a bridge (a veth pair
/// each). The test process stays in the root namespace, on the bridge, like an operator and
/// the agents' machines. A node's link is cut (`ip link set down`): it is fenced and its
/// queues move to the other node while the campaign goes on.
///
/// Linux and root only (`ip netns`); skipped with a message otherwise, and failed instead when
/// `DIALER_REQUIRE_TOOLS=1` and the process is root but cannot make namespaces.
@Suite("Cluster over network namespaces", .serialized)
struct NamespaceClusterTests {
    static let agents = 4
    static let leaseMs = 2000

    @Test func aNodeCutOffTheNetworkIsFencedAndItsQueuesMove() async throws {
        guard let ip = await NamespaceNetwork.availability() else { return }
        await NamespaceNetwork.sweepLeftovers(ip: ip)
        let network = NamespaceNetwork(ip: ip, members: ["manager", "gateway", "node-1", "node-2"])
        let directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("dialer-netns-\(network.prefix)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        var launcher: ClusterLauncher?
        var passed = false
        do {
            try await network.create()
            let started = try await start(network, directory: directory)
            launcher = started
            try await campaignThenCut(network, launcher: started, directory: directory)
            passed = true
        } catch {
            Issue.record("namespace cluster test failed: \(error)")
        }
        if let launcher {
            if !passed {
                for member in launcher.members {
                    print("===== \(member.id) =====\n" + ClusterLauncher.tail(of: member.logFile, lines: 60))
                }
            }
            await launcher.stopAll(grace: .seconds(5))
        }
        // Every way out passes here: the namespaces, veths and bridge go with the processes.
        await network.tearDown()
        if passed && ProcessInfo.processInfo.environment["DIALER_KEEP_CLUSTER"] == nil {
            try? FileManager.default.removeItem(atPath: directory)
        }
    }

    /// Writes the cluster file (fixed ports: each namespace has its own) and a wrapper per
    /// member that runs its executable inside its namespace, then starts the four processes.
    private func start(_ network: NamespaceNetwork, directory: String) async throws -> ClusterLauncher {
        let manager = network.address(of: "manager")
        let gateway = network.address(of: "gateway")
        var toml = """
            [cluster]
            secret = "namespace-test-secret"
            heartbeat_interval_ms = 200
            missed_heartbeats = 4
            lease_duration_ms = \(Self.leaseMs)
            lease_renew_interval_ms = 400
            lease_safety_margin_ms = 500
            trunk_time_scale = 20
            log_level = "info"
            run_directory = "\(directory)"

            [manager]
            cluster_address = "\(manager):7400"
            http_address = "\(manager):8080"
            database = "\(directory)/dialer.sqlite"
            password_iterations = 1000

            [gateway]
            cluster_address = "\(gateway):7500"
            http_address = "\(gateway):8090"

            [[queue]]
            id = "sales"
            kind = "campaign"

            [[queue]]
            id = "retention"
            kind = "campaign"

            """
        for node in ["node-1", "node-2"] {
            toml += "\n[[node]]\nid = \"\(node)\"\nhttp_address = \"\(network.address(of: node)):8100\"\n"
        }
        let config = directory + "/cluster.toml"
        try toml.write(toFile: config, atomically: true, encoding: .utf8)

        // `exec` all the way down: the launcher's pid is the dialer process's, as its ready file says.
        let wrappers = directory + "/bin"
        try FileManager.default.createDirectory(atPath: wrappers, withIntermediateDirectories: true)
        let executables = [
            "manager": "dialer-manager", "gateway": "agent-gateway", "node-1": "dialer-node", "node-2": "dialer-node",
        ]
        for (member, executable) in executables {
            let script = wrappers + "/" + member
            let real = ClusterLauncher.ownBinDirectory + "/" + executable
            try "#!/bin/sh\nexec \(network.ip) netns exec \(network.namespace(of: member)) \(real) \"$@\"\n"
                .write(toFile: script, atomically: true, encoding: .utf8)
            try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: script)
        }
        let launcher = try ClusterLauncher(binDirectory: wrappers, runDirectory: directory)
        try await launcher.start(
            executable: "manager", role: "manager", id: "manager", arguments: ["--config", config])
        try await launcher.start(
            executable: "gateway", role: "gateway", id: "gateway", arguments: ["--config", config])
        for node in ["node-1", "node-2"] {
            try await launcher.start(
                executable: node, role: "node", id: node, arguments: ["--config", config, "--id", node])
        }
        return launcher
    }

    private struct Report: Decodable { var attempts: Int }
    private struct GatewayQueues: Decodable {
        struct Queue: Decodable {
            var queue: String
            var owner: String?
            var epoch: UInt64
        }
        var queues: [Queue]
    }

    private func campaignThenCut(_ network: NamespaceNetwork, launcher: ClusterLauncher, directory: String)
        async throws
    {
        let token = try String(contentsOfFile: directory + "/admin.token", encoding: .utf8)
            .trimmingCharacters(in: .whitespacesAndNewlines)
        let api = ManagerHTTPClient(address: "\(network.address(of: "manager")):8080", token: token)
        // Both nodes joined over the bridge and every queue has an owner.
        let placed = await waitForCondition(timeout: .seconds(60)) {
            let table = try await api.get("v1/cluster", as: ClusterTable.self)
            return table.nodes.filter { $0.role == "node" && $0.connected }.count == 2
                && table.queues.allSatisfy { $0.owner != nil }
        }
        try #require(placed, "the nodes did not join across the namespaces")

        func post(_ path: String, _ json: String) async throws {
            let (status, body) = try await api.send("POST", path, body: Data(json.utf8), timeout: 30)
            try #require(
                (200..<300).contains(status), "POST \(path): \(status) \(String(decoding: body, as: UTF8.self))")
        }
        try await post("v1/lists", #"{"id": "leads", "name": "Leads"}"#)
        let rows = (0..<400).map { String(format: #"{"phone": "+813123%05d", "name": "Customer %d"}"#, $0, $0) }
        try await post(
            "v1/lists/leads/imports?format=json&default_region=JP&wait=true", "[" + rows.joined(separator: ",") + "]")
        try await post("v1/teams", #"{"id": "blue", "name": "Blue", "queue_ranking": [{"queue": "sales", "rank": 1}]}"#)
        for index in 0..<Self.agents {
            try await post(
                "v1/agents",
                #"{"id": "a\#(index)", "login": "a\#(index)", "name": "Agent \#(index)", "team": "blue", "password": "password-\#(index)"}"#
            )
        }
        try await post(
            "v1/campaigns",
            #"""
            {"id": "spring", "name": "Spring", "list": "leads", "queue": "sales", "settings": {"mode": "progressive",
             "dial_rate": 1, "status": "enabled", "maximum_attempts": 3, "time_zone": "Asia/Tokyo",
             "calling_hours": {"start": "00:00", "end": "24:00"}}}
            """#)

        let pool = SyntheticAgentPool(
            accounts: (0..<Self.agents).map { .init(login: "a\($0)", password: "password-\($0)") },
            profile: SyntheticAgentProfile(wrapUpSeconds: .fixed(seconds: 1)), seed: 11)
        let settings = { (account: SyntheticAgent.Account) in
            ConnectionSettings(
                localID: account.login, localRole: .agent, secret: ClusterSecret("namespace-test-secret"),
                heartbeatInterval: .milliseconds(200), missedHeartbeats: 4)
        }
        let (_, summary) = try await pool.run(
            host: network.address(of: "gateway"), port: 7500, settings: settings,
            clock: ScaledClock(base: SystemClock(), scale: 20)
        ) { _ in
            try await cutTheOwner(network, api: api)
        }
        #expect(summary.failures.isEmpty, "agents failed: \(summary.failures)")
    }

    /// With the campaign dialing, cuts the link of the node that owns `sales` and follows the
    /// fencing: the manager moves its queues to the other node with higher epochs, the
    /// gateway's fencing table follows, the cut node's own clock ends its leases, and the
    /// campaign goes on. Then the link comes back and the node rejoins without its old queues.
    private func cutTheOwner(_ network: NamespaceNetwork, api: ManagerHTTPClient) async throws {
        let dialing = await waitForCondition(timeout: .seconds(60)) {
            try await api.get("v1/campaigns/spring/report", as: Report.self).attempts >= 3
        }
        try #require(dialing, "the campaign did not dial")
        let before = try await api.get("v1/cluster", as: ClusterTable.self)
        let owner = try #require(before.queues.first { $0.id == "sales" }?.owner)
        let other = owner == "node-1" ? "node-2" : "node-1"
        let owned = before.queues.filter { $0.owner == owner }
        let epochs = Dictionary(uniqueKeysWithValues: owned.map { ($0.id, $0.epoch) })

        try await network.setLink(of: owner, up: false)
        print("cut \(owner) off (owned \(owned.map(\.id))); waiting for the move")

        var table = before
        let moved = await waitForCondition(timeout: .seconds(60)) {
            table = try await api.get("v1/cluster", as: ClusterTable.self)
            return owned.allSatisfy { queue in
                table.queues.contains { $0.id == queue.id && $0.owner == other && $0.epoch > epochs[queue.id]! }
            } && !table.nodes.contains { $0.id == owner && $0.connected }
        }
        #expect(moved, "the queues of \(owner) did not move to \(other): \(table.queues)")
        let attemptsAtMove = try await api.get("v1/campaigns/spring/report", as: Report.self).attempts

        // The gateway fences with the new owners and epochs.
        let gateway = ManagerHTTPClient(address: "\(network.address(of: "gateway")):8090")
        let fenced = await waitForCondition(timeout: .seconds(30)) {
            let map = try await gateway.get("v1/queues", as: GatewayQueues.self)
            return owned.allSatisfy { queue in
                map.queues.contains { $0.queue == queue.id && $0.owner == other && $0.epoch > epochs[queue.id]! }
            }
        }
        #expect(fenced, "the gateway's fencing table did not follow the move")

        // The cut node, asked from inside its namespace: by its own clock it holds no lease.
        var view = ""
        let selfFenced = await waitForCondition(timeout: .seconds(30)) {
            let leases = try await network.run(
                in: owner, "curl", "-sS", "--max-time", "2", "http://\(network.address(of: owner)):8100/v1/leases")
            view = leases.output
            let decoder = JSONDecoder()
            decoder.keyDecodingStrategy = .convertFromSnakeCase
            let body = try decoder.decode(NodeLeases.self, from: Data(leases.output.utf8))
            return !body.leases.contains { lease in owned.contains { $0.id == lease.queue } && lease.validForMs > 0 }
        }
        #expect(selfFenced, "\(owner) still believes it holds its queues: \(view)")

        // The campaign goes on from the other node.
        let continued = await waitForCondition(timeout: .seconds(60)) {
            try await api.get("v1/campaigns/spring/report", as: Report.self).attempts >= attemptsAtMove + 3
        }
        #expect(continued, "the campaign stopped after the move (\(attemptsAtMove) attempts)")
        print(
            "moved to \(other): \(table.queues.map { "\($0.id) epoch \($0.epoch) on \($0.owner ?? "-")" }); "
                + "\(owner)'s own view: \(view); attempts at the move \(attemptsAtMove)")

        // The link comes back: the node rejoins, and the queues stay where they went.
        try await network.setLink(of: owner, up: true)
        let rejoined = await waitForCondition(timeout: .seconds(60)) {
            table = try await api.get("v1/cluster", as: ClusterTable.self)
            return table.nodes.contains { $0.id == owner && $0.connected }
        }
        #expect(rejoined, "\(owner) did not come back after its link did")
        #expect(
            table.queues.filter { queue in owned.contains { $0.id == queue.id } }.allSatisfy {
                $0.owner != owner || $0.epoch > epochs[$0.id]! + 1
            }, "an old epoch came back: \(table.queues)")
    }
}

/// Network namespaces on a bridge, one per member, named after a random prefix so that runs
/// never share them; ``tearDown()`` removes everything ``create()`` made, whatever state it got
/// to.
final class NamespaceNetwork: Sendable {
    /// Every name this test makes starts with it: a later run sweeps leftovers of a killed one.
    static let family = "dlrt"

    let ip: String
    let prefix: String
    let members: [String]
    /// The third octet of 10.231.x.0/24.
    let subnet: Int

    init(ip: String, members: [String]) {
        self.ip = ip
        self.members = members
        self.prefix = Self.family + String(UInt16.random(in: 0x1000...0xFFFF), radix: 16)
        self.subnet = Int.random(in: 1...254)
    }

    var bridge: String { prefix + "b" }
    func namespace(of member: String) -> String { "\(prefix)-\(member)" }
    private func index(of member: String) -> Int { members.firstIndex(of: member)! }
    /// The root namespace's end of the member's veth pair (on the bridge).
    func hostLink(of member: String) -> String { "\(prefix)h\(index(of: member))" }
    private func innerLink(of member: String) -> String { "\(prefix)n\(index(of: member))" }
    func address(of member: String) -> String { "10.231.\(subnet).\(10 + index(of: member))" }

    /// `ip`'s path when this process may make namespaces; else `nil` after a skip message, or
    /// a recorded failure when tools are required and the process is root.
    static func availability() async -> String? {
        guard getuid() == 0 else {
            print("skipping the network-namespace cluster test: it needs root (ip netns)")
            return nil
        }
        func unavailable(_ reason: String) -> String? {
            if toolsRequired {
                Issue.record("the network-namespace test cannot run as root (DIALER_REQUIRE_TOOLS=1): \(reason)")
            } else {
                print("skipping the network-namespace cluster test: \(reason)")
            }
            return nil
        }
        guard let ip = toolPath("ip") else { return unavailable("ip is missing (apt-get install iproute2)") }
        guard toolPath("curl") != nil else { return unavailable("curl is missing") }
        let probe = "\(family)probe\(getpid())"
        guard let added = try? await runCommand(ip, ["netns", "add", probe]), added.status == 0 else {
            return unavailable("ip netns add is not permitted here")
        }
        _ = try? await runCommand(ip, ["netns", "del", probe])
        return ip
    }

    /// Removes namespaces and links of this test family that a killed run left behind.
    static func sweepLeftovers(ip: String) async {
        if let namespaces = try? await runCommand(ip, ["netns", "list"]) {
            for line in namespaces.output.split(separator: "\n") {
                let name = String(line.split(separator: " ").first ?? "")
                if name.hasPrefix(family) { _ = try? await runCommand(ip, ["netns", "del", name]) }
            }
        }
        if let links = try? await runCommand(ip, ["-o", "link", "show"]) {
            for line in links.output.split(separator: "\n") {
                let fields = line.split(separator: " ")
                guard fields.count > 1 else { continue }
                let name = String(fields[1].prefix { $0 != ":" && $0 != "@" })
                if name.hasPrefix(family) { _ = try? await runCommand(ip, ["link", "del", name]) }
            }
        }
    }

    /// The bridge with the root namespace's address (.1), then per member a namespace, a veth
    /// pair (one end on the bridge, the other inside with the member's address) and loopback.
    func create() async throws {
        try await ip("link", "add", bridge, "type", "bridge")
        try await ip("addr", "add", "10.231.\(subnet).1/24", "dev", bridge)
        try await ip("link", "set", bridge, "up")
        for member in members {
            let namespace = namespace(of: member)
            try await ip("netns", "add", namespace)
            try await ip("link", "add", hostLink(of: member), "type", "veth", "peer", "name", innerLink(of: member))
            try await ip("link", "set", innerLink(of: member), "netns", namespace)
            try await ip("link", "set", hostLink(of: member), "master", bridge)
            try await ip("link", "set", hostLink(of: member), "up")
            try await ip("-n", namespace, "link", "set", "lo", "up")
            try await ip("-n", namespace, "addr", "add", address(of: member) + "/24", "dev", innerLink(of: member))
            try await ip("-n", namespace, "link", "set", innerLink(of: member), "up")
        }
    }

    /// Cuts (or restores) a member's only link: its end on the bridge goes down.
    func setLink(of member: String, up: Bool) async throws {
        try await ip("link", "set", hostLink(of: member), up ? "up" : "down")
    }

    /// Runs a command inside a member's namespace.
    func run(in member: String, _ command: String, _ arguments: String...) async throws -> CommandResult {
        try await runCommand(ip, ["netns", "exec", namespace(of: member), command] + arguments, timeout: .seconds(30))
    }

    /// Best effort, every step: deleting a namespace deletes the veth end inside it, and with
    /// it the pair.
    func tearDown() async {
        for member in members {
            _ = try? await runCommand(ip, ["netns", "del", namespace(of: member)])
            _ = try? await runCommand(ip, ["link", "del", hostLink(of: member)])
        }
        _ = try? await runCommand(ip, ["link", "del", bridge])
    }

    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    private func ip(_ arguments: String...) async throws {
        let result = try await runCommand(ip, arguments, timeout: .seconds(30))
        guard result.status == 0 else {
            throw Failure(description: "ip \(arguments.joined(separator: " ")): \(result)")
        }
    }
}
