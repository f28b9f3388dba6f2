/// The byte that separates the fields of a CSV record.
///
/// Spreadsheets in locales that write decimal commas (most of continental Europe) export CSV with
/// `;`, so an import cannot assume `,`.
public enum CSVDelimiter: UInt8, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    /// `,` (RFC 4180).
    case comma = 0x2C
    /// `;`, what spreadsheets write in locales with a decimal comma.
    case semicolon = 0x3B
    /// A horizontal tab (TSV exports).
    case tab = 0x09
    /// `|`, seen in exports from older telephony systems.
    case pipe = 0x7C

    /// The delimiters the reader chooses between when the caller gives none, in the order that
    /// breaks ties: a header with as many `,` as `;` is read as comma-separated.
    public static let detectable: [CSVDelimiter] = [.comma, .semicolon, .tab]

    /// The delimiter a caller names in an API parameter: `,`, `;`, `|`, a tab character, or the
    /// words `comma`, `semicolon`, `tab`, `pipe` (any case). Nil for anything else.
    public init?(name: String) {
        switch name.lowercased() {
        case ",", "comma": self = .comma
        case ";", "semicolon": self = .semicolon
        case "\t", "tab", "\\t": self = .tab
        case "|", "pipe": self = .pipe
        default: return nil
        }
    }

    /// How the delimiter is written back to a person: the character itself, or `tab`, which
    /// would be invisible in an error message.
    public var description: String {
        switch self {
        case .comma: ","
        case .semicolon: ";"
        case .tab: "tab"
        case .pipe: "|"
        }
    }
}
