import Testing

@testable import DialerConfig

/// `[[trunk]]` entries and `node.trunk`: what a node dials through.
@Suite("Trunk configuration")
struct TrunkConfigTests {
    let header = "[cluster]\nsecret = \"s\"\n"

    @Test func withoutEntriesANodeDialsTheSimulatedTrunk() throws {
        let config = try load(nodeID: "node-1")
        #expect(config.trunks.isEmpty)
        #expect(config.trunk(for: try #require(config.node(id: "node-1"))) == nil)
    }

    @Test func readsEveryKeyOfASIPTrunk() throws {
        let config = try load(
            header + """
                [[trunk]]
                id = "carrier"
                kind = "sip"
                proxy = "sip.example.net:5080"
                domain = "example.net"
                transport = "tcp"
                bind_address = "10.0.0.2:5062"
                advertised_host = "203.0.113.7"
                username = "dialer"
                password = "pw"
                channels = 120
                calls_per_second = 40
                codecs = ["PCMA", "PCMU"]
                media_port_min = 30000
                media_port_max = 30999
                failover = "backup"
                registration_expiry_s = 600
                keep_alive_ms = 0
                [[trunk]]
                id = "backup"
                proxy = "10.9.9.9:5060"
                """, nodeID: "node-1")
        let trunk = try #require(config.trunk(id: "carrier"))
        #expect(trunk.kind == .sip)
        #expect(trunk.proxy == HostPort(host: "sip.example.net", port: 5080))
        #expect(trunk.domain == "example.net")
        #expect(trunk.transport == .tcp)
        #expect(trunk.bindAddress == HostPort(host: "10.0.0.2", port: 5062))
        #expect(trunk.advertisedHost == "203.0.113.7")
        #expect(trunk.username == "dialer" && trunk.password == "pw")
        #expect(trunk.channels == 120 && trunk.callsPerSecond == 40)
        #expect(trunk.codecs == ["PCMA", "PCMU"])
        #expect(trunk.mediaPorts == 30000...30999)
        #expect(trunk.failover == "backup")
        #expect(trunk.registrationExpiry == .seconds(600))
        #expect(trunk.keepAliveInterval == nil)
        #expect(!trunk.description.contains("pw"), "the password must not be shown")
        // The node takes the first entry unless it names one.
        let node = try #require(config.node(id: "node-1"))
        #expect(config.trunk(for: node)?.id == "carrier")
        let backup = try #require(config.trunk(id: "backup"))
        #expect(backup == TrunkSettings(id: "backup", proxy: HostPort(host: "10.9.9.9", port: 5060)))
    }

    @Test func aNodeNamesItsTrunkInTheFileOrByOverride() throws {
        let file =
            header
            + "[[trunk]]\nid = \"a\"\nproxy = \"127.0.0.1:5060\"\n[[trunk]]\nid = \"b\"\nkind = \"simulated\"\n"
            + "[[node]]\nid = \"node-1\"\ntrunk = \"b\"\n"
        let fromFile = try load(file, nodeID: "node-1")
        #expect(fromFile.trunk(for: try #require(fromFile.node(id: "node-1")))?.id == "b")
        let overridden = try load(file, overrides: ["node.trunk=simulated"], nodeID: "node-1")
        #expect(overridden.trunk(for: try #require(overridden.node(id: "node-1"))) == nil)
        let fromEnvironment = try load(file, environment: ["DIALER_NODE_TRUNK": "a"], nodeID: "node-1")
        #expect(fromEnvironment.trunk(for: try #require(fromEnvironment.node(id: "node-1")))?.id == "a")
        #expect(
            loadError(file, overrides: ["node.trunk=c"], nodeID: "node-1")?.description
                == #"--set node.trunk=c: node "node-1": trunk "c" is not the id of a [[trunk]] (nor "simulated")"#)
    }

