/// Checks a built configuration as a whole: ranges, relations between timings, ids.
///
/// Each error names the key at fault and is prefixed with where its value came from, so that an
/// operator fixes the right line, flag or variable.
struct ConfigValidator {
    let config: ClusterConfig
    /// Where each `[cluster]`, `[manager]` and `[gateway]` value that is not a default came from.
    let origins: [String: Origin]
    /// Where each node's id came from (nil for the running node when it is not in the file).
    let nodeOrigins: [Origin?]
    /// Where each queue's id came from.
    let queueOrigins: [Origin?]
    /// Where each trunk's id came from.
    var trunkOrigins: [Origin?] = []
    /// Where each standby manager's id came from.
    var standbyOrigins: [Origin?] = []

    /// The frame limit: big enough for any control message, small enough that one frame cannot
    /// exhaust a process's memory.
    static let frameBytesRange = 1024...(64 * 1024 * 1024)

    func validate() throws(ConfigError) {
        try validateCluster()
        try checkID(config.manager.id, what: "manager.id", origin: origins["manager.id"])
        try checkID(config.gateway.id, what: "gateway.id", origin: origins["gateway.id"])
        if config.gateway.id == config.manager.id {
            throw fail(["gateway.id"], "gateway.id \(config.gateway.id.quoted) is also manager.id")
        }
        if config.manager.database.isEmpty {
            throw fail(["manager.database"], "manager.database must not be empty")
        }
        if PostgresDatabaseURL.isPostgresURL(config.manager.database) {
            do {
                _ = try PostgresDatabaseURL(url: config.manager.database)
            } catch {
                throw fail(["manager.database"], error.message)
            }
        }
        if !(1...1_000).contains(config.manager.databaseConnections) {
            throw fail(["manager.database_connections"], "manager.database_connections must be 1 to 1000")
        }
        try validateManager()
        try validateGateway()
        try validateNodes()
        try validateQueues()
        try validateTrunks()
    }

    private func validateManager() throws(ConfigError) {
        let manager = config.manager
        if manager.watchDirectory.isEmpty {
            throw fail(["manager.watch_directory"], "manager.watch_directory must not be empty")
        }
        try within(manager.watchInterval, "manager.watch_interval_ms", 10...Self.day)
        if !(1024...(1 << 40)).contains(manager.maxImportBytes) {
            throw fail(["manager.max_import_bytes"], "manager.max_import_bytes must be 1024 to 1099511627776 (1 TiB)")
        }
        let region = manager.defaultRegion
        if region.count != 2 || !region.allSatisfy({ $0.isASCII && $0.isUppercase }) {
            throw fail(
                ["manager.default_region"],
                "manager.default_region must be two capital letters (ISO 3166 alpha-2), not \(region.quoted)")
        }
        try within(manager.activeLease, "manager.active_lease_ms", 500...600_000)
        if manager.addresses.isEmpty {
            throw fail(["manager.addresses"], "manager.addresses must name at least one address")
        }
        var ids: Set<String> = [manager.id, config.gateway.id]
        for (index, standby) in config.standbys.enumerated() {
            let origin = index < standbyOrigins.count ? standbyOrigins[index] : nil
            try checkID(standby.id, what: "standby id", origin: origin)
            guard ids.insert(standby.id).inserted, !config.nodes.contains(where: { $0.id == standby.id }) else {
                throw ConfigError(
                    kind: .invalidValue, origin: origin,
                    message: "standby id \(standby.id.quoted) is also the id of another manager, the gateway or a node")
            }
        }
        if !(1...10_000_000).contains(manager.passwordIterations) {
            throw fail(["manager.password_iterations"], "manager.password_iterations must be 1 to 10,000,000")
        }
    }

    private func validateGateway() throws(ConfigError) {
        try within(config.gateway.agentGracePeriod, "gateway.agent_grace_ms", 0...Self.day)
        try within(config.gateway.pictureInterval, "gateway.picture_interval_ms", 1...60_000)
    }

