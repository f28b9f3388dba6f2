import Foundation
import Testing

@testable import DialerConfig

/// `docker/`: the compose file is what `dialerctl compose` makes of the cluster file beside it,
/// and both describe the same processes; the Dockerfile builds what compose runs. The systemd
/// units say what a host needs. No container engine runs here: these read the files.
@Suite("Deployment files: compose, Dockerfile, systemd units")
struct DeploymentTests {
    static let repository = URL(fileURLWithPath: #filePath).resolvingSymlinksInPath()
        .deletingLastPathComponent()  // DialerConfigTests
        .deletingLastPathComponent()  // Tests
        .deletingLastPathComponent()  // the repository

    static func path(_ relative: String) -> String { repository.appendingPathComponent(relative).path }

    static func dockerCluster() throws -> ClusterConfig {
        try ConfigLoader.load(
            path: path("docker/cluster.toml"), overrides: [], environment: [:], nodeID: nil, requireSecret: false)
    }

    @Test func theShippedComposeFileIsGeneratedFromTheShippedClusterFile() throws {
        var options = Deployment.ComposeOptions()
        options.generatedFrom = "docker/cluster.toml"
        let generated = try Deployment.compose(try Self.dockerCluster(), options: options)
        let shipped = try String(contentsOfFile: Self.path("docker/compose.yaml"), encoding: .utf8)
        #expect(
            generated == shipped,
            "docker/compose.yaml differs from its cluster file: swift run dialerctl compose --config docker/cluster.toml > docker/compose.yaml"
        )
    }

