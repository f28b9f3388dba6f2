/// The sections of a cluster file.
enum ConfigSection: String, CaseIterable, Sendable {
    case cluster
    case manager
    case gateway
    case node
    case queue
    case trunk
    case standby

    /// How the section is written in the file.
    var header: String {
        switch self {
        case .cluster, .manager, .gateway: "[\(rawValue)]"
        case .node, .queue, .trunk, .standby: "[[\(rawValue)]]"
        }
    }

    /// Whether the section is written once per entry (`[[node]]`, `[[queue]]`, `[[trunk]]`).
    var isArray: Bool { self == .node || self == .queue || self == .trunk || self == .standby }
}

/// One key a cluster file may set.
///
/// This table is the one list of keys: the loader checks names against it (so typos are
/// errors), `--help` texts and the README are written from it, and the tests check that each
/// key's documented default is what an unset key gives.
struct ConfigKey: Sendable, Equatable {
    var section: ConfigSection
    var name: String
    /// The default as it would be written in an override, or nil when there is none.
    var defaultText: String?
    var help: String
    /// Whether flags and environment variables may set the key; keys that identify an entry
    /// of an array (node and queue ids, queue kinds) may only be written in the file.
    var isOverridable = true

    /// `section.name`, as written in `--set` flags.
    var qualifiedName: String { "\(section.rawValue).\(name)" }

    /// `DIALER_SECTION_NAME`.
    var environmentVariable: String {
        "DIALER_\(section.rawValue.uppercased())_\(name.uppercased())"
    }

    /// Whether the value must never appear in messages.
    var isSecret: Bool { section == .cluster && name == "secret" }

    /// The help line shown by the executables' `--help`.
    var helpLine: String {
        let defaultPart = defaultText.map { "default \($0)" } ?? "no default"
        return "\(help) (\(defaultPart); env \(environmentVariable))"
    }