    private func validateCluster() throws(ConfigError) {
        let cluster = config.cluster
        guard Self.frameBytesRange.contains(cluster.maxFrameBytes) else {
            throw fail(
                ["cluster.max_frame_bytes"],
                "cluster.max_frame_bytes must be between 1024 and 67108864 (64 MiB), got \(cluster.maxFrameBytes)")
        }
        try within(cluster.heartbeatInterval, "cluster.heartbeat_interval_ms", 1...Self.hour)
        try within(cluster.agentHeartbeatInterval, "cluster.agent_heartbeat_interval_ms", 1...Self.hour)
        guard (4096...(1 << 30)).contains(cluster.outboundHighWaterBytes) else {
            throw fail(
                ["cluster.outbound_high_water_bytes"],
                "cluster.outbound_high_water_bytes must be 4096 to 1073741824, got \(cluster.outboundHighWaterBytes)")
        }
        // Room above the high water for the largest frame, so that one answer cannot close a peer.
        let leastHardLimit = cluster.outboundHighWaterBytes + cluster.maxFrameBytes
        guard (leastHardLimit...(1 << 32)).contains(cluster.outboundHardLimitBytes) else {
            throw fail(
                ["cluster.outbound_hard_limit_bytes", "cluster.outbound_high_water_bytes", "cluster.max_frame_bytes"],
                "cluster.outbound_hard_limit_bytes must be at least outbound_high_water_bytes + max_frame_bytes "
                    + "(\(leastHardLimit)) and at most 4294967296, got \(cluster.outboundHardLimitBytes)")
        }
        let tlsFiles = [
            ("cluster.tls_certificate", cluster.tlsCertificate), ("cluster.tls_key", cluster.tlsKey),
            ("cluster.tls_ca", cluster.tlsCertificateAuthority),
        ]
        let missing = tlsFiles.filter { $0.1 == nil || $0.1 == "" }.map(\.0)
        if !missing.isEmpty, missing.count < tlsFiles.count {
            throw fail(
                tlsFiles.map(\.0),
                "TLS needs cluster.tls_certificate, cluster.tls_key and cluster.tls_ca together; missing: "
                    + missing.joined(separator: ", "))
        }
        if cluster.tlsClientAuthentication == .require, cluster.tls == nil {
            throw fail(
                ["cluster.tls_client_auth"],
                "cluster.tls_client_auth = \"require\" needs cluster.tls_certificate, cluster.tls_key and cluster.tls_ca"
            )
        }
        guard (1...1000).contains(cluster.missedHeartbeats) else {
            throw fail(
                ["cluster.missed_heartbeats"],
                "cluster.missed_heartbeats must be 1 to 1000, got \(cluster.missedHeartbeats)")
        }
        guard (1...3600).contains(cluster.trunkTimeScale) else {
            throw fail(
                ["cluster.trunk_time_scale"],
                "cluster.trunk_time_scale must be between 1 and 3600, got \(cluster.trunkTimeScale)")
        }
        try within(cluster.leaseDuration, "cluster.lease_duration_ms", 1...Self.day)
        try within(cluster.leaseRenewInterval, "cluster.lease_renew_interval_ms", 1...Self.day)
        let margin = Self.milliseconds(cluster.leaseSafetyMargin)
        let lease = Self.milliseconds(cluster.leaseDuration)
        let renew = Self.milliseconds(cluster.leaseRenewInterval)
        guard margin >= 0 else {
            throw fail(
                ["cluster.lease_safety_margin_ms"], "cluster.lease_safety_margin_ms must not be negative, got \(margin)"
            )
        }
        guard margin < lease else {
            throw fail(
                ["cluster.lease_safety_margin_ms", "cluster.lease_duration_ms"],
                "cluster.lease_safety_margin_ms (\(margin)) must be less than cluster.lease_duration_ms (\(lease))")
        }
        // A node must renew before it has to stop dialing, or every queue would pause once per lease.
        guard renew + margin < lease else {
            throw fail(
                ["cluster.lease_renew_interval_ms", "cluster.lease_safety_margin_ms", "cluster.lease_duration_ms"],
                "cluster.lease_renew_interval_ms (\(renew)) + cluster.lease_safety_margin_ms (\(margin)) must be "
                    + "less than cluster.lease_duration_ms (\(lease))")
        }
        if cluster.runDirectory.isEmpty {
            throw fail(["cluster.run_directory"], "cluster.run_directory must not be empty")
        }
    }

