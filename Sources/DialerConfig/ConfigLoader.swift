#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Loads a ``ClusterConfig`` from a cluster file, the environment and command-line overrides.
///
/// Each key takes the first value found in this order: a flag (`--set section.key=value`, or a
/// dedicated flag an executable maps onto a key), an environment variable (`DIALER_SECTION_KEY`),
/// the file, the built-in default. The result is validated as a whole, so a process that gets a
/// configuration back can use it without further checks.
public struct ConfigLoader {
    /// The environment variable a node process may read its node id from. The loader ignores it
    /// (it is not a key: the process passes the id as `nodeID`) rather than reporting it as unknown.
    public static let nodeIDEnvironmentVariable = "DIALER_NODE_ID"

    /// Loads, overrides and validates the cluster configuration.
    ///
    /// - Parameters:
    ///   - path: The TOML file, or nil to start from the defaults alone.
    ///   - overrides: `section.key=value` strings from `--set` flags (and from dedicated flags the
    ///     executables map onto keys); later ones win over earlier ones.
    ///   - environment: Usually `ProcessInfo.processInfo.environment`; only variables named
    ///     `DIALER_CLUSTER_*`, `DIALER_MANAGER_*`, `DIALER_GATEWAY_*` and `DIALER_NODE_*` are read.
    ///   - nodeID: Which `[[node]]` the `node.*` keys and `DIALER_NODE_*` variables apply to, or nil
    ///     for processes that are not nodes. A node missing from the file is added with defaults.
    ///   - requireSecret: Whether a missing secret is an error; tools that only need addresses pass false.
    /// - Throws: ``ConfigError`` naming the file line, flag or variable at fault.
    public static func load(
        path: String?, overrides: [String], environment: [String: String], nodeID: String?,
        requireSecret: Bool = true
    ) throws(ConfigError) -> ClusterConfig {
        var document = TOMLDocument()
        if let path {
            let bytes: [UInt8]
            do {
                bytes = try readFile(atPath: path)
            } catch {
                throw ConfigError(
                    kind: .unreadableFile, source: path, message: "cannot read the cluster config: \(error.reason)")
            }
            document = try TOMLParser.parse(bytes: bytes, fileName: path)
        }
        return try load(
            document: document, fileName: path, overrides: overrides, environment: environment, nodeID: nodeID,
            requireSecret: requireSecret)
    }

    /// Loads the configuration from TOML text instead of a file, for embedded configurations
    /// (the demo) and tests; otherwise the same as ``load(path:overrides:environment:nodeID:requireSecret:)``.
    ///
    /// - Parameter fileName: The name errors show for lines of `contents`; nil shows `line N`.
    public static func load(
        contents: String, fileName: String? = nil, overrides: [String] = [], environment: [String: String] = [:],
        nodeID: String? = nil, requireSecret: Bool = true
    ) throws(ConfigError) -> ClusterConfig {
        let document = try TOMLParser.parse(contents, fileName: fileName)
        return try load(
            document: document, fileName: fileName, overrides: overrides, environment: environment, nodeID: nodeID,
            requireSecret: requireSecret)
    }

    /// Every key a flag or an environment variable may set, with a one-line help that gives its
    /// default and its environment variable, in the order of the file's sections.
    public static var overridableKeys: [(key: String, help: String)] {
        ConfigKey.all.filter(\.isOverridable).map { (key: $0.qualifiedName, help: $0.helpLine) }
    }

    /// The environment variable for an overridable key (`cluster.lease_duration_ms` gives
    /// `DIALER_CLUSTER_LEASE_DURATION_MS`), or nil when there is no such key.
    public static func environmentVariable(forKey key: String) -> String? {
        guard let key = ConfigKey.find(qualifiedName: key), key.isOverridable else { return nil }
        return key.environmentVariable
    }

    static func load(
        document: TOMLDocument, fileName: String?, overrides: [String], environment: [String: String],
        nodeID: String?, requireSecret: Bool
    ) throws(ConfigError) -> ClusterConfig {
        var builder = ConfigBuilder(fileName: fileName)
        // Later layers replace earlier ones key by key, which gives flag > environment > file.
        try builder.addFile(document)
        try builder.addEnvironment(environment, nodeID: nodeID)
        try builder.addOverrides(overrides, nodeID: nodeID)
        return try builder.build(nodeID: nodeID, requireSecret: requireSecret)
    }
}

/// Why a file could not be read, in words for a message.
struct UnreadableFile: Error {
    var reason: String
}

/// Reads a whole file; relative paths are relative to the working directory.
func readFile(atPath path: String) throws(UnreadableFile) -> [UInt8] {
    let files = FileManager.default
    guard files.fileExists(atPath: path) else { throw UnreadableFile(reason: "no such file") }
    guard let data = files.contents(atPath: path) else {
        throw UnreadableFile(reason: "not a readable file")
    }
    return [UInt8](data)
}