    static let all: [ConfigKey] = [
        ConfigKey(
            section: .cluster, name: "secret", defaultText: nil,
            help: "Shared cluster secret, never sent on the wire; required unless secret_file is set."),
        ConfigKey(
            section: .cluster, name: "secret_file", defaultText: nil,
            help: "File holding the cluster secret (read, surrounding whitespace trimmed), instead of secret."),
        ConfigKey(
            section: .cluster, name: "max_frame_bytes", defaultText: "1048576",
            help: "Largest protocol frame in bytes, 1024 to 67108864."),
        ConfigKey(
            section: .cluster, name: "outbound_high_water_bytes", defaultText: "1048576",
            help: "Outbound bytes waiting for a cluster peer above which it is not read, 4096 to 1073741824."),
        ConfigKey(
            section: .cluster, name: "outbound_hard_limit_bytes", defaultText: "16777216",
            help: "Outbound bytes waiting for a cluster peer above which it is closed (SLOW_CONSUMER); "
                + "above outbound_high_water_bytes + max_frame_bytes, at most 4294967296."),
        ConfigKey(
            section: .cluster, name: "tls_certificate", defaultText: nil,
            help: "PEM certificate (chain) of this process; with tls_key and tls_ca turns TLS on (docs/TLS.md)."),
        ConfigKey(
            section: .cluster, name: "tls_key", defaultText: nil,
            help: "PEM private key of tls_certificate."),
        ConfigKey(
            section: .cluster, name: "tls_ca", defaultText: nil,
            help: "PEM certificate authority that signs the cluster's certificates."),
        ConfigKey(
            section: .cluster, name: "tls_client_auth", defaultText: "none",
            help: "none, or require: TLS servers refuse clients without a certificate signed by tls_ca."),
        ConfigKey(
            section: .cluster, name: "heartbeat_interval_ms", defaultText: "1000",
            help: "Interval between heartbeats, in milliseconds."),
        ConfigKey(
            section: .cluster, name: "agent_heartbeat_interval_ms", defaultText: "15000",
            help: "Interval between heartbeats on agent connections (the gateway states it in Welcome), in "
                + "milliseconds."),
        ConfigKey(
            section: .cluster, name: "missed_heartbeats", defaultText: "3",
            help: "Heartbeats missed in a row before a peer is considered gone."),
        ConfigKey(
            section: .cluster, name: "trunk_time_scale", defaultText: "1",
            help: "Call seconds per wall second on the nodes' simulated trunks (1 to 3600; 60 for a demo)."),
        ConfigKey(
            section: .cluster, name: "trunk_population", defaultText: nil,
            help: "JSON file describing the customers of the nodes' simulated trunks (its outcomes, times and "
                + "inbound lines); default: the built-in population."),
        ConfigKey(
            section: .cluster, name: "protocol_version_max", defaultText: nil,
            help: "Highest cluster protocol version this process offers and accepts, 1 to 2 (a pin for rolling "
                + "upgrades, PROTOCOL.md §8); default: the highest it speaks."),
        ConfigKey(
            section: .cluster, name: "thread_slice_us", defaultText: "0",
            help: "Time slice, in microseconds, that the gateway and the nodes ask Linux's scheduler for on their "
                + "threads: 100 to 100000, or 0 for the kernel's default (1.4 ms on a two-core machine here). A "
                + "short slice lets a thread woken by a frame preempt a busy one sooner, for the reservation "
                + "round trip's tail on a loaded machine; the processes' share of the CPU is unchanged. Linux 6.12 "
                + "or later; elsewhere the processes log that it is not supported and run as before."),
        ConfigKey(
            section: .cluster, name: "lease_duration_ms", defaultText: "10000",
            help: "Length of a queue lease, in milliseconds."),
        ConfigKey(
            section: .cluster, name: "lease_renew_interval_ms", defaultText: "2500",
            help: "How often a node renews its leases, in milliseconds."),
        ConfigKey(
            section: .cluster, name: "lease_safety_margin_ms", defaultText: "1500",
            help: "A node stops dialing a queue this many milliseconds before its lease expires."),
        ConfigKey(
            section: .cluster, name: "log_level", defaultText: "info",
            help: "Least severe level logged: trace, debug, info, notice, warning, error or critical."),
        ConfigKey(
            section: .cluster, name: "run_directory", defaultText: ".dialer/local",
            help: "Directory for logs, ready files and the embedded database."),
        ConfigKey(section: .manager, name: "id", defaultText: "manager", help: "The manager's member id."),
        ConfigKey(
            section: .manager, name: "cluster_address", defaultText: "127.0.0.1:7400",
            help: "Where nodes and gateways connect to the manager."),
        ConfigKey(
            section: .manager, name: "http_address", defaultText: "127.0.0.1:8080",
            help: "The manager's HTTP API, dashboard, /healthz, /readyz and /metrics."),
        ConfigKey(
            section: .manager, name: "database", defaultText: "<run_directory>/dialer.sqlite",
            help:
                "The manager's database: a SQLite file, or postgres://user[:password]@host[:port]/dbname "
                + "(without a password in the URL: $DIALER_DATABASE_PASSWORD, or the first line of the file "
                + "$DIALER_DATABASE_PASSWORD_FILE)."),
        ConfigKey(
            section: .manager, name: "database_connections", defaultText: "8",
            help: "The most connections the manager opens to PostgreSQL, 1 to 1000 (unused with SQLite)."),
        ConfigKey(
            section: .manager, name: "watch_directory", defaultText: "<run_directory>/watch",
            help: "Watched folders: a file dropped into <watch_directory>/<campaign id>/ is imported into its list."),
        ConfigKey(
            section: .manager, name: "watch_interval_ms", defaultText: "2000",
            help: "How often the watched folders are scanned, in milliseconds."),
        ConfigKey(
            section: .manager, name: "max_import_bytes", defaultText: "2147483648",
            help: "The largest file one import request may send, in bytes (JSON bodies: 1 MiB)."),
        ConfigKey(
            section: .manager, name: "default_region", defaultText: "US",
            help: "The region (ISO 3166 alpha-2) national numbers are read in when a request names none."),
        ConfigKey(
            section: .manager, name: "password_iterations", defaultText: "600000",
            help: "PBKDF2 rounds for agent passwords; lower it only for tests and load tests."),
        ConfigKey(
            section: .manager, name: "compliance_profile", defaultText: "none",
            help: "The regulator's rules campaigns keep unless they name their own: none, us-ftc or uk-ofcom."),
        ConfigKey(
            section: .manager, name: "addresses", defaultText: "<cluster_address>, then each [[standby]]'s",
            help: "The managers' cluster addresses, which nodes and the gateway try in turn to find the active one."),
        ConfigKey(
            section: .manager, name: "active_lease_ms", defaultText: "5000",
            help: "With [[standby]] managers: how long the active manager's lease in the database lasts unrenewed; "
                + "a standby takes over within it after the active one dies."),
        ConfigKey(
            section: .standby, name: "id", defaultText: nil,
            help: "A standby manager's member id (dialer-manager --id picks it).", isOverridable: false),
        ConfigKey(
            section: .standby, name: "cluster_address", defaultText: "127.0.0.1:7401",
            help: "Where nodes and gateways connect to this manager when it is active.", isOverridable: false),
        ConfigKey(
            section: .standby, name: "http_address", defaultText: "127.0.0.1:8081",
            help: "This manager's HTTP API (reads while it stands by).", isOverridable: false),
        ConfigKey(section: .gateway, name: "id", defaultText: "gateway", help: "The gateway's member id."),
        ConfigKey(
            section: .gateway, name: "cluster_address", defaultText: "127.0.0.1:7500",
            help: "Where nodes and protocol agents connect to the gateway."),
        ConfigKey(
            section: .gateway, name: "http_address", defaultText: "127.0.0.1:8090",
            help: "The gateway's HTTP endpoints: agent desktop, /healthz, /readyz and /metrics."),
        ConfigKey(
            section: .gateway, name: "agent_grace_ms", defaultText: "30000",
            help: "How long an agent whose connection dropped keeps their state before being logged out."),
        ConfigKey(
            section: .gateway, name: "picture_interval_ms", defaultText: "100",
            help: "The least time between two queue pictures the gateway sends to a queue's node."),
        ConfigKey(
            section: .node, name: "id", defaultText: nil,
            help: "The node's member id; a node process is told which node it is.", isOverridable: false),
        ConfigKey(
            section: .node, name: "http_address", defaultText: "127.0.0.1:0",
            help: "The node's /healthz, /readyz and /metrics (port 0: any free port)."),
        ConfigKey(
            section: .node, name: "trunk", defaultText: nil,
            help: "The [[trunk]] id the node dials through, or simulated; default: the first [[trunk]], "
                + "else the built-in simulated trunk."),
        ConfigKey(section: .queue, name: "id", defaultText: nil, help: "The queue's id.", isOverridable: false),
        ConfigKey(
            section: .queue, name: "kind", defaultText: "campaign", help: "campaign or inbound.",
            isOverridable: false),
        ConfigKey(
            section: .queue, name: "dids", defaultText: "[]",
            help: "Numbers (E.164) whose calls come to this queue: an inbound queue's lines, a campaign's hotlines.",
            isOverridable: false),
        ConfigKey(section: .trunk, name: "id", defaultText: nil, help: "The trunk's id.", isOverridable: false),
        ConfigKey(
            section: .trunk, name: "kind", defaultText: "sip", help: "sip or simulated.", isOverridable: false),
        ConfigKey(
            section: .trunk, name: "proxy", defaultText: nil,
            help: "The carrier's outbound proxy, host:port (required for sip).", isOverridable: false),
        ConfigKey(
            section: .trunk, name: "domain", defaultText: nil,
            help: "The domain of Request-URIs, From and To; default: the proxy's host.", isOverridable: false),
        ConfigKey(
            section: .trunk, name: "transport", defaultText: "udp", help: "udp or tcp.", isOverridable: false),
        ConfigKey(
            section: .trunk, name: "bind_address", defaultText: "0.0.0.0:5060",
            help: "The local address of the node's SIP transport (port 0: any free port).", isOverridable: false),
        ConfigKey(
            section: .trunk, name: "advertised_host", defaultText: nil,
            help: "The address written in Via, Contact and SDP; default: the bound address.", isOverridable: false),
        ConfigKey(
            section: .trunk, name: "username", defaultText: nil,
            help: "Digest user name for the carrier's challenges and registration.", isOverridable: false),
        ConfigKey(
            section: .trunk, name: "password", defaultText: nil, help: "Digest password (with username).",
            isOverridable: false),
        ConfigKey(
            section: .trunk, name: "channels", defaultText: "30", help: "Calls at once, 1 to 100000.",
            isOverridable: false),
        ConfigKey(
            section: .trunk, name: "calls_per_second", defaultText: "10",
            help: "Outbound calls started in any second, 1 to 10000.", isOverridable: false),
        ConfigKey(
            section: .trunk, name: "codecs", defaultText: "[\"PCMU\", \"PCMA\", \"telephone-event\"]",
            help: "Codecs in order of preference; at least PCMU or PCMA.", isOverridable: false),
        ConfigKey(
            section: .trunk, name: "media_port_min", defaultText: "20000",
            help: "Lowest UDP port for calls' media, 1024 to 65534.", isOverridable: false),
        ConfigKey(
            section: .trunk, name: "media_port_max", defaultText: "29999",
            help: "Highest UDP port for calls' media; the range holds at least two ports.", isOverridable: false),
        ConfigKey(
            section: .trunk, name: "failover", defaultText: nil,
            help: "The id of another sip trunk tried once on 5xx or no answer from this one.", isOverridable: false),
        ConfigKey(
            section: .trunk, name: "registration_expiry_s", defaultText: "0",
            help: "Register with the carrier for this many seconds, 60 to 86400; 0: do not register.",
            isOverridable: false),
        ConfigKey(
            section: .trunk, name: "keep_alive_ms", defaultText: "30000",
            help: "OPTIONS to the proxy this often, 1000 to 3600000; 0: none.", isOverridable: false),
        ConfigKey(
            section: .trunk, name: "prompt_directory", defaultText: nil,
            help: "Directory of the messages' recordings: <directory>/<message id>.wav.", isOverridable: false),
    ]

