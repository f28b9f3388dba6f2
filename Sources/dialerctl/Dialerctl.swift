import ArgumentParser
import DialerConfig
import DialerLoad
import DialerRuntime
import DialerTransport
import Foundation
import Synchronization
import UnixSignals

#if canImport(Glibc)
import Glibc
#endif

/// The operator's command line: start a local cluster, read its state, drain a node.
@main
struct Dialerctl: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dialerctl",
        abstract: "Operate a dialer cluster.",
        subcommands: [Demo.self, Up.self, Status.self, Drain.self, Resume.self, Compose.self, Systemd.self])
}

/// Prints a progress line and flushes it, so that it reaches a pipe or a log file as it happens
/// (standard output is fully buffered when it is not a terminal).
func say(_ line: String) {
    print(line)
    fflush(nil)
}

/// Options that locate the manager's HTTP API.
struct ManagerLocation: ParsableArguments {
    @Option(name: .long, help: "The cluster configuration file; the manager's address is read from it.")
    var config: String?

    @Option(name: .long, help: "The manager's HTTP address (host:port); overrides --config.")
    var manager: String?

    @Option(
        name: .long,
        help: "API token. Environment: DIALER_TOKEN. Default: the admin token the manager wrote in its run directory.")
    var token: String?

    func client() throws -> ManagerHTTPClient {
        let environment = ProcessInfo.processInfo.environment
        let config = try ConfigLoader.load(
            path: config ?? environment["DIALER_CONFIG"] ?? "cluster-config/local.toml", overrides: [],
            environment: environment, nodeID: nil, requireSecret: false)
        let tokenFile = URL(fileURLWithPath: config.cluster.runDirectory).appendingPathComponent("admin.token").path
        let token =
            token ?? environment["DIALER_TOKEN"]
            ?? (try? String(contentsOfFile: tokenFile, encoding: .utf8))?.trimmingCharacters(
                in: .whitespacesAndNewlines)
        // With TLS in the cluster file, the API is HTTPS under the cluster's own authority.
        let tls = try config.cluster.tls.map { try ClusterTLS(files: $0) }
        return ManagerHTTPClient(address: manager ?? config.manager.httpAddress.description, token: token, tls: tls)
    }
}

extension Dialerctl {
    struct Demo: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Start a local cluster, run a predictive campaign with synthetic agents, print a summary.")

        @Option(name: .long, help: "Synthetic agents logged in.") var agents = 20
        @Option(name: .long, help: "Contacts in the generated list.") var contacts = 2_000
        @Option(
            name: .long,
            help: "Dialing mode: \(DialingMode.allCases.map(\.rawValue).joined(separator: ", ")).")
        var mode = "predictive"
        @Option(name: .long, help: "Call seconds per wall second (trunk and agents).") var timeScale = 30
        @Option(name: .long, help: "Dialing time in wall seconds.") var duration = 120.0
        @Option(name: .long, help: "Dialer nodes.") var nodes = 2
        @Option(name: .long, help: "Seed of the agents' behaviour.") var seed: UInt64 = 1
        @Option(
            name: .long,
            help: "Callers per minute of call time on the inbound queue's number (default: one per 10 agents; 0: none)."
        )
        var inboundCallsPerMinute: Double?
        @Option(name: .long, help: "Run directory (config, logs, database); default: a new temporary one.")
        var runDirectory: String?
        @Option(name: .long, help: "Also write the summary as JSON to this file.") var summaryJSON: String?
        @Flag(name: .long, help: "Keep the cluster running after the summary; Ctrl-C stops it.")
        var keepRunning = false
        @Option(
            name: .long,
            help: "simulated (default), or sip: SIPp as the carrier and the agents' phones, one node, real time.")
        var trunk = "simulated"
        @Option(name: .long, help: "With --trunk sip: the SIPp scenarios (the repository's sipp/).")
        var sippScenarios = "sipp"

