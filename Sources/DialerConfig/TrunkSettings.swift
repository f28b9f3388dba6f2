/// One `[[trunk]]` entry: how nodes reach a carrier (or the simulated one) and what they may do.
///
/// The values are plain (addresses, names, numbers); the node's executable turns a `sip` entry
/// into the SIP stack's configuration, so this module knows nothing of SIP.
public struct TrunkSettings: Sendable, Equatable, CustomStringConvertible {
    /// `node.trunk = "simulated"`: the built-in simulated trunk, even when the file has entries.
    /// No entry may take this id.
    public static let builtInSimulated = "simulated"

    /// The trunk's id, unique among the trunks; metrics and logs name the trunk by it.
    public var id: String
    /// What the trunk is.
    public var kind: TrunkKind
    /// The carrier's outbound proxy: every request goes there (required for `sip`).
    public var proxy: HostPort?
    /// The domain in Request-URIs, From and To; the proxy's host when `nil`.
    public var domain: String?
    /// How SIP travels to the proxy.
    public var transport: TrunkTransport
    /// The local address the node's SIP transport binds (port 0: any free port).
    public var bindAddress: HostPort
    /// The address written in Via, Contact and SDP; the bound address when `nil`.
    public var advertisedHost: String?
    /// The digest user name for 401/407 challenges and registration; with ``password``.
    public var username: String?
    /// The digest password; never shown in messages.
    public var password: String?
    /// The most calls at once, outbound and inbound.
    public var channels: Int
    /// The most outbound calls started in any second.
    public var callsPerSecond: Int
    /// Codecs in order of preference: `PCMU`, `PCMA`, `telephone-event`.
    public var codecs: [String]
    /// The lowest UDP port the node gives calls' media (RTP on even ports, RTCP on the odd port
    /// above), 1024 to 65534.
    public var mediaPortMin: Int
    /// The highest UDP port for calls' media; the validator makes sure it is above ``mediaPortMin``.
    public var mediaPortMax: Int
    /// ``mediaPortMin`` to ``mediaPortMax`` (an empty range would trap, so a reversed pair gives
    /// the lower port alone; a validated configuration never has one).
    public var mediaPorts: ClosedRange<Int> { mediaPortMin...max(mediaPortMin, mediaPortMax) }
    /// The id of another `sip` trunk tried once when this one answers 5xx or not at all.
    public var failover: String?
    /// Register with the carrier for inbound calls for this long; `nil`: do not register.
    public var registrationExpiry: Duration?
    /// Send OPTIONS to the proxy this often; `nil`: do not.
    public var keepAliveInterval: Duration?
    /// The directory of the messages' recordings, `<directory>/<message id>.wav`.
    public var promptDirectory: String?

    /// A trunk with the given id; every other value takes its documented default.
    public init(
        id: String, kind: TrunkKind = .sip, proxy: HostPort? = nil, domain: String? = nil,
        transport: TrunkTransport = .udp, bindAddress: HostPort = HostPort(host: "0.0.0.0", port: 5060),
        advertisedHost: String? = nil, username: String? = nil, password: String? = nil, channels: Int = 30,
        callsPerSecond: Int = 10, codecs: [String] = TrunkSettings.knownCodecs,
        mediaPorts: ClosedRange<Int> = 20_000...29_999, failover: String? = nil, registrationExpiry: Duration? = nil,
        keepAliveInterval: Duration? = .seconds(30), promptDirectory: String? = nil
    ) {
        self.promptDirectory = promptDirectory
        self.id = id
        self.kind = kind
        self.proxy = proxy
        self.domain = domain
        self.transport = transport
        self.bindAddress = bindAddress
        self.advertisedHost = advertisedHost
        self.username = username
        self.password = password
        self.channels = channels
        self.callsPerSecond = callsPerSecond
        self.codecs = codecs
        self.mediaPortMin = mediaPorts.lowerBound
        self.mediaPortMax = mediaPorts.upperBound
        self.failover = failover
        self.registrationExpiry = registrationExpiry
        self.keepAliveInterval = keepAliveInterval
    }

    /// The codec names a trunk may list, in the default order of preference.
    public static let knownCodecs = ["PCMU", "PCMA", "telephone-event"]

    /// The settings with the password redacted, so that logging them cannot leak it.
    public var description: String {
        "TrunkSettings(id: \(id.quoted), kind: \(kind), proxy: \(proxy.map(\.description) ?? "nil"), "
            + "transport: \(transport), bindAddress: \(bindAddress), username: \(username?.quoted ?? "nil"), "
            + "password: \(password == nil ? "nil" : "<redacted>"), channels: \(channels), "
            + "callsPerSecond: \(callsPerSecond), codecs: \(codecs), mediaPorts: \(mediaPorts), "
            + "failover: \(failover?.quoted ?? "nil"))"
    }
}

/// What a `[[trunk]]` is.
public enum TrunkKind: String, Sendable, Equatable, CaseIterable {
    /// A carrier reached over SIP.
    case sip
    /// The simulated customers of `cluster.trunk_population`, with this entry's caps.
    case simulated
}

/// How a SIP trunk's signalling travels.
public enum TrunkTransport: String, Sendable, Equatable, CaseIterable {
    case udp
    case tcp
}
