import DialerConfig
import DialerSIP
import Testing

/// A `[[trunk]]` entry of the cluster file becomes a SIP trunk's configuration.
@Suite("SIP trunk from the cluster file")
struct SIPTrunkSettingsTests {
    @Test("every key of a sip entry reaches the trunk's configuration, the failover's proxy too")
    func mapsEveryKey() throws {
        let settings = TrunkSettings(
            id: "carrier", proxy: HostPort(host: "10.0.0.1", port: 5080), domain: "carrier.example",
            transport: .tcp, bindAddress: HostPort(host: "127.0.0.1", port: 5062), advertisedHost: "203.0.113.7",
            username: "acme", password: "pw", channels: 60, callsPerSecond: 20, codecs: ["PCMA", "telephone-event"],
            mediaPorts: 30_000...30_099, failover: "backup", registrationExpiry: .seconds(600),
            keepAliveInterval: nil, promptDirectory: "/srv/prompts")
        let backup = TrunkSettings(id: "backup", proxy: HostPort(host: "10.0.0.2", port: 5060))
        let configuration = try SIPTrunkConfiguration(settings: settings, failover: backup)
        #expect(configuration.name == "carrier")
        #expect(configuration.proxy == SIPEndpoint(host: "10.0.0.1", port: 5080))
        #expect(configuration.failoverProxy == SIPEndpoint(host: "10.0.0.2", port: 5060))
        #expect(configuration.requestDomain == "carrier.example")
        #expect(configuration.transport == .tcp)
        #expect(configuration.bindHost == "127.0.0.1" && configuration.bindPort == 5062)
        #expect(configuration.advertisedHost == "203.0.113.7")
        #expect(configuration.credentials == SIPCredentials(username: "acme", password: "pw"))
        #expect(configuration.channels == 60 && configuration.callsPerSecond == 20)
        #expect(configuration.codecs == [.pcma, .telephoneEvent])
        #expect(configuration.mediaPorts == 30_000...30_099)
        #expect(configuration.registrationExpiry == .seconds(600))
        #expect(configuration.keepAliveInterval == nil)
        #expect(configuration.promptDirectory == "/srv/prompts")
    }

    @Test("a simulated entry, or one without a proxy, is refused with the key's name")
    func refusesWhatIsNotASIPTrunk() {
        #expect(throws: SIPConfigurationError.self) {
            try SIPTrunkConfiguration(settings: TrunkSettings(id: "s", kind: .simulated))
        }
        do {
            _ = try SIPTrunkConfiguration(settings: TrunkSettings(id: "t"))
            Issue.record("a trunk without a proxy was accepted")
        } catch {
            #expect(error.field == "trunk.proxy")
        }
    }
}