        func run() async throws {
            var options = DialerLoad.Demo.Options()
            guard let mode = DialingMode(rawValue: mode) else {
                throw ValidationError(
                    "--mode must be one of \(DialingMode.allCases.map(\.rawValue).joined(separator: ", ")) (is \(mode))"
                )
            }
            guard duration > 0, duration.isFinite else { throw ValidationError("--duration must be above 0") }
            options.agents = agents
            options.contacts = contacts
            options.mode = mode
            options.timeScale = timeScale
            options.duration = .milliseconds(Int64(duration * 1000))
            options.nodes = nodes
            options.seed = seed
            options.inboundCallsPerMinute = inboundCallsPerMinute
            options.runDirectory = runDirectory
            options.summaryJSON = summaryJSON
            options.keepRunning = keepRunning
            switch trunk {
            case "simulated": break
            case "sip":
                options.sip = true
                options.sippScenarios = sippScenarios
                // Real calls: real time on one node, unless the flags say otherwise (then refused).
                if !CommandLine.arguments.contains("--time-scale") { options.timeScale = 1 }
                if !CommandLine.arguments.contains("--nodes") { options.nodes = 1 }
            default: throw ValidationError("--trunk must be simulated or sip (is \(trunk))")
            }
            do {
                try options.validate()
            } catch {
                throw ValidationError(error.description)
            }
            let signals = SignalWatcher()
            let demo = Task {
                try await DialerLoad.Demo(options: options).run(
                    output: { text in FileHandle.standardOutput.write(Data(text.utf8)) },
                    waitForStop: {
                        while signals.received == nil { try? await Task.sleep(for: .milliseconds(100)) }
                    })
            }
            // Ctrl-C while the demo runs: cancel it; it stops the cluster on its way out.
            let interrupt = Task {
                while signals.received == nil && !Task.isCancelled { try? await Task.sleep(for: .milliseconds(100)) }
                if signals.received != nil { demo.cancel() }
            }
            defer { interrupt.cancel() }
            do {
                _ = try await demo.value
            } catch let error as DemoError {
                throw CommandFailure(error.description)
            } catch is CancellationError {
                throw CommandFailure("interrupted")
            }
        }
    }

    struct Up: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Start every process of a cluster file on this machine; Ctrl-C stops them all.")

        @Option(name: .long, help: "The cluster configuration file.")
        var config: String = "cluster-config/local.toml"

        @Argument(help: "The cluster configuration file (same as --config).")
        var file: String?

        @Option(name: .long, help: "Where the dialer executables are (default: beside dialerctl).")
        var binDirectory: String?

        func run() async throws {
            let path = file ?? config
            let environment = ProcessInfo.processInfo.environment
            let cluster: ClusterConfig
            do {
                cluster = try ConfigLoader.load(path: path, overrides: [], environment: environment, nodeID: nil)
            } catch {
                throw CommandFailure("configuration: \(error)")
            }
            let launcher = try ClusterLauncher(
                binDirectory: binDirectory ?? ClusterLauncher.ownBinDirectory,
                runDirectory: cluster.cluster.runDirectory)
            let signals = SignalWatcher()
            say("starting the cluster of \(path) (logs in \(cluster.cluster.runDirectory))")
            do {
                let manager = try await launcher.start(
                    executable: "dialer-manager", role: "manager", id: cluster.manager.id,
                    arguments: ["--config", path])
                report(manager)
                var managerAddresses = [manager.ready.clusterAddress ?? cluster.manager.clusterAddress.description]
                // Standbys share the database and wait for the lease; the gateway and the nodes
                // get every manager's address and follow whichever is active.
                for standby in cluster.standbys {
                    let member = try await launcher.start(
                        executable: "dialer-manager", role: "manager", id: standby.id,
                        arguments: ["--config", path, "--id", standby.id])
                    report(member)
                    managerAddresses.append(member.ready.clusterAddress ?? standby.clusterAddress.description)
                }
                let managerAddress = managerAddresses.joined(separator: ",")
                let gateway = try await launcher.start(
                    executable: "agent-gateway", role: "gateway", id: cluster.gateway.id,
                    arguments: ["--config", path, "--manager-address", managerAddress])
                report(gateway)
                let gatewayAddress = gateway.ready.clusterAddress ?? cluster.gateway.clusterAddress.description
                for node in cluster.nodes {
                    let member = try await launcher.start(
                        executable: "dialer-node", role: "node", id: node.id,
                        arguments: [
                            "--config", path, "--id", node.id, "--manager-address", managerAddress,
                            "--gateway-address", gatewayAddress,
                        ])
                    report(member)
                }
            } catch {
                await launcher.stopAll()
                throw error
            }
            say("cluster up; `dialerctl status --config \(path)` shows it. Ctrl-C stops it.")
            say("admin API token: \(cluster.cluster.runDirectory)/admin.token (created on the manager's first start)")
            // Wait for Ctrl-C / SIGTERM, or for a process to die on its own.
            var stop = false
            while !stop {
                stop = signals.received != nil
                for member in launcher.members where !launcher.isRunning(member.id) {
                    say("\(member.role) \(member.id) exited; see \(member.logFile)")
                    stop = true
                    break
                }
                try? await Task.sleep(for: .milliseconds(100))
            }
            say("stopping the cluster ...")
            await launcher.stopAll()
            say("stopped")
        }

        private func report(_ member: ClusterLauncher.Member) {
            let address = [member.ready.clusterAddress.map { "cluster \($0)" }, "http \(member.ready.httpAddress)"]
                .compactMap { $0 }.joined(separator: ", ")
            say(
                "\(member.role.padding(toLength: 8, withPad: " ", startingAt: 0)) \(member.id.padding(toLength: 10, withPad: " ", startingAt: 0)) \(address)  log \(member.logFile)"
            )
        }
    }

    struct Status: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print the cluster table from the manager.")

        @OptionGroup var location: ManagerLocation

        func run() async throws {
            let table = try await location.client().get("v1/cluster", as: ClusterTable.self)
            print("members (queue map version \(table.mapVersion)\(table.recovering ? ", manager recovering" : "")):")
            print(row(["ROLE", "ID", "STATE", "CONNECTED", "HTTP", "LAST HEARTBEAT", "PROTOCOL"]))
            for node in table.nodes {
                print(
                    row([
                        node.role, node.id, node.state, node.connected ? "yes" : "no", node.httpAddress,
                        node.lastHeartbeatAgeMs.map { "\($0) ms ago" } ?? "-",
                        node.protocolVersion.map(String.init) ?? "-",
                    ]))
            }
            print("\nqueues:")
            print(row(["QUEUE", "KIND", "OWNER", "EPOCH", "LEASE LEFT", "HANDOFF"]))
            for queue in table.queues {
                print(
                    row([
                        queue.id, queue.kind, queue.owner ?? "-", String(queue.epoch),
                        queue.leaseExpiresInMs.map { "\($0) ms" } ?? "-", queue.handoff ?? "",
                    ]))
            }
        }

        private func row(_ cells: [String]) -> String {
            let widths = [10, 12, 10, 10, 18, 16, 8]
            return zip(cells, widths).map { $0.padding(toLength: max($1, $0.count + 1), withPad: " ", startingAt: 0) }
                .joined()
        }
    }

    struct Drain: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Drain a node: it finishes what it has in hand and hands its queues to the others.")

        @Argument(help: "The node id.") var node: String
        @OptionGroup var location: ManagerLocation

        func run() async throws {
            try await nodeOperation(location: location, path: "v1/nodes/\(node)/drain")
        }
    }

    struct Resume: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Put a drained node back to work.")

        @Argument(help: "The node id.") var node: String
        @OptionGroup var location: ManagerLocation

        func run() async throws {
            try await nodeOperation(location: location, path: "v1/nodes/\(node)/resume")
        }
    }
}

