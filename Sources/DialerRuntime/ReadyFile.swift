import FoundationEssentials

/// A small JSON file a process writes once it listens on all its ports, so that whoever
/// started it (`dialerctl up`, the cluster tests) learns the real addresses, also when it
/// asked for port 0.
public struct ReadyFile: Codable, Sendable, Equatable {
    public var role: String
    public var id: String
    public var pid: Int32
    /// `host:port` of the cluster listener, if the process has one.
    public var clusterAddress: String?
    /// `host:port` of the HTTP listener.
    public var httpAddress: String

    public init(role: String, id: String, pid: Int32, clusterAddress: String?, httpAddress: String) {
        self.role = role
        self.id = id
        self.pid = pid
        self.clusterAddress = clusterAddress
        self.httpAddress = httpAddress
    }

    /// Writes the file atomically (write to a temporary name, then rename), so a reader never
    /// sees half of it.
    public func write(to path: String) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let data = try encoder.encode(self)
        let url = URL(fileURLWithPath: path)
        try FileManager.default.createDirectory(
            at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try data.write(to: url, options: .atomic)
    }

    /// Reads a ready file; `nil` while it does not exist yet.
    public static func read(from path: String) throws -> ReadyFile? {
        guard FileManager.default.fileExists(atPath: path) else { return nil }
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        return try JSONDecoder().decode(ReadyFile.self, from: data)
    }
}