    private func validateNodes() throws(ConfigError) {
        var seen: [String: Origin?] = [:]
        for (index, node) in config.nodes.enumerated() {
            let origin = index < nodeOrigins.count ? nodeOrigins[index] : nil
            try checkID(node.id, what: "node id", origin: origin)
            if let first = seen[node.id] {
                let firstPlace = first.map { " (first at \($0.source))" } ?? ""
                throw ConfigError(
                    kind: .invalidValue, origin: origin,
                    message: "node id \(node.id.quoted) is used by two nodes\(firstPlace)")
            }
            seen[node.id] = origin
            let roles = [("manager.id", config.manager.id), ("gateway.id", config.gateway.id)]
            for (role, id) in roles where id == node.id {
                throw ConfigError(
                    kind: .invalidValue, origin: origin, message: "node id \(node.id.quoted) is also \(role)")
            }
        }
    }

    private func validateQueues() throws(ConfigError) {
        var seen: [String: Origin?] = [:]
        for (index, queue) in config.queues.enumerated() {
            let origin = index < queueOrigins.count ? queueOrigins[index] : nil
            try checkID(queue.id, what: "queue id", origin: origin)
            if let first = seen[queue.id] {
                let firstPlace = first.map { " (first at \($0.source))" } ?? ""
                throw ConfigError(
                    kind: .invalidValue, origin: origin,
                    message: "queue id \(queue.id.quoted) is used by two queues\(firstPlace)")
            }
            seen[queue.id] = origin
        }
        var numbers: [String: String] = [:]
        for (index, queue) in config.queues.enumerated() {
            let origin = index < queueOrigins.count ? queueOrigins[index] : nil
            for did in queue.dids {
                let digits = did.utf8.dropFirst()
                guard did.hasPrefix("+"), (8...15).contains(digits.count),
                    digits.allSatisfy({ (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) })
                else {
                    throw ConfigError(
                        kind: .invalidValue, origin: origin,
                        message:
                            "queue \(queue.id.quoted): dids: \(did.quoted) is not an E.164 number (+ then 8 to 15 digits)"
                    )
                }
                if let other = numbers[did] {
                    throw ConfigError(
                        kind: .invalidValue, origin: origin,
                        message: "queue \(queue.id.quoted): dids: \(did) is already a number of queue \(other.quoted)")
                }
                numbers[did] = queue.id
            }
        }
    }

