/// Checks on phone numbers as the dialer passes them around: E.164, `+` and digits.
public enum PhoneNumbers {
    /// `+` and 2 to 15 digits, the first not 0: what a network can route.
    public static func isE164(_ number: String) -> Bool {
        let digits = number.utf8.dropFirst()
        return number.utf8.first == UInt8(ascii: "+") && (2...15).contains(digits.count)
            && digits.first != UInt8(ascii: "0")
            && digits.allSatisfy { $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }
    }
}
