/// A problem with the cluster configuration: a syntax error in the file, an unknown key, a bad
/// value or override, a failed validation, or a missing secret.
///
/// ``description`` is one line meant for a person, prefixed with where the problem is, so that
/// an operator can go straight to it:
/// `local.toml:12: expected '=' after key "lease_duration_ms"`,
/// `--set cluster.lease_duration_ms=abc: expected an integer`,
/// `environment DIALER_CLUSTER_LEASE_DURATION_MS: expected an integer`.
public struct ConfigError: Error, CustomStringConvertible, Equatable, Sendable {
    /// What went wrong, for callers that react differently to different problems.
    public enum Kind: Sendable, Equatable {
        /// The file or an override is not well formed.
        case syntax
        /// The file uses a TOML feature that cluster files do not support.
        case unsupported
        /// A key, section or environment variable is not known (usually a typo).
        case unknownKey
        /// A value has the wrong type or fails validation.
        case invalidValue
        /// No cluster secret was configured.
        case missingSecret
        /// The configuration file or the secret file could not be read.
        case unreadableFile
    }

    /// What went wrong.
    public var kind: Kind
    /// Where the problem is: `file:line`, `line N`, `--set key=value`, `environment NAME`,
    /// or nil when it is not tied to one place (a missing secret).
    public var source: String?
    /// The line in the file, when the problem is in the file.
    public var line: Int?
    /// The problem itself, without ``source``.
    public var message: String

    /// The one-line message: ``source``, a colon, and ``message``.
    public var description: String {
        if let source { "\(source): \(message)" } else { message }
    }

    init(kind: Kind, source: String?, line: Int? = nil, message: String) {
        self.kind = kind
        self.source = source
        self.line = line
        self.message = message
    }

    /// An error at a line of the file, or of an unnamed text when `file` is nil.
    init(kind: Kind, file: String?, line: Int, message: String) {
        self.init(kind: kind, source: file.map { "\($0):\(line)" } ?? "line \(line)", line: line, message: message)
    }

    /// An error about a value from `origin`.
    init(kind: Kind, origin: Origin?, message: String) {
        self.init(kind: kind, source: origin?.source, line: origin?.line, message: message)
    }
}
