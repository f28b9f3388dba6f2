public import DialerConfig

extension SIPTrunkConfiguration {
    /// The configuration of a `sip` `[[trunk]]` entry of the cluster file; `failover` is the entry
    /// its `failover` key names. The entry is expected validated (``ClusterConfig`` loads only
    /// valid files); what still does not fit is refused with the key's name.
    public init(settings: TrunkSettings, failover: TrunkSettings? = nil) throws(SIPConfigurationError) {
        guard settings.kind == .sip else {
            throw SIPConfigurationError(field: "trunk.kind", reason: "\(settings.id.quoted) is not a sip trunk")
        }
        guard let proxy = settings.proxy else {
            throw SIPConfigurationError(field: "trunk.proxy", reason: "\(settings.id.quoted) has no proxy")
        }
        var codecs: [SDPCodec] = []
        for name in settings.codecs {
            switch name {
            case "PCMU": codecs.append(.pcmu)
            case "PCMA": codecs.append(.pcma)
            case "telephone-event": codecs.append(.telephoneEvent)
            default: throw SIPConfigurationError(field: "trunk.codecs", reason: "unknown codec \(name.quoted)")
            }
        }
        let credentials = settings.username.flatMap { user in
            settings.password.map { SIPCredentials(username: user, password: $0) }
        }
        self.init(
            name: settings.id, proxy: SIPEndpoint(host: proxy.host, port: proxy.port),
            failoverProxy: failover?.proxy.map { SIPEndpoint(host: $0.host, port: $0.port) },
            domain: settings.domain,
            transport: settings.transport == .tcp ? .tcp : .udp, bindHost: settings.bindAddress.host,
            bindPort: settings.bindAddress.port, advertisedHost: settings.advertisedHost, credentials: credentials,
            channels: settings.channels, callsPerSecond: settings.callsPerSecond, codecs: codecs,
            mediaPorts: settings.mediaPorts, registrationExpiry: settings.registrationExpiry,
            keepAliveInterval: settings.keepAliveInterval, promptDirectory: settings.promptDirectory)
        try validate()
    }
}

extension String {
    fileprivate var quoted: String { "\"\(self)\"" }
}
