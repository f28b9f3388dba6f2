/// Collects settings layer by layer (file, environment, flags), then builds and validates the
/// typed configuration.
///
/// Settings stay untyped until the end so that a later layer can replace an earlier value
/// before it is ever converted: a bad value in the file that a flag overrides is not an error.
struct ConfigBuilder {
    /// One `[[node]]` or `[[queue]]` element of the file.
    struct Entry {
        var headerLine: Int
        var settings: [(key: ConfigKey, setting: Setting)] = []
    }

    let fileName: String?
    /// The winning setting of each `[cluster]`, `[manager]` and `[gateway]` key, and of the
    /// `node.*` overrides for the running node, by qualified name.
    private(set) var scalars: [String: Setting] = [:]
    private(set) var nodes: [Entry] = []
    private(set) var queues: [Entry] = []
    private(set) var trunks: [Entry] = []
    private(set) var standbys: [Entry] = []

    init(fileName: String?) {
        self.fileName = fileName
    }

    // MARK: - Layers

    mutating func addFile(_ document: TOMLDocument) throws(ConfigError) {
        if let entry = document.root.entries.first {
            throw fileError(
                .unknownKey, line: entry.line,
                "key \(entry.key.quoted) is outside any section: put it under [cluster], [manager], [gateway], "
                    + "[[node]] or [[queue]]")
        }
        for table in document.tables {
            let name = table.name ?? ""
            guard let section = ConfigSection(rawValue: name) else {
                var message = "unknown section \(table.isArrayElement ? "[[\(name)]]" : "[\(name)]")"
                if let close = suggestion(for: name, among: ConfigSection.allCases.map(\.rawValue)),
                    let section = ConfigSection(rawValue: close)
                {
                    message += " (did you mean \(section.header)?)"
                }
                throw fileError(.unknownKey, line: table.line, message)
            }
            let isArraySection = section.isArray
            guard table.isArrayElement == isArraySection else {
                throw fileError(
                    .syntax, line: table.line,
                    isArraySection
                        ? "write [[\(name)]] (one per \(name)), not [\(name)]"
                        : "write [\(name)], not [[\(name)]]: there is one \(name) section")
            }
            var entry = Entry(headerLine: table.line)
            for tomlEntry in table.entries {
                guard let key = ConfigKey.find(section, tomlEntry.key) else {
                    var message = "unknown key \(tomlEntry.key.quoted) in \(section.header)"
                    let names = ConfigKey.all.filter { $0.section == section }.map(\.name)
                    if let close = suggestion(for: tomlEntry.key, among: names) {
                        message += " (did you mean \(close.quoted)?)"
                    }
                    throw fileError(.unknownKey, line: tomlEntry.line, message)
                }
                let setting = Setting(
                    value: .toml(tomlEntry.value), origin: .file(name: fileName, line: tomlEntry.line))
                if isArraySection {
                    entry.settings.append((key, setting))
                } else {
                    scalars[key.qualifiedName] = setting
                }
            }
            if section == .node { nodes.append(entry) }
            if section == .queue { queues.append(entry) }
            if section == .trunk { trunks.append(entry) }
            if section == .standby { standbys.append(entry) }
        }
    }

    mutating func addEnvironment(_ environment: [String: String], nodeID: String?) throws(ConfigError) {
        let overridable = ConfigKey.all.filter(\.isOverridable)
        let keysByVariable = Dictionary(uniqueKeysWithValues: overridable.map { ($0.environmentVariable, $0) })
        let prefixes = [ConfigSection.cluster, .manager, .gateway, .node].map { "DIALER_\($0.rawValue.uppercased())_" }
        // Sorted, so that with several bad variables the same one is reported every time.
        for (variable, text) in environment.sorted(by: { $0.key < $1.key }) {
            let isNodeVariable = variable.hasPrefix("DIALER_NODE_")
            // One environment is often shared by every process on a host (a shell, a compose
            // file): node variables are for node processes and are ignored by the others.
            if isNodeVariable && nodeID == nil { continue }
            if let key = keysByVariable[variable] {
                scalars[key.qualifiedName] = Setting(value: .text(text), origin: .environment(variable: variable))
                continue
            }
            // Other DIALER_ variables (DIALER_NODE_ID, DIALER_CONFIG ...) belong to the executables.
            guard prefixes.contains(where: variable.hasPrefix), variable != ConfigLoader.nodeIDEnvironmentVariable
            else { continue }
            var message = "unknown setting"
            if let close = suggestion(for: variable, among: keysByVariable.keys.sorted()) {
                message += " (did you mean \(close)?)"
            }
            throw ConfigError(kind: .unknownKey, origin: .environment(variable: variable), message: message)
        }
    }

