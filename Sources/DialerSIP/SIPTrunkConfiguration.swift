/// A host and port to send SIP to.
public struct SIPEndpoint: Hashable, Sendable, CustomStringConvertible {
    public var host: String
    public var port: Int

    public init(host: String, port: Int = 5060) {
        self.host = host
        self.port = port
    }

    public var description: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }
}

/// Why a SIP trunk's configuration was refused; names the field.
public struct SIPConfigurationError: Error, Hashable, Sendable, CustomStringConvertible {
    public var field: String
    public var reason: String

    public init(field: String, reason: String) {
        self.field = field
        self.reason = reason
    }

    public var description: String { "SIP trunk \(field): \(reason)" }
}

/// How a ``SIPTrunk`` reaches its carrier and what it may do.
public struct SIPTrunkConfiguration: Sendable {
    /// The trunk's name, for metrics and logs.
    public var name: String
    /// The carrier's outbound proxy: every request goes there.
    public var proxy: SIPEndpoint
    /// A second proxy (a second trunk of the carrier) tried once when the first answers 5xx
    /// or does not answer at all.
    public var failoverProxy: SIPEndpoint?
    /// The domain in Request-URIs, From and To (`sip:+4512345678@domain`); the proxy's host if `nil`.
    public var domain: String?
    public var transport: SIPTransportKind
    /// The local address to bind (`0.0.0.0` for all) and port (0: any free port).
    public var bindHost: String
    public var bindPort: Int
    /// The address written in Via, Contact and SDP; the bound address if `nil`.
    public var advertisedHost: String?
    /// Digest credentials for 401/407 challenges and registration.
    public var credentials: SIPCredentials?
    /// The most calls at once, outbound and inbound.
    public var channels: Int
    /// The most outbound calls started in any second.
    public var callsPerSecond: Int
    /// Codecs in order of preference (PCMU, PCMA, telephone-event).
    public var codecs: [SDPCodec]
    /// RTP ports handed to calls (even ports of the range, RTCP on the next odd one).
    public var mediaPorts: ClosedRange<Int>
    /// Register with the carrier for inbound calls, for this long; `nil`: do not register.
    public var registrationExpiry: Duration?
    /// Send OPTIONS to the proxy this often; `nil`: do not.
    public var keepAliveInterval: Duration?
    /// Where the messages' recordings are: `<directory>/<message id>.wav` (`no-agent`,
    /// `campaign`, a campaign's machine message); `nil`: messages play as silence of no length.
    public var promptDirectory: String?
    public var timers: SIPTimers
    public var limits: SIPLimits
    public var userAgent: String

    public init(
        name: String, proxy: SIPEndpoint, failoverProxy: SIPEndpoint? = nil, domain: String? = nil,
        transport: SIPTransportKind = .udp, bindHost: String = "0.0.0.0", bindPort: Int = 5060,
        advertisedHost: String? = nil, credentials: SIPCredentials? = nil, channels: Int = 30,
        callsPerSecond: Int = 10, codecs: [SDPCodec] = [.pcmu, .pcma, .telephoneEvent],
        mediaPorts: ClosedRange<Int> = 20_000...29_999, registrationExpiry: Duration? = nil,
        keepAliveInterval: Duration? = .seconds(30), promptDirectory: String? = nil, timers: SIPTimers = SIPTimers(),
        limits: SIPLimits = SIPLimits(), userAgent: String = "swift-dialer"
    ) {
        self.promptDirectory = promptDirectory
        self.name = name
        self.proxy = proxy
        self.failoverProxy = failoverProxy
        self.domain = domain
        self.transport = transport
        self.bindHost = bindHost
        self.bindPort = bindPort
        self.advertisedHost = advertisedHost
        self.credentials = credentials
        self.channels = channels
        self.callsPerSecond = callsPerSecond
        self.codecs = codecs
        self.mediaPorts = mediaPorts
        self.registrationExpiry = registrationExpiry
        self.keepAliveInterval = keepAliveInterval
        self.timers = timers
        self.limits = limits
        self.userAgent = userAgent
    }

    /// The domain requests are addressed to.
    public var requestDomain: String { domain ?? proxy.host }

    /// Checks every field's range.
    public func validate() throws(SIPConfigurationError) {
        guard !name.isEmpty else { throw SIPConfigurationError(field: "name", reason: "empty") }
        for (field, endpoint) in [("proxy", proxy), ("failover_proxy", failoverProxy)] {
            guard let endpoint else { continue }
            guard !endpoint.host.isEmpty else { throw SIPConfigurationError(field: field, reason: "empty host") }
            guard (1...65535).contains(endpoint.port) else {
                throw SIPConfigurationError(field: field, reason: "port \(endpoint.port) is not 1...65535")
            }
        }
        guard (0...65535).contains(bindPort) else {
            throw SIPConfigurationError(field: "bind_port", reason: "\(bindPort) is not 0...65535")
        }
        guard (1...100_000).contains(channels) else {
            throw SIPConfigurationError(field: "channels", reason: "\(channels) is not 1...100000")
        }
        guard (1...10_000).contains(callsPerSecond) else {
            throw SIPConfigurationError(field: "calls_per_second", reason: "\(callsPerSecond) is not 1...10000")
        }
        guard codecs.contains(where: { $0.name == "PCMU" || $0.name == "PCMA" }) else {
            throw SIPConfigurationError(field: "codecs", reason: "needs PCMU or PCMA")
        }
        guard mediaPorts.lowerBound >= 1024, mediaPorts.upperBound <= 65534, mediaPorts.count >= 2 else {
            throw SIPConfigurationError(field: "media_ports", reason: "must lie in 1024...65534 and hold two ports")
        }
        if let registrationExpiry, registrationExpiry < .seconds(60) || registrationExpiry > .seconds(86_400) {
            throw SIPConfigurationError(field: "registration_expiry", reason: "must be 60 s...1 day")
        }
        if let keepAliveInterval, keepAliveInterval < .seconds(1) {
            throw SIPConfigurationError(field: "keep_alive_interval", reason: "must be at least 1 s")
        }
        guard timers.t1 > .zero, timers.t2 >= timers.t1, timers.t4 > .zero else {
            throw SIPConfigurationError(field: "timers", reason: "need 0 < T1 <= T2 and T4 > 0")
        }
    }
}
