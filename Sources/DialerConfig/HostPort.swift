/// A listening or connecting address: a host name or IP address and a port.
///
/// Written `127.0.0.1:7400`, `localhost:0` (port 0: any free port) or, for IPv6, with
/// brackets: `[::1]:80`. ``description`` prints it back in the same form.
public struct HostPort: Sendable, Hashable, LosslessStringConvertible {
    /// The host name or IP address, without brackets.
    public var host: String
    /// The port, 0...65535; 0 asks the system for any free port.
    public var port: Int

    /// An address from its parts; `host` is an IPv6 address without brackets when it has colons.
    public init(host: String, port: Int) {
        self.host = host
        self.port = port
    }

    /// Parses `host:port` or `[ipv6]:port`; nil when `description` is not a valid address.
    public init?(_ description: String) {
        guard let parsed = try? Self.parse(description) else { return nil }
        self = parsed
    }

    /// `host:port`, with brackets around an IPv6 host.
    public var description: String {
        host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
    }

    /// Why a text is not an address, for messages that name the key it was set for.
    struct Invalid: Error, Equatable {
        var reason: String
    }

    /// Parses `host:port` or `[ipv6]:port`, saying what is wrong when it cannot.
    static func parse(_ text: String) throws(Invalid) -> HostPort {
        let host: Substring
        let port: Substring
        if text.first == "[" {
            guard let close = text.firstIndex(of: "]") else {
                throw Invalid(reason: "missing ']' after the IPv6 address in \(text.quoted)")
            }
            host = text[text.index(after: text.startIndex)..<close]
            let rest = text[text.index(after: close)...]
            guard rest.first == ":" else {
                throw Invalid(reason: "expected ':port' after ']' in \(text.quoted)")
            }
            port = rest.dropFirst()
            guard !host.isEmpty, host.allSatisfy(\.isIPv6AddressCharacter) else {
                throw Invalid(reason: "invalid IPv6 address in \(text.quoted)")
            }
        } else {
            guard let colon = text.lastIndex(of: ":") else {
                throw Invalid(reason: "expected host:port, got \(text.quoted)")
            }
            host = text[..<colon]
            port = text[text.index(after: colon)...]
            if host.contains(":") {
                throw Invalid(reason: "IPv6 addresses need brackets, like [::1]:80, got \(text.quoted)")
            }
            guard !host.isEmpty else {
                throw Invalid(reason: "missing host in \(text.quoted)")
            }
            guard host.allSatisfy(\.isHostNameCharacter) else {
                throw Invalid(reason: "invalid host \(String(host).quoted)")
            }
        }
        guard !port.isEmpty, port.allSatisfy({ $0.isASCII && $0.isNumber }) else {
            throw Invalid(reason: "port \(String(port).quoted) is not a number")
        }
        // Digits only, so a failed conversion can only mean a number far too large.
        guard let number = Int(port), (0...65535).contains(number) else {
            throw Invalid(reason: "port \(port) is out of range 0...65535")
        }
        return HostPort(host: String(host), port: number)
    }
}

extension Character {
    fileprivate var isHostNameCharacter: Bool {
        isASCII && (isLetter || isNumber || self == "-" || self == "." || self == "_")
    }

    /// Hex digits, colons, dots (IPv4-mapped) and `%` for a zone index (`fe80::1%eth0`).
    fileprivate var isIPv6AddressCharacter: Bool {
        isASCII && (isLetter || isNumber || self == ":" || self == "." || self == "%")
    }
}