    mutating func addOverrides(_ overrides: [String], nodeID: String?) throws(ConfigError) {
        for override in overrides {
            guard let equals = override.firstIndex(of: "=") else {
                throw ConfigError(kind: .syntax, source: "--set \(override)", message: "expected section.key=value")
            }
            let name = String(override[..<equals])
            let value = String(override[override.index(after: equals)...])
            let key = ConfigKey.find(qualifiedName: name)
            // Values are shown except the secret's; an unknown key could be a misspelt secret, so
            // its value is not shown either.
            let shown = key == nil ? name : key?.isSecret == true ? "\(name)=<redacted>" : override
            let origin = Origin.flag(text: "--set \(shown)")
            guard let key, key.isOverridable else {
                var message: String
                if key != nil {
                    message = "\(name) can only be set in the cluster file"
                } else {
                    message = "unknown key \(name)"
                    let names = ConfigKey.all.filter(\.isOverridable).map(\.qualifiedName)
                    if let close = suggestion(for: name, among: names) { message += " (did you mean \(close)?)" }
                }
                throw ConfigError(kind: .unknownKey, origin: origin, message: message)
            }
            if key.section == .node && nodeID == nil {
                throw ConfigError(
                    kind: .unknownKey, origin: origin, message: "node.* keys apply only to a node process")
            }
            scalars[key.qualifiedName] = Setting(value: .text(value), origin: origin)
        }
    }

    // MARK: - Building

    func build(nodeID: String?, requireSecret: Bool) throws(ConfigError) -> ClusterConfig {
        var config = ClusterConfig()
        var origins: [String: Origin] = [:]
        for key in ConfigKey.all where !key.section.isArray {
            guard let setting = scalars[key.qualifiedName] else { continue }
            try Self.assign(key, setting, to: &config)
            origins[key.qualifiedName] = setting.origin
        }
        // The database follows the run directory unless it is set on its own, so that moving
        // the run directory moves everything the cluster writes.
        if scalars["manager.database"] == nil {
            let directory = config.cluster.runDirectory
            config.manager.database =
                directory.hasSuffix("/") ? directory + "dialer.sqlite" : directory + "/dialer.sqlite"
        }
        if scalars["manager.watch_directory"] == nil {
            let directory = config.cluster.runDirectory
            config.manager.watchDirectory = directory.hasSuffix("/") ? directory + "watch" : directory + "/watch"
        }
        config.cluster.secret = try resolveSecret(required: requireSecret)

        var nodeOrigins: [Origin?] = []
        for entry in nodes {
            var node = NodeSettings(id: "")
            nodeOrigins.append(
                try assignEntry(entry, section: .node) { key, setting throws(ConfigError) in
                    try Self.assign(key, setting, to: &node)
                })
            config.nodes.append(node)
        }
        if let nodeID {
            let index: Int
            if let found = config.nodes.firstIndex(where: { $0.id == nodeID }) {
                index = found
            } else {
                config.nodes.append(NodeSettings(id: nodeID))
                nodeOrigins.append(nil)
                index = config.nodes.count - 1
            }
            for key in ConfigKey.all where key.section == .node {
                guard let setting = scalars[key.qualifiedName] else { continue }
                try Self.assign(key, setting, to: &config.nodes[index])
                origins[key.qualifiedName] = setting.origin
            }
        }

        var queueOrigins: [Origin?] = []
        for entry in queues {
            var queue = QueueSettings(id: "")
            queueOrigins.append(
                try assignEntry(entry, section: .queue) { key, setting throws(ConfigError) in
                    try Self.assign(key, setting, to: &queue)
                })
            config.queues.append(queue)
        }

        var trunkOrigins: [Origin?] = []
        for entry in trunks {
            var trunk = TrunkSettings(id: "")
            trunkOrigins.append(
                try assignEntry(entry, section: .trunk) { key, setting throws(ConfigError) in
                    try Self.assign(key, setting, to: &trunk)
                })
            config.trunks.append(trunk)
        }

        var standbyOrigins: [Origin?] = []
        for entry in standbys {
            var standby = StandbyManagerSettings(id: "")
            standbyOrigins.append(
                try assignEntry(entry, section: .standby) { key, setting throws(ConfigError) in
                    try Self.assign(key, setting, to: &standby)
                })
            config.standbys.append(standby)
        }
        if scalars["manager.addresses"] == nil {
            config.manager.addresses = [config.manager.clusterAddress] + config.standbys.map(\.clusterAddress)
        }

        var validator = ConfigValidator(
            config: config, origins: origins, nodeOrigins: nodeOrigins, queueOrigins: queueOrigins,
            trunkOrigins: trunkOrigins)
        validator.standbyOrigins = standbyOrigins
        try validator.validate()
        return config
    }