    /// The key `name` of `section`, if there is one.
    static func find(_ section: ConfigSection, _ name: String) -> ConfigKey? {
        all.first { $0.section == section && $0.name == name }
    }

    /// The key written `section.name`, if there is one.
    static func find(qualifiedName: String) -> ConfigKey? {
        all.first { $0.qualifiedName == qualifiedName }
    }
}

/// Where a setting came from: it decides precedence and prefixes error messages.
enum Origin: Equatable, Sendable {
    case file(name: String?, line: Int)
    case environment(variable: String)
    /// `text` is the override as shown in messages (`--set key=value`, the secret redacted).
    case flag(text: String)

    /// Higher wins: flag > environment > file.
    var rank: Int {
        switch self {
        case .file: 0
        case .environment: 1
        case .flag: 2
        }
    }

    var source: String {
        switch self {
        case .file(let name?, let line): "\(name):\(line)"
        case .file(nil, let line): "line \(line)"
        case .environment(let variable): "environment \(variable)"
        case .flag(let text): text
        }
    }

    var line: Int? {
        if case .file(_, let line) = self { line } else { nil }
    }

    /// Flags and environment variables already name the key in `source`; a file line does not.
    var namesKey: Bool {
        if case .file = self { false } else { true }
    }
}

/// A value for a key, not yet converted to the key's type, and where it came from.
struct Setting: Sendable {
    enum Value: Sendable {
        /// A typed value from the file.
        case toml(TOMLValue)
        /// Text from a flag or an environment variable, parsed as the key's type.
        case text(String)
    }