    /// The compose file read on its own (services, commands, health URLs, dependencies) names
    /// the cluster file's members with their addresses.
    @Test func theComposeServicesAreTheClusterFilesMembers() throws {
        let config = try Self.dockerCluster()
        let compose = ComposeReading(try String(contentsOfFile: Self.path("docker/compose.yaml"), encoding: .utf8))
        let managers = [config.manager.id] + config.standbys.map(\.id)
        let members = ["postgres"] + managers + [config.gateway.id] + config.nodes.map(\.id)
        #expect(compose.services == members)
        #expect(config.standbys.count == 1, "two managers share the database")
        #expect(config.nodes.count == 3)
        #expect(compose.commands[config.manager.id]?.first == "dialer-manager")
        #expect(compose.commands[config.gateway.id]?.first == "agent-gateway")
        for node in config.nodes {
            #expect(
                compose.commands[node.id] == ["dialer-node", "--config", "/etc/dialer/cluster.toml", "--id", node.id])
            #expect(compose.health[node.id] == "http://\(node.httpAddress)/healthz")
            #expect(compose.dependencies[node.id] == [config.manager.id, config.gateway.id])
        }
        #expect(compose.health[config.manager.id] == "http://\(config.manager.httpAddress)/healthz")
        #expect(compose.health[config.gateway.id] == "http://\(config.gateway.httpAddress)/healthz")
        // The managers share the PostgreSQL service named by the database URL, and wait for it;
        // each keeps its run directory on a volume of its own.
        let database = try PostgresDatabaseURL(url: config.manager.database, environment: [:])
        #expect(database.host == "postgres" && database.password == nil)
        #expect(compose.volumes["postgres"] == ["postgres-data:/var/lib/postgresql/data"])
        for manager in managers {
            #expect(compose.dependencies[manager] == ["postgres"])
            #expect(compose.volumes[manager]?.contains("\(manager)-data:/var/lib/dialer") == true)
        }
        #expect(compose.commands[config.standbys[0].id]?.suffix(2) == ["--id", config.standbys[0].id])
        #expect(
            compose.volumes.filter { $0.key != "postgres" }.values
                .allSatisfy { $0.contains("./cluster.toml:/etc/dialer/cluster.toml:ro") })
        // Every service's cluster-file addresses name itself, as the others reach it.
        #expect(config.manager.clusterAddress.host == config.manager.id)
        #expect(config.gateway.clusterAddress.host == config.gateway.id)
    }

    @Test func theDockerfileBuildsWhatComposeRunsAndRunsItAsAnotherUser() throws {
        let dockerfile = try String(contentsOfFile: Self.path("docker/Dockerfile"), encoding: .utf8)
        let lines = dockerfile.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
        #expect(lines.filter { $0.hasPrefix("FROM ") }.count == 2, "multi-stage: a build and a runtime stage")
        let products = try #require(lines.first { $0.hasPrefix("for product in ") })
            .dropFirst("for product in ".count).prefix { $0 != ";" }.split(separator: " ").map(String.init)
        let compose = ComposeReading(try String(contentsOfFile: Self.path("docker/compose.yaml"), encoding: .utf8))
        for (service, command) in compose.commands {
            #expect(products.contains(command.first ?? ""), "\(service) runs \(command.first ?? "?"), not built")
        }
        let runtime = try #require(dockerfile.range(of: "FROM ${RUNTIME_IMAGE}"))
        let runtimeStage = dockerfile[runtime.upperBound...]
        #expect(runtimeStage.contains("\nUSER dialer\n"))
        #expect(!runtimeStage.contains("USER root"))
        #expect(runtimeStage.contains("HEALTHCHECK"))
        #expect(runtimeStage.contains("$DIALER_HEALTH_URL"))
        #expect(!runtimeStage.contains("swift build"), "the runtime stage holds no toolchain")
    }

    @Test func composeRefusesAddressesContainersCannotReach() throws {
        let local = try ConfigLoader.load(
            path: Self.path("cluster-config/local.toml"), overrides: [], environment: [:], nodeID: nil)
        #expect(throws: Deployment.Problem.self) { try Deployment.compose(local) }
        do {
            _ = try Deployment.compose(local)
        } catch {
            #expect(error.description.contains("manager.cluster_address"))
            #expect(error.description.contains("\"manager\""))
        }
        var zeroPort = try Self.dockerCluster()
        zeroPort.nodes[0].httpAddress = HostPort(host: "node-1", port: 0)
        do {
            _ = try Deployment.compose(zeroPort)
            Issue.record("a node without a fixed port was accepted")
        } catch {
            #expect(error.description.contains("node node-1 http_address: needs a fixed port"))
        }
        var elsewhere = try Self.dockerCluster()
        elsewhere.cluster.runDirectory = "/srv/dialer"
        #expect(throws: Deployment.Problem.self) { try Deployment.compose(elsewhere) }
        // The database: standbys cannot share a SQLite file across containers, a password stays
        // out of the file, and the URL's host names a service of its own.
        let refusals: [(database: String, says: String)] = [
            ("/var/lib/dialer/dialer.sqlite", "standby managers in containers need a database they can share"),
            ("postgres://dialer:secret@postgres/dialer", "leave the password out of the URL"),
            ("postgres://dialer@gateway/dialer", "the host must name the PostgreSQL service"),
        ]
        for refusal in refusals {
            var config = try Self.dockerCluster()
            config.manager.database = refusal.database
            do {
                _ = try Deployment.compose(config)
                Issue.record("\(refusal.database) was accepted")
            } catch {
                #expect(error.description.contains(refusal.says), "\(error)")
            }
        }
        // One manager on SQLite still goes on its volume.
        var single = try Self.dockerCluster()
        single.manager.database = "/var/lib/dialer/dialer.sqlite"
        single.standbys = []
        let text = try Deployment.compose(single)
        #expect(ComposeReading(text).volumes["manager"]?.contains("manager-data:/var/lib/dialer") == true)
        #expect(!text.contains("postgres"))
    }

    @Test func systemdUnitsRunEachProcessWithTheClusterFile() throws {
        let config = try ConfigLoader.load(
            path: Self.path("cluster-config/three-nodes.toml"), overrides: [], environment: [:], nodeID: nil)
        var options = Deployment.SystemdOptions()
        options.binDirectory = "/opt/dialer/bin"
        let units = Deployment.systemdUnits(config, options: options)
        #expect(units.map(\.name) == ["dialer-manager.service", "dialer-gateway.service", "dialer-node@.service"])
        let byName = Dictionary(uniqueKeysWithValues: units.map { ($0.name, $0.text) })
        let manager = try #require(byName["dialer-manager.service"])
        #expect(manager.contains("\nExecStart=/opt/dialer/bin/dialer-manager --config /etc/dialer/cluster.toml\n"))
        #expect(manager.contains("\nUser=dialer\n"))
        #expect(manager.contains("\nKillSignal=SIGTERM\n"))
        #expect(manager.contains("\nEnvironmentFile=-/etc/dialer/environment\n"))
        #expect(manager.contains("\nWorkingDirectory=/var/lib/dialer\n"))
        // The relative run directory of three-nodes.toml, under the working directory.
        #expect(manager.contains("\nReadWritePaths=-/var/lib/dialer/.dialer/three-nodes\n"))
        #expect(manager.contains("\n[Install]\nWantedBy=multi-user.target\n"))
        let gateway = try #require(byName["dialer-gateway.service"])
        #expect(gateway.contains("\nExecStart=/opt/dialer/bin/agent-gateway --config /etc/dialer/cluster.toml\n"))
        let node = try #require(byName["dialer-node@.service"])
        #expect(node.contains("\nExecStart=/opt/dialer/bin/dialer-node --config /etc/dialer/cluster.toml --id %i\n"))
        #expect(node.contains("systemctl enable --now dialer-node@node-1 dialer-node@node-2 dialer-node@node-3"))
        for unit in units {
            #expect(unit.text.contains("\n[Unit]\n") && unit.text.contains("\n[Service]\n"), "\(unit.name)")
            #expect(!unit.text.contains("secret = "), "\(unit.name) must not carry the secret")
        }
    }

    /// With standbys the manager's unit is a template whose instance is the manager's id, so
    /// each manager's host runs `dialer-manager@<its id>`; a PostgreSQL URL is not a path to
    /// make writable, and the password goes in the environment file.
    @Test func systemdUnitsWithStandbysRunEachManagerByItsID() throws {
        let units = Deployment.systemdUnits(try Self.dockerCluster())
        #expect(units.map(\.name) == ["dialer-manager@.service", "dialer-gateway.service", "dialer-node@.service"])
        let manager = try #require(units.first?.text)
        #expect(
            manager.contains("\nExecStart=/usr/local/bin/dialer-manager --config /etc/dialer/cluster.toml --id %i\n"))
        #expect(manager.contains("dialer-manager@manager dialer-manager@manager-2"))
        #expect(manager.contains("Description=swift-dialer manager (member %i)"))
        #expect(manager.contains("\nReadWritePaths=-/var/lib/dialer\n"), "\(manager)")
        #expect(!manager.contains("postgres:"), "the database URL is not a path: \(manager)")
        #expect(manager.contains("DIALER_DATABASE_PASSWORD"))
        // Without standbys, one plain unit as before.
        var single = try Self.dockerCluster()
        single.standbys = []
        #expect(Deployment.systemdUnits(single).first?.name == "dialer-manager.service")
    }

    /// `docker-compose config` (Debian `docker-compose`) parses and checks the file without an
    /// engine; its normalised output lists the same services.
    @Test func dockerComposeAcceptsTheFile() async throws {
        let candidates = ["/usr/bin/docker-compose", "/usr/local/bin/docker-compose"]
        guard let tool = candidates.first(where: { FileManager.default.isExecutableFile(atPath: $0) }) else {
            if ProcessInfo.processInfo.environment["DIALER_REQUIRE_TOOLS"] == "1" {
                Issue.record("docker-compose is required (DIALER_REQUIRE_TOOLS=1) but missing")
            } else {
                print("skipping the docker-compose check: apt-get install docker-compose")
            }
            return
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: tool)
        process.arguments = ["-f", Self.path("docker/compose.yaml"), "config"]
        process.environment = ProcessInfo.processInfo.environment.merging([
            "DIALER_CLUSTER_SECRET": "test", "DIALER_DATABASE_PASSWORD": "test",
        ]) { $1 }
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        let text = String(decoding: data, as: UTF8.self)
        #expect(process.terminationStatus == 0, "docker-compose config: \(text)")
        for member in ["postgres", "manager", "manager-2", "gateway", "node-1", "node-2", "node-3"] {
            #expect(text.contains("\n  \(member):\n"), "docker-compose config lacks \(member): \(text)")
        }
    }
}