    /// Applies the settings of a `[[node]]` or `[[queue]]` entry; returns where its id was set.
    private func assignEntry(
        _ entry: Entry, section: ConfigSection, assign: (ConfigKey, Setting) throws(ConfigError) -> Void
    ) throws(ConfigError) -> Origin {
        var idOrigin: Origin?
        for (key, setting) in entry.settings {
            try assign(key, setting)
            if key.name == "id" { idOrigin = setting.origin }
        }
        guard let idOrigin else {
            throw fileError(.invalidValue, line: entry.headerLine, "\(section.header) has no id: add id = \"...\"")
        }
        return idOrigin
    }

    static func assign(_ key: ConfigKey, _ setting: Setting, to config: inout ClusterConfig) throws(ConfigError) {
        switch (key.section, key.name) {
        case (.cluster, "max_frame_bytes"): config.cluster.maxFrameBytes = try setting.integer(for: key)
        case (.cluster, "heartbeat_interval_ms"): config.cluster.heartbeatInterval = try setting.milliseconds(for: key)
        case (.cluster, "agent_heartbeat_interval_ms"):
            config.cluster.agentHeartbeatInterval = try setting.milliseconds(for: key)
        case (.cluster, "outbound_high_water_bytes"):
            config.cluster.outboundHighWaterBytes = try setting.integer(for: key)
        case (.cluster, "outbound_hard_limit_bytes"):
            config.cluster.outboundHardLimitBytes = try setting.integer(for: key)
        case (.cluster, "tls_certificate"): config.cluster.tlsCertificate = try setting.string(for: key)
        case (.cluster, "tls_key"): config.cluster.tlsKey = try setting.string(for: key)
        case (.cluster, "tls_ca"): config.cluster.tlsCertificateAuthority = try setting.string(for: key)
        case (.cluster, "tls_client_auth"):
            config.cluster.tlsClientAuthentication = try setting.choice(for: key, of: TLSClientAuthentication.self)
        case (.cluster, "missed_heartbeats"): config.cluster.missedHeartbeats = try setting.integer(for: key)
        case (.cluster, "trunk_time_scale"): config.cluster.trunkTimeScale = try setting.integer(for: key)
        case (.cluster, "trunk_population"): config.cluster.trunkPopulation = try setting.string(for: key)
        case (.cluster, "thread_slice_us"):
            // 0 leaves the kernel's default; otherwise within the kernel's own bounds.
            let bounds = ClusterSettings.threadSliceMicroseconds
            let microseconds = try setting.integer(for: key, in: 0...bounds.upperBound)
            guard microseconds == 0 || bounds.contains(microseconds) else {
                throw setting.invalid(
                    key,
                    "must be 0 (the kernel's default) or \(bounds.lowerBound) to \(bounds.upperBound), got \(microseconds)"
                )
            }
            config.cluster.threadSlice = microseconds == 0 ? nil : .microseconds(microseconds)
        case (.cluster, "protocol_version_max"):
            config.cluster.protocolVersionMax = try setting.integer(for: key, in: ClusterSettings.protocolVersions)
        case (.cluster, "lease_duration_ms"): config.cluster.leaseDuration = try setting.milliseconds(for: key)
        case (.cluster, "lease_renew_interval_ms"):
            config.cluster.leaseRenewInterval = try setting.milliseconds(for: key)
        case (.cluster, "lease_safety_margin_ms"): config.cluster.leaseSafetyMargin = try setting.milliseconds(for: key)
        case (.cluster, "log_level"): config.cluster.logLevel = try setting.choice(for: key, of: LogLevel.self)
        case (.cluster, "run_directory"): config.cluster.runDirectory = try setting.string(for: key)
        case (.manager, "id"): config.manager.id = try setting.string(for: key)
        case (.manager, "cluster_address"): config.manager.clusterAddress = try setting.hostPort(for: key)
        case (.manager, "http_address"): config.manager.httpAddress = try setting.hostPort(for: key)
        case (.manager, "database"): config.manager.database = try setting.string(for: key)
        case (.manager, "database_connections"):
            config.manager.databaseConnections = try setting.integer(for: key)
        case (.manager, "watch_directory"): config.manager.watchDirectory = try setting.string(for: key)
        case (.manager, "watch_interval_ms"): config.manager.watchInterval = try setting.milliseconds(for: key)
        case (.manager, "max_import_bytes"): config.manager.maxImportBytes = try setting.integer(for: key)
        case (.manager, "default_region"): config.manager.defaultRegion = try setting.string(for: key)
        case (.manager, "password_iterations"): config.manager.passwordIterations = try setting.integer(for: key)
        case (.manager, "addresses"):
            var addresses: [HostPort] = []
            for text in try setting.strings(for: key) {
                do {
                    addresses.append(try HostPort.parse(text))
                } catch {
                    throw ConfigError(
                        kind: .invalidValue, origin: setting.origin, message: "\(key.qualifiedName): \(error.reason)")
                }
            }
            config.manager.addresses = addresses
        case (.manager, "active_lease_ms"): config.manager.activeLease = try setting.milliseconds(for: key)
        case (.manager, "compliance_profile"):
            config.manager.complianceProfile = try setting.choice(for: key, of: ComplianceProfileName.self)
        case (.gateway, "id"): config.gateway.id = try setting.string(for: key)
        case (.gateway, "cluster_address"): config.gateway.clusterAddress = try setting.hostPort(for: key)
        case (.gateway, "http_address"): config.gateway.httpAddress = try setting.hostPort(for: key)
        case (.gateway, "agent_grace_ms"): config.gateway.agentGracePeriod = try setting.milliseconds(for: key)
        case (.gateway, "picture_interval_ms"): config.gateway.pictureInterval = try setting.milliseconds(for: key)
        default: break  // cluster.secret and cluster.secret_file: resolved together by resolveSecret.
        }
    }

