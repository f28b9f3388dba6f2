import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// The CPU time and peak memory of one process, read from Linux's `/proc`.
public struct ProcessUsage: Codable, Hashable, Sendable {
    public var role: String
    public var id: String
    public var pid: Int32
    /// User plus system CPU time since the process started (`utime + stime` of `/proc/<pid>/stat`).
    public var cpuSeconds: Double
    /// Peak resident memory (`VmHWM` of `/proc/<pid>/status`), in MiB.
    public var peakMemoryMiB: Double

    public init(role: String, id: String, pid: Int32, cpuSeconds: Double, peakMemoryMiB: Double) {
        self.role = role
        self.id = id
        self.pid = pid
        self.cpuSeconds = cpuSeconds
        self.peakMemoryMiB = peakMemoryMiB
    }

    /// Reads the process `pid` now; nil when it is gone or `/proc` is not there (macOS).
    public static func read(pid: Int32, role: String, id: String) -> ProcessUsage? {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
            let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
            let cpu = cpuSeconds(stat: stat), let peak = peakMemoryKiB(status: status)
        else { return nil }
        return ProcessUsage(role: role, id: id, pid: pid, cpuSeconds: cpu, peakMemoryMiB: Double(peak) / 1024)
    }

    /// `utime + stime` in seconds from the text of `/proc/<pid>/stat`.
    public static func cpuSeconds(stat: String, ticksPerSecond: Int = clockTicks) -> Double? {
        // The command name (field 2) is in parentheses and may hold spaces: count from after it.
        guard let close = stat.lastIndex(of: ")") else { return nil }
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        // After the name: state is field 3, so utime (14) and stime (15) are the 12th and 13th.
        guard fields.count > 12, let user = Double(fields[11]), let system = Double(fields[12]) else { return nil }
        return (user + system) / Double(ticksPerSecond)
    }

    /// `VmHWM` in KiB from the text of `/proc/<pid>/status`.
    public static func peakMemoryKiB(status: String) -> Int? {
        for line in status.split(separator: "\n") where line.hasPrefix("VmHWM:") {
            return Int(line.dropFirst("VmHWM:".count).split(whereSeparator: { $0 == " " || $0 == "\t" }).first ?? "")
        }
        return nil
    }

    /// Clock ticks per second of `/proc` times.
    public static var clockTicks: Int {
        #if canImport(Glibc)
        return Int(sysconf(Int32(_SC_CLK_TCK)))
        #else
        return 100
        #endif
    }
}