    var value: Value
    var origin: Origin

    func string(for key: ConfigKey) throws(ConfigError) -> String {
        switch value {
        case .toml(.string(let string)), .text(let string): return string
        case .toml(let other): throw mismatch(key, expected: "a string", found: other)
        }
    }

    func integer(for key: ConfigKey) throws(ConfigError) -> Int {
        switch value {
        case .toml(.integer(let integer)):
            guard let value = Int(exactly: integer) else { throw invalid(key, "\(integer) is out of range") }
            return value
        case .text(let text):
            guard let integer = TOMLParser.parseInteger(Substring(text)), let value = Int(exactly: integer) else {
                throw invalid(key, "expected an integer")
            }
            return value
        case .toml(let other):
            throw mismatch(key, expected: "an integer", found: other)
        }
    }

    /// An integer that must lie in `range`; the error says the range and the value.
    func integer(for key: ConfigKey, in range: ClosedRange<Int>) throws(ConfigError) -> Int {
        let value = try integer(for: key)
        guard range.contains(value) else {
            throw invalid(key, "must be \(range.lowerBound) to \(range.upperBound), got \(value)")
        }
        return value
    }

    /// An array of strings; from a flag or the environment, comma-separated.
    func strings(for key: ConfigKey) throws(ConfigError) -> [String] {
        switch value {
        case .text(let text):
            return text.split(separator: ",").map {
                String($0.drop(while: \.isWhitespace).reversed().drop(while: \.isWhitespace).reversed())
            }
        case .toml(.array(let elements)):
            var strings: [String] = []
            for element in elements {
                guard case .string(let string) = element else {
                    throw mismatch(key, expected: "an array of strings", found: element)
                }
                strings.append(string)
            }
            return strings
        case .toml(let other):
            throw mismatch(key, expected: "an array of strings", found: other)
        }
    }

