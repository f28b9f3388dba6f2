import Testing

@testable import DialerConfig

@Suite("HostPort")
struct HostPortTests {
    @Test(arguments: [
        ("127.0.0.1:7400", "127.0.0.1", 7400),
        ("localhost:0", "localhost", 0),
        ("[::1]:80", "::1", 80),
        ("[fe80::1%eth0]:65535", "fe80::1%eth0", 65535),
        ("dialer-manager.internal:8080", "dialer-manager.internal", 8080),
        ("0.0.0.0:00080", "0.0.0.0", 80),
    ])
    func parsesAndPrintsBack(text: String, host: String, port: Int) throws {
        let address = try #require(HostPort(text))
        #expect(address == HostPort(host: host, port: port))
        #expect(HostPort(address.description) == address)
    }

    @Test func printsIPv6WithBrackets() {
        #expect(HostPort(host: "::1", port: 80).description == "[::1]:80")
        #expect(HostPort(host: "127.0.0.1", port: 7400).description == "127.0.0.1:7400")
    }

    @Test(arguments: [
        ("", "expected host:port"),
        ("localhost", "expected host:port"),
        (":80", "missing host"),
        ("::1:80", "IPv6 addresses need brackets"),
        ("[::1]80", "expected ':port' after ']'"),
        ("[::1", "missing ']'"),
        ("[]:80", "invalid IPv6 address"),
        ("host:", "is not a number"),
        ("host:abc", "is not a number"),
        ("host:-1", "is not a number"),
        ("host:+1", "is not a number"),
        ("host:65536", "port 65536 is out of range 0...65535"),
        ("host:99999999999999999999999", "is out of range"),
        ("a b:80", "invalid host"),
        ("a/b:80", "invalid host"),
    ])
    func rejectsInvalidAddresses(text: String, reason: String) {
        #expect(HostPort(text) == nil)
        do {
            _ = try HostPort.parse(text)
            Issue.record("\(text) parsed")
        } catch {
            #expect(error.reason.contains(reason), "\(error.reason)")
        }
    }
}
