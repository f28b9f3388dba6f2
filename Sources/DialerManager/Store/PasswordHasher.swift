import Crypto
import CryptoExtras
import FoundationEssentials

/// A password as the store keeps it: never the text, only a slow salted hash and how it was made.
struct PasswordHash: Hashable, Sendable {
    var algorithm: String
    var iterations: Int
    var salt: [UInt8]
    var hash: [UInt8]
}

/// Hashes agents' passwords with PBKDF2-HMAC-SHA256 (swift-crypto's `KDF.Insecure.PBKDF2`, on
/// BoringSSL): a random 16-byte salt per password and a deliberately slow number of rounds, so
/// that a stolen database does not give the passwords away cheaply.
///
/// swift-crypto has no memory-hard KDF (scrypt, Argon2); PBKDF2 with SHA-256 at OWASP's
/// recommended rounds is the best it offers. ("Insecure" in its namespace is swift-crypto's
/// warning that PBKDF2 is weaker than memory-hard KDFs, not a flaw at these rounds.)
struct PasswordHasher: Sendable {
    static let algorithm = "pbkdf2-sha256"
    /// OWASP's recommendation for PBKDF2-HMAC-SHA256 (2023).
    static let defaultIterations = 600_000
    static let saltBytes = 16
    static let hashBytes = 32

    /// Rounds for new hashes.
    var iterations: Int

    init(iterations: Int) {
        self.iterations = max(1, iterations)
    }

    /// A new hash of `password`, with a fresh random salt.
    func hash(_ password: String) throws -> PasswordHash {
        var generator = SystemRandomNumberGenerator()
        let salt = (0..<Self.saltBytes).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
        return PasswordHash(
            algorithm: Self.algorithm, iterations: iterations, salt: salt,
            hash: try Self.derive(password, salt: salt, iterations: iterations))
    }

    /// Whether `password` is the one `stored` was made from. Compares in constant time.
    static func verify(_ password: String, against stored: PasswordHash) throws -> Bool {
        guard stored.algorithm == algorithm, stored.iterations > 0, stored.hash.count == hashBytes else {
            return false
        }
        let derived = try derive(password, salt: stored.salt, iterations: stored.iterations)
        var difference: UInt8 = 0
        for (lhs, rhs) in zip(derived, stored.hash) { difference |= lhs ^ rhs }
        return difference == 0
    }

    private static func derive(_ password: String, salt: [UInt8], iterations: Int) throws -> [UInt8] {
        // The unchecked entry point because rounds are a stored setting (tests use few); the
        // store defaults to `defaultIterations`, above swift-crypto's 210,000 floor.
        let key = try KDF.Insecure.PBKDF2.deriveKey(
            from: Array(password.utf8), salt: salt, using: .sha256, outputByteCount: hashBytes,
            unsafeUncheckedRounds: iterations)
        return key.withUnsafeBytes { Array($0) }
    }
}
