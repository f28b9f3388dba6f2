import Crypto
public import FoundationEssentials

/// How deliveries are signed, and how a receiver checks them.
///
/// Every delivery is a `POST` with a JSON body and these headers:
///
/// - `Dialer-Webhook-Id`: the event's id, the same on every retry (deliveries are at least
///   once: a receiver drops an id it has already processed);
/// - `Dialer-Webhook-Timestamp`: Unix seconds when this try was signed;
/// - `Dialer-Webhook-Signature`: `v1=` and the lowercase hex HMAC-SHA256, keyed with the
///   subscription's secret (its UTF-8 bytes), of the timestamp, a `.`, and the body's bytes.
///
/// A receiver recomputes the HMAC over the timestamp header, `.` and the raw body, compares it
/// in constant time, and rejects a timestamp more than five minutes from its own clock, so that
/// a captured delivery cannot be replayed later.
public enum WebhookSignature {
    public static let idHeader = "Dialer-Webhook-Id"
    public static let timestampHeader = "Dialer-Webhook-Timestamp"
    public static let signatureHeader = "Dialer-Webhook-Signature"
    /// How far a receiver should accept a timestamp from its clock.
    public static let tolerance: Int64 = 300

    /// The signature header's value for `body` signed at `timestamp` (Unix seconds).
    public static func sign(body: some DataProtocol, timestamp: Int64, secret: String) -> String {
        var mac = HMAC<SHA256>(key: SymmetricKey(data: Array(secret.utf8)))
        mac.update(data: Array("\(timestamp).".utf8))
        mac.update(data: body)
        let hex = Array("0123456789abcdef".utf8)
        var text: [UInt8] = Array("v1=".utf8)
        for byte in Data(mac.finalize()) {
            text.append(hex[Int(byte >> 4)])
            text.append(hex[Int(byte & 0x0F)])
        }
        return String(decoding: text, as: UTF8.self)
    }

    /// What a receiver does: whether `signature` is a valid `v1=` signature of `body` at
    /// `timestamp`, and the timestamp within ``tolerance`` of `now` (Unix seconds).
    public static func verify(
        body: some DataProtocol, timestamp: String, signature: String, secret: String, now: Int64
    ) -> Bool {
        guard let time = Int64(timestamp), abs(now - time) <= tolerance, signature.hasPrefix("v1="),
            let expected = hexBytes(String(signature.dropFirst(3)))
        else { return false }
        // HMAC's own comparison takes the same time wherever the first difference is.
        return HMAC<SHA256>.isValidAuthenticationCode(
            expected, authenticating: Array("\(time).".utf8) + Array(body),
            using: SymmetricKey(data: Array(secret.utf8)))
    }

    private static func hexBytes(_ text: String) -> [UInt8]? {
        let digits = Array(text.utf8)
        guard digits.count == 64 else { return nil }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(32)
        for index in stride(from: 0, to: 64, by: 2) {
            guard let high = hexValue(digits[index]), let low = hexValue(digits[index + 1]) else { return nil }
            bytes.append(high << 4 | low)
        }
        return bytes
    }

    private static func hexValue(_ digit: UInt8) -> UInt8? {
        switch digit {
        case 0x30...0x39: digit - 0x30
        case 0x61...0x66: digit - 0x61 + 10
        case 0x41...0x46: digit - 0x41 + 10
        default: nil
        }
    }
}