    private func validateTrunks() throws(ConfigError) {
        var seen: [String: Origin?] = [:]
        for (index, trunk) in config.trunks.enumerated() {
            let origin = index < trunkOrigins.count ? trunkOrigins[index] : nil
            try checkID(trunk.id, what: "trunk id", origin: origin)
            func fail(_ key: String, _ message: String) -> ConfigError {
                ConfigError(
                    kind: .invalidValue, origin: origin, message: "trunk \(trunk.id.quoted): trunk.\(key): \(message)")
            }
            if trunk.id == TrunkSettings.builtInSimulated {
                throw ConfigError(
                    kind: .invalidValue, origin: origin,
                    message: "trunk id \"simulated\" is reserved for the built-in simulated trunk: choose another id")
            }
            if let first = seen[trunk.id] {
                let firstPlace = first.map { " (first at \($0.source))" } ?? ""
                throw ConfigError(
                    kind: .invalidValue, origin: origin,
                    message: "trunk id \(trunk.id.quoted) is used by two trunks\(firstPlace)")
            }
            seen[trunk.id] = origin
            // Ranges the builder could not check alone: the port pair and the caps of entries
            // built in code.
            guard (1024...65534).contains(trunk.mediaPortMin), (1024...65534).contains(trunk.mediaPortMax),
                trunk.mediaPortMin < trunk.mediaPortMax
            else {
                throw fail(
                    "media_port_max",
                    "the media ports must lie in 1024 to 65534 with media_port_min < media_port_max, got "
                        + "\(trunk.mediaPortMin) to \(trunk.mediaPortMax)")
            }
            guard (1...100_000).contains(trunk.channels) else {
                throw fail("channels", "must be 1 to 100000, got \(trunk.channels)")
            }
            guard (1...10_000).contains(trunk.callsPerSecond) else {
                throw fail("calls_per_second", "must be 1 to 10000, got \(trunk.callsPerSecond)")
            }
            guard trunk.kind == .sip else { continue }
            guard let proxy = trunk.proxy else {
                throw fail("proxy", "a sip trunk needs the carrier's outbound proxy (proxy = \"host:port\")")
            }
            guard (1...65535).contains(proxy.port) else {
                throw fail("proxy", "port must be 1 to 65535, got \(proxy.port)")
            }
            if let domain = trunk.domain, domain.isEmpty || domain.contains(where: { $0 == " " || $0 == "@" }) {
                throw fail("domain", "must be a host name, got \(domain.quoted)")
            }
            if let host = trunk.advertisedHost, host.isEmpty || host.contains(" ") {
                throw fail("advertised_host", "must be a host name or address, got \(host.quoted)")
            }
            if (trunk.username == nil) != (trunk.password == nil) {
                throw fail(
                    trunk.username == nil ? "username" : "password", "username and password are set together")
            }
            if trunk.username == "" { throw fail("username", "must not be empty") }
            var codecs: Set<String> = []
            for codec in trunk.codecs {
                guard TrunkSettings.knownCodecs.contains(codec) else {
                    throw fail(
                        "codecs",
                        "unknown codec \(codec.quoted): use \(TrunkSettings.knownCodecs.map(\.quoted).joined(separator: ", "))"
                    )
                }
                guard codecs.insert(codec).inserted else { throw fail("codecs", "\(codec.quoted) is listed twice") }
            }
            guard codecs.contains("PCMU") || codecs.contains("PCMA") else {
                throw fail("codecs", "needs a voice codec: PCMU or PCMA")
            }
            if let failover = trunk.failover {
                guard failover != trunk.id else { throw fail("failover", "a trunk cannot fail over to itself") }
                guard let other = config.trunk(id: failover) else {
                    throw fail("failover", "no [[trunk]] has id \(failover.quoted)")
                }
                guard other.kind == .sip, other.proxy != nil else {
                    throw fail("failover", "\(failover.quoted) is not a sip trunk with a proxy")
                }
            }
        }
        for (index, node) in config.nodes.enumerated() {
            guard let name = node.trunk, name != TrunkSettings.builtInSimulated, config.trunk(id: name) == nil
            else { continue }
            let origin = origins["node.trunk"] ?? (index < nodeOrigins.count ? nodeOrigins[index] : nil)
            throw ConfigError(
                kind: .invalidValue, origin: origin,
                message: "node \(node.id.quoted): trunk \(name.quoted) is not the id of a [[trunk]] (nor \"simulated\")"
            )
        }
    }

    /// Ids appear on the wire, in logs, metric labels and URLs, so they keep to a safe alphabet.
    private func checkID(_ id: String, what: String, origin: Origin?) throws(ConfigError) {
        guard !id.isEmpty else {
            throw ConfigError(kind: .invalidValue, origin: origin, message: "\(what) must not be empty")
        }
        let allowed = id.unicodeScalars.allSatisfy { scalar in
            switch scalar {
            case "a"..."z", "A"..."Z", "0"..."9", "-", "_", ".": true
            default: false
            }
        }
        guard allowed else {
            throw ConfigError(
                kind: .invalidValue, origin: origin,
                message: "\(what) \(id.quoted) may contain only ASCII letters, digits, '-', '_' and '.'")
        }
    }

    /// An hour and a day in milliseconds: the bounds of the timings, far beyond any sensible
    /// value but small enough that no multiple of them a process computes can overflow.
    static let hour: Int128 = 3_600_000
    static let day: Int128 = 86_400_000

    private func within(_ duration: Duration, _ key: String, _ range: ClosedRange<Int128>) throws(ConfigError) {
        let value = Self.milliseconds(duration)
        guard range.contains(value) else {
            throw fail([key], "\(key) must be \(range.lowerBound) to \(range.upperBound), got \(value)")
        }
    }

    /// An error attributed to the most recently layered of `keys` (a flag over the file), since
    /// that is most likely the value just changed.
    private func fail(_ keys: [String], _ message: String) -> ConfigError {
        let origin = keys.compactMap { origins[$0] }.max { $0.rank < $1.rank }
        return ConfigError(kind: .invalidValue, origin: origin, message: message)
    }

    /// Whole milliseconds; 128-bit so that any value an Int64 of milliseconds gives is exact.
    private static func milliseconds(_ duration: Duration) -> Int128 {
        let (seconds, attoseconds) = duration.components
        return Int128(seconds) * 1000 + Int128(attoseconds / 1_000_000_000_000_000)
    }
}
