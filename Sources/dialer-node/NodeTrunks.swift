import DialerConfig
import DialerCore
import DialerNode
import DialerSIP
import DialerSimulation
import Logging

/// The choice of a node's trunk from the cluster file: the `[[trunk]]` the node names (or the
/// file's first), a SIP carrier or the simulated customers; the simulated trunk when the file has
/// no `[[trunk]]`.
enum NodeTrunks {
    /// What the node will dial through, checked before the node joins the cluster: a population
    /// file or a SIP entry that cannot be used stops the process with the key's name, rather than
    /// a node that joins and never dials.
    static func telephony(config: ClusterConfig, node: NodeSettings) throws -> NodeTelephonyFactory {
        let chosen = config.trunk(for: node)
        guard let chosen, chosen.kind == .sip else {
            let population: SimulatedTrunk.Population
            do {
                population = try trunkPopulation(config: config, node: node, caps: chosen)
            } catch {
                throw NodeTrunkError(key: "cluster.trunk_population", reason: "\(error)")
            }
            return { clock, _ in
                let trunk = try await SimulatedTrunk(population: population, clock: clock)
                return NodeTelephony(
                    trunk: trunk, clock: trunk.clock, timeScale: population.timeScale,
                    shutDown: { await trunk.shutDown() })
            }
        }
        let configuration: SIPTrunkConfiguration
        do {
            configuration = try SIPTrunkConfiguration(
                settings: chosen, failover: chosen.failover.flatMap { config.trunk(id: $0) })
        } catch {
            let key = error.field.hasPrefix("trunk.") ? error.field : "trunk.\(error.field)"
            throw NodeTrunkError(key: key, reason: "trunk \"\(chosen.id)\": \(error.reason)")
        }
        return { clock, logger in
            var logger = logger
            logger[metadataKey: "trunk"] = "\(configuration.name)"
            let trunk = try await SIPTrunk.start(configuration: configuration, clock: clock, logger: logger)
            logger.info(
                "SIP trunk started",
                metadata: [
                    "local": "\(trunk.localAddress)", "proxy": "\(configuration.proxy)",
                    "transport": "\(configuration.transport)",
                ])
            return NodeTelephony(trunk: trunk, clock: clock, timeScale: 1, shutDown: { await trunk.shutDown() })
        }
    }

    /// The customers of the node's simulated trunk: `cluster.trunk_population`'s file, or the
    /// built-in population, at `cluster.trunk_time_scale`, with a `simulated` `[[trunk]]`'s caps.
    /// The seed is mixed with the node's id, so that two nodes do not meet the very same
    /// customers, and a node meets the same ones run after run.
    static func trunkPopulation(
        config: ClusterConfig, node: NodeSettings, caps: TrunkSettings?
    ) throws(SimulatedTrunk.PopulationError) -> SimulatedTrunk.Population {
        let nodeSeed = node.id.utf8.reduce(UInt64(14_695_981_039_346_656_037)) {
            ($0 ^ UInt64($1)) &* 1_099_511_628_211
        }
        var population: SimulatedTrunk.Population
        if let path = config.cluster.trunkPopulation {
            population = try SimulatedTrunk.Population.load(path: path)
            population.seed ^= nodeSeed
        } else {
            population = SimulatedTrunk.Population(seed: nodeSeed)
        }
        population.timeScale = Double(config.cluster.trunkTimeScale)
        if let caps {
            population.channels = caps.channels
            population.callsPerSecond = caps.callsPerSecond
        }
        try population.validate()
        return population
    }
}

/// A trunk the node cannot use, naming the key to fix.
struct NodeTrunkError: Error, CustomStringConvertible {
    var key: String
    var reason: String
    var description: String { "\(key): \(reason)" }
}
