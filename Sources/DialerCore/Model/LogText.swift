/// Text from outside (a peer's error message, a campaign id, a value an operator sent) made safe
/// to write into a log line.
///
/// A newline in a peer's text written raw would start a line the peer wrote: a forged log
/// entry. Control characters (C0, DEL, C1, and the Unicode line and paragraph separators) are
/// written as escapes (`\n`, `\r`, `\t`, `\u{1B}`), a backslash as `\\` so that an escape in
/// the log cannot be faked either, and text beyond `limit` characters is cut with a count of
/// what was left out.
public enum LogText {
    /// The most characters of one piece of outside text a log line shows.
    public static let defaultLimit = 512

    /// `text` with its control characters escaped, cut at `limit` characters.
    public static func escaped(_ text: some StringProtocol, limit: Int = defaultLimit) -> String {
        var result = ""
        var shown = 0
        var left = 0
        for scalar in text.unicodeScalars {
            if shown >= limit {
                left += 1
                continue
            }
            shown += 1
            switch scalar {
            case "\n": result += "\\n"
            case "\r": result += "\\r"
            case "\t": result += "\\t"
            case "\\": result += "\\\\"
            case "\u{00}"..."\u{1F}", "\u{7F}"..."\u{9F}", "\u{2028}", "\u{2029}":
                result += "\\u{" + String(scalar.value, radix: 16, uppercase: true) + "}"
            default: result.unicodeScalars.append(scalar)
            }
        }
        if left > 0 { result += "…(\(left) more)" }
        return result
    }
}
