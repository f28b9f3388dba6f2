import Crypto
public import DialerProtocol

/// The shared secret of a cluster, used only to prove knowledge of it during the handshake.
///
/// The secret itself never crosses the wire: each side signs the other side's fresh random
/// nonce with HMAC-SHA256, so a recorded handshake cannot be replayed and an observer learns
/// nothing that lets it authenticate.
public struct ClusterSecret: Sendable {
    private let key: SymmetricKey

    public init(_ secret: String) {
        self.key = SymmetricKey(data: Array(secret.utf8))
    }

    /// The proof the connecting side puts in its `Hello`.
    public func helloProof(
        serverNonce: [UInt8], clientNonce: [UInt8], version: UInt32, role: Dialer_V1_Role, memberID: String
    ) -> [UInt8] {
        var message = Array("dialer-hello\u{0}".utf8)
        message += serverNonce
        message += clientNonce
        message += Self.bigEndian(version)
        message += Self.bigEndian(UInt32(truncatingIfNeeded: role.rawValue))
        message += Array(memberID.utf8)
        return Array(HMAC<SHA256>.authenticationCode(for: message, using: key))
    }

    /// The proof the accepting side puts in its `Welcome`.
    public func welcomeProof(serverNonce: [UInt8], clientNonce: [UInt8], version: UInt32, memberID: String) -> [UInt8] {
        var message = Array("dialer-welcome\u{0}".utf8)
        message += clientNonce
        message += serverNonce
        message += Self.bigEndian(version)
        message += Array(memberID.utf8)
        return Array(HMAC<SHA256>.authenticationCode(for: message, using: key))
    }

    /// Compares proofs in constant time.
    static func proofsMatch(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        guard a.count == b.count else { return false }
        var difference: UInt8 = 0
        for index in a.indices { difference |= a[index] ^ b[index] }
        return difference == 0
    }

    private static func bigEndian(_ value: UInt32) -> [UInt8] {
        [UInt8(value >> 24), UInt8((value >> 16) & 0xFF), UInt8((value >> 8) & 0xFF), UInt8(value & 0xFF)]
    }
}