/// Just enough of a compose file's YAML, as `Deployment.compose` writes it, to compare it
/// with the cluster file: service names, commands, health URLs, dependencies, volumes.
struct ComposeReading {
    var services: [String] = []
    var commands: [String: [String]] = [:]
    var health: [String: String] = [:]
    var dependencies: [String: [String]] = [:]
    var volumes: [String: [String]] = [:]

    init(_ text: String) {
        var section = ""
        var service: String?
        var list = ""
        for line in text.split(separator: "\n", omittingEmptySubsequences: true).map(String.init) {
            if line.hasPrefix("#") { continue }
            if !line.hasPrefix(" ") {
                section = String(line.dropLast())
                service = nil
                continue
            }
            guard section == "services" else { continue }
            if line.hasPrefix("  ") && !line.hasPrefix("   ") {
                let name = line.trimmingCharacters(in: .whitespaces).dropLast()
                services.append(String(name))
                service = String(name)
                continue
            }
            guard let service else { continue }
            let content = line.trimmingCharacters(in: .whitespaces)
            if line.hasPrefix("    ") && !line.hasPrefix("     ") { list = content }
            if content.hasPrefix("command: [") {
                commands[service] = content.dropFirst("command: [".count).dropLast().split(separator: ", ")
                    .map { String($0.dropFirst().dropLast()) }
            } else if content.hasPrefix("DIALER_HEALTH_URL: ") {
                health[service] = String(content.dropFirst("DIALER_HEALTH_URL: ".count))
            } else if list == "depends_on:" && line.hasPrefix("      ") && !line.hasPrefix("       ") {
                dependencies[service, default: []].append(String(content.dropLast()))
            } else if list == "volumes:" && content.hasPrefix("- ") {
                volumes[service, default: []].append(String(content.dropFirst(2)))
            }
        }
    }
}