    func milliseconds(for key: ConfigKey) throws(ConfigError) -> Duration {
        .milliseconds(try integer(for: key))
    }

    func hostPort(for key: ConfigKey) throws(ConfigError) -> HostPort {
        let text = try string(for: key)
        do {
            return try HostPort.parse(text)
        } catch {
            throw invalid(key, error.reason)
        }
    }

    /// One of the cases of an enumeration, written as its raw value.
    func choice<Choice>(for key: ConfigKey, of type: Choice.Type) throws(ConfigError) -> Choice
    where Choice: RawRepresentable & CaseIterable, Choice.RawValue == String {
        let text = try string(for: key)
        guard let choice = Choice(rawValue: text) else {
            let choices = Choice.allCases.map(\.rawValue).joined(separator: ", ")
            throw invalid(key, "expected one of \(choices), got \(text.quoted)")
        }
        return choice
    }

    private func mismatch(_ key: ConfigKey, expected: String, found: TOMLValue) -> ConfigError {
        invalid(key, "expected \(expected), found \(found.kindDescription)")
    }

    func invalid(_ key: ConfigKey, _ message: String) -> ConfigError {
        ConfigError(
            kind: .invalidValue, origin: origin,
            message: origin.namesKey ? message : "\(key.qualifiedName): \(message)")
    }
}

/// The closest of `candidates` to a misspelt `name`, if one is close enough to be a typo.
func suggestion(for name: String, among candidates: [String]) -> String? {
    let scored = candidates.map { (candidate: $0, distance: editDistance(name, $0)) }
    guard let best = scored.min(by: { $0.distance < $1.distance }) else { return nil }
    return best.distance <= max(1, min(3, name.count / 3)) ? best.candidate : nil
}

/// Levenshtein distance over characters; names are short, so the quadratic cost is fine.
private func editDistance(_ a: String, _ b: String) -> Int {
    let a = Array(a)
    let b = Array(b)
    guard !a.isEmpty else { return b.count }
    guard !b.isEmpty else { return a.count }
    var previous = Array(0...b.count)
    var current = [Int](repeating: 0, count: b.count + 1)
    for i in 1...a.count {
        current[0] = i
        for j in 1...b.count {
            let substitution = previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1)
            current[j] = min(previous[j] + 1, current[j - 1] + 1, substitution)
        }
        swap(&previous, &current)
    }
    return previous[b.count]
}