    static func assign(
        _ key: ConfigKey, _ setting: Setting, to standby: inout StandbyManagerSettings
    ) throws(ConfigError) {
        switch key.name {
        case "id": standby.id = try setting.string(for: key)
        case "cluster_address": standby.clusterAddress = try setting.hostPort(for: key)
        case "http_address": standby.httpAddress = try setting.hostPort(for: key)
        default: break
        }
    }

    static func assign(_ key: ConfigKey, _ setting: Setting, to node: inout NodeSettings) throws(ConfigError) {
        switch key.name {
        case "id": node.id = try setting.string(for: key)
        case "http_address": node.httpAddress = try setting.hostPort(for: key)
        case "trunk": node.trunk = try setting.string(for: key)
        default: break
        }
    }

    /// Converts one `[[trunk]]` key; ranges are the validator's, except the ones whose
    /// conversion needs them (durations, so that no multiplication overflows).
    static func assign(_ key: ConfigKey, _ setting: Setting, to trunk: inout TrunkSettings) throws(ConfigError) {
        switch key.name {
        case "id": trunk.id = try setting.string(for: key)
        case "kind": trunk.kind = try setting.choice(for: key, of: TrunkKind.self)
        case "proxy": trunk.proxy = try setting.hostPort(for: key)
        case "domain": trunk.domain = try setting.string(for: key)
        case "transport": trunk.transport = try setting.choice(for: key, of: TrunkTransport.self)
        case "bind_address": trunk.bindAddress = try setting.hostPort(for: key)
        case "advertised_host": trunk.advertisedHost = try setting.string(for: key)
        case "username": trunk.username = try setting.string(for: key)
        case "password": trunk.password = try setting.string(for: key)
        case "channels": trunk.channels = try setting.integer(for: key, in: 1...100_000)
        case "calls_per_second": trunk.callsPerSecond = try setting.integer(for: key, in: 1...10_000)
        case "codecs": trunk.codecs = try setting.strings(for: key)
        case "media_port_min": trunk.mediaPortMin = try setting.integer(for: key, in: 1024...65534)
        case "media_port_max": trunk.mediaPortMax = try setting.integer(for: key, in: 1024...65534)
        case "failover": trunk.failover = try setting.string(for: key)
        case "prompt_directory": trunk.promptDirectory = try setting.string(for: key)
        case "registration_expiry_s":
            let seconds = try setting.integer(for: key, in: 0...86_400)
            guard seconds == 0 || seconds >= 60 else {
                throw setting.invalid(key, "must be 0 (no registration) or 60 to 86400, got \(seconds)")
            }
            trunk.registrationExpiry = seconds == 0 ? nil : .seconds(seconds)
        case "keep_alive_ms":
            let milliseconds = try setting.integer(for: key, in: 0...3_600_000)
            guard milliseconds == 0 || milliseconds >= 1000 else {
                throw setting.invalid(key, "must be 0 (none) or 1000 to 3600000, got \(milliseconds)")
            }
            trunk.keepAliveInterval = milliseconds == 0 ? nil : .milliseconds(milliseconds)
        default: break
        }
    }