    @Test func badValuesNameTheKeyAndTheLine() {
        let sip = header + "[[trunk]]\nid = \"t\"\nproxy = \"127.0.0.1:5060\"\n"
        let cases: [(String, String)] = [
            ("channels = 0", #"test.toml:6: trunk.channels: must be 1 to 100000, got 0"#),
            ("calls_per_second = 20000", #"test.toml:6: trunk.calls_per_second: must be 1 to 10000, got 20000"#),
            ("media_port_min = 80", #"test.toml:6: trunk.media_port_min: must be 1024 to 65534, got 80"#),
            (
                "media_port_min = 30000\nmedia_port_max = 30000",
                #"test.toml:4: trunk "t": trunk.media_port_max: the media ports must lie in 1024 to 65534 with media_port_min < media_port_max, got 30000 to 30000"#
            ),
            ("transport = \"tls\"", #"test.toml:6: trunk.transport: expected one of udp, tcp, got "tls""#),
            ("kind = \"pstn\"", #"test.toml:6: trunk.kind: expected one of sip, simulated, got "pstn""#),
            (
                "codecs = [\"G729\"]",
                #"test.toml:4: trunk "t": trunk.codecs: unknown codec "G729": use "PCMU", "PCMA", "telephone-event""#
            ),
            (
                "codecs = [\"telephone-event\"]",
                #"test.toml:4: trunk "t": trunk.codecs: needs a voice codec: PCMU or PCMA"#
            ),
            ("username = \"u\"", #"test.toml:4: trunk "t": trunk.password: username and password are set together"#),
            ("failover = \"t\"", #"test.toml:4: trunk "t": trunk.failover: a trunk cannot fail over to itself"#),
            ("failover = \"x\"", #"test.toml:4: trunk "t": trunk.failover: no [[trunk]] has id "x""#),
            (
                "registration_expiry_s = 30",
                #"test.toml:6: trunk.registration_expiry_s: must be 0 (no registration) or 60 to 86400, got 30"#
            ),
            ("keep_alive_ms = 10", #"test.toml:6: trunk.keep_alive_ms: must be 0 (none) or 1000 to 3600000, got 10"#),
        ]
        for (line, expected) in cases {
            #expect(loadError(sip + line)?.description == expected, "\(line)")
        }
        #expect(
            loadError(header + "[[trunk]]\nid = \"t\"\nproxy = \"host\"")?.description
                == #"test.toml:5: trunk.proxy: expected host:port, got "host""#)
        #expect(
            loadError(header + "[[trunk]]\nid = \"t\"")?.description
                == #"test.toml:4: trunk "t": trunk.proxy: a sip trunk needs the carrier's outbound proxy (proxy = "host:port")"#
        )
        #expect(
            loadError(header + "[[trunk]]\nid = \"simulated\"\nkind = \"simulated\"")?.description
                == #"test.toml:4: trunk id "simulated" is reserved for the built-in simulated trunk: choose another id"#
        )
        #expect(
            loadError(
                header + "[[trunk]]\nid = \"t\"\nkind = \"simulated\"\n[[trunk]]\nid = \"t\"\nkind = \"simulated\"")?
                .description == #"test.toml:7: trunk id "t" is used by two trunks (first at test.toml:4)"#)
        #expect(
            loadError(header + "[[trunk]]\nkind = \"simulated\"")?.description
                == #"test.toml:3: [[trunk]] has no id: add id = "...""#)
        #expect(
            loadError(header + "[trunk]\nid = \"t\"")?.description
                == "test.toml:3: write [[trunk]] (one per trunk), not [trunk]")
        // A simulated entry needs no proxy; its caps are still range-checked.
        #expect(loadError(header + "[[trunk]]\nid = \"s\"\nkind = \"simulated\"") == nil)
        #expect(
            loadError(header + "[[trunk]]\nid = \"s\"\nkind = \"simulated\"\nchannels = -1")?.description
                == "test.toml:6: trunk.channels: must be 1 to 100000, got -1")
    }

    @Test func trunkKeysAreFileOnly() {
        #expect(
            loadError(overrides: ["trunk.channels=5"])?.description
                == "--set trunk.channels=5: trunk.channels can only be set in the cluster file")
    }
}