extension Dialerctl {
    struct Compose: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print a Docker Compose file running every process of a cluster file (docker/README.md).")

        @Option(name: .long, help: "The cluster configuration file (hosts: the member ids; fixed ports).")
        var config: String = "docker/cluster.toml"

        @Option(name: .long, help: "The image every service runs.") var image = "swift-dialer:latest"

        @Option(name: .long, help: "The build context, relative to the compose file.") var buildContext = ".."

        @Option(name: .long, help: "The Dockerfile, relative to the build context.")
        var dockerfile = "docker/Dockerfile"

        @Option(
            name: .long,
            help: "The cluster file as the compose file names it, relative to it (default: ./ and its file name).")
        var clusterFile: String?

        func run() throws {
            var options = Deployment.ComposeOptions()
            options.image = image
            options.buildContext = buildContext
            options.dockerfile = dockerfile
            options.clusterFile = clusterFile ?? "./" + URL(fileURLWithPath: config).lastPathComponent
            options.generatedFrom = config
            do {
                print(try Deployment.compose(try loadForDeployment(config), options: options), terminator: "")
            } catch {
                throw CommandFailure("\(config): \(error)")
            }
        }
    }

    struct Systemd: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print (or write) systemd units for the processes of a cluster file.",
            discussion: """
                dialer-manager.service, dialer-gateway.service and the template dialer-node@.service \
                (instance: the node id). Install them on each host with the cluster file.
                """)

        @Option(name: .long, help: "The cluster configuration file.") var config: String = "cluster-config/local.toml"

        @Option(name: .long, help: "Where the executables are installed.") var binDirectory = "/usr/local/bin"

        @Option(name: .long, help: "Where the cluster file is on each host.")
        var configPath = "/etc/dialer/cluster.toml"

        @Option(name: .long, help: "The user and group the processes run as.") var user = "dialer"

        @Option(name: .long, help: "Write one file per unit into this directory instead of printing them.")
        var outputDirectory: String?

        func run() throws {
            var options = Deployment.SystemdOptions()
            options.binDirectory = binDirectory
            options.configPath = configPath
            options.user = user
            let units: [Deployment.Unit]
            do {
                units = Deployment.systemdUnits(try loadForDeployment(config), options: options)
            } catch {
                throw CommandFailure("\(config): \(error)")
            }
            guard let outputDirectory else {
                for unit in units { print("# ==== \(unit.name) ====\n\(unit.text)") }
                return
            }
            for unit in units {
                let path = URL(fileURLWithPath: outputDirectory).appendingPathComponent(unit.name).path
                try unit.text.write(toFile: path, atomically: true, encoding: .utf8)
                print(path)
            }
        }
    }
}

/// The cluster file alone: a deployment is made from what the file says, not from this
/// shell's `DIALER_*` variables, and needs no secret.
private func loadForDeployment(_ path: String) throws -> ClusterConfig {
    try ConfigLoader.load(path: path, overrides: [], environment: [:], nodeID: nil, requireSecret: false)
}

private func nodeOperation(location: ManagerLocation, path: String) async throws {
    let (status, body) = try await location.client().send("POST", path)
    let text = String(decoding: body, as: UTF8.self)
    guard (200..<300).contains(status) else { throw CommandFailure("manager answered \(status): \(text)") }
    print(text)
}

/// Notes SIGINT/SIGTERM instead of dying on them, so `up` can stop its children first.
final class SignalWatcher: Sendable {
    private let last = Mutex<UnixSignal?>(nil)

    init() {
        Task { [weak self] in
            for await signal in await UnixSignalsSequence(trapping: .sigint, .sigterm) {
                self?.last.withLock { $0 = signal }
            }
        }
    }

    var received: UnixSignal? { last.withLock { $0 } }
}