    static func assign(_ key: ConfigKey, _ setting: Setting, to queue: inout QueueSettings) throws(ConfigError) {
        switch key.name {
        case "id": queue.id = try setting.string(for: key)
        case "kind": queue.kind = try setting.choice(for: key, of: QueueKind.self)
        case "dids": queue.dids = try setting.strings(for: key)
        default: break
        }
    }

    // MARK: - The secret

    /// The secret from `secret` or from the file `secret_file` names, whichever was set by the
    /// higher layer; both in the same layer is ambiguous and an error.
    private func resolveSecret(required: Bool) throws(ConfigError) -> String? {
        let inline = scalars["cluster.secret"]
        let file = scalars["cluster.secret_file"]
        if let inline, let file, inline.origin.rank == file.origin.rank {
            throw ConfigError(
                kind: .invalidValue, origin: file.origin,
                message: "set only one of cluster.secret and cluster.secret_file")
        }
        if let file, (inline?.origin.rank ?? -1) < file.origin.rank {
            return try readSecretFile(file)
        }
        if let inline, let key = ConfigKey.find(.cluster, "secret") {
            let secret = try inline.string(for: key)
            guard !secret.isEmpty else {
                throw ConfigError(
                    kind: .invalidValue, origin: inline.origin, message: "cluster.secret must not be empty")
            }
            return secret
        }
        guard !required else {
            throw ConfigError(
                kind: .missingSecret, source: nil,
                message: "missing cluster secret: set secret = \"...\" (or secret_file = \"/path\") in the [cluster] "
                    + "section of the cluster file, or the environment variable DIALER_CLUSTER_SECRET "
                    + "(or DIALER_CLUSTER_SECRET_FILE), or pass --set cluster.secret=...")
        }
        return nil
    }

    private func readSecretFile(_ setting: Setting) throws(ConfigError) -> String {
        guard let key = ConfigKey.find(.cluster, "secret_file") else { return "" }
        let path = try setting.string(for: key)
        let bytes: [UInt8]
        do {
            bytes = try readFile(atPath: path)
        } catch {
            throw ConfigError(
                kind: .unreadableFile, origin: setting.origin,
                message: "cannot read cluster.secret_file \(path.quoted): \(error.reason)")
        }
        guard let text = String(validating: bytes, as: UTF8.self) else {
            throw ConfigError(
                kind: .invalidValue, origin: setting.origin,
                message: "cluster.secret_file \(path.quoted) is not UTF-8 text")
        }
        // Files written by `echo` or editors end with a newline that is not part of the secret.
        var secret = Substring(text)
        while secret.first?.isWhitespace == true { secret.removeFirst() }
        while secret.last?.isWhitespace == true { secret.removeLast() }
        guard !secret.isEmpty else {
            throw ConfigError(
                kind: .invalidValue, origin: setting.origin, message: "cluster.secret_file \(path.quoted) is empty")
        }
        return String(secret)
    }

    private func fileError(_ kind: ConfigError.Kind, line: Int, _ message: String) -> ConfigError {
        ConfigError(kind: kind, file: fileName, line: line, message: message)
    }
}
