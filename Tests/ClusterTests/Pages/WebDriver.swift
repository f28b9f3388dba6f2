import DialerTestSupport
import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Headless Chromium driven over the W3C WebDriver protocol (chromedriver's HTTP port): enough
/// for the pages' browser tests and screenshots.
///
/// The HTTP exchange is a small blocking socket client of its own (``LoopbackHTTP``), not
/// Foundation's URLSession: chromedriver writes its headers without a space after the colon
/// (`Content-Length:251`), which FoundationNetworking on Linux refuses ("Failed writing header").
///
/// chromedriver is started with ``ChildProcess`` (posix_spawn with the default signal mask), not
/// Foundation's `Process`: a `Process` launched from a concurrency thread inherits that thread's
/// blocked signals, SIGTERM among them, so chromedriver never ended and `waitUntilExit()` held the
/// test for good after it had passed (the "hang" that kept these tests out of CI).
final class WebDriver {
    /// Where chromium and chromedriver are, or why the browser tests cannot run here.
    enum Tools {
        static var chromium: String? {
            find(["chromium", "chromium-browser", "google-chrome"])
        }
        static var chromedriver: String? { find(["chromedriver"]) }
        static var available: Bool { chromium != nil && chromedriver != nil }
        /// CI sets DIALER_REQUIRE_TOOLS=1: a missing browser fails there instead of skipping.
        static var required: Bool { ProcessInfo.processInfo.environment["DIALER_REQUIRE_TOOLS"] == "1" }
        /// Whether the browser tests run: the tools are here, or CI requires them (and the tests
        /// then fail on their absence instead of being skipped).
        static var shouldRun: Bool { available || required }

        private static func find(_ names: [String]) -> String? {
            let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
            for name in names {
                for directory in path.split(separator: ":") {
                    let candidate = "\(directory)/\(name)"
                    if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
                }
            }
            return nil
        }
    }

    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    private let driver: ChildProcess
    private let port: UInt16
    private let log: URL
    private var session = ""

    /// Starts chromedriver on a port the system chooses and a headless browser with a 1366×768
    /// window.
    init() async throws {
        guard let chromium = Tools.chromium, let chromedriver = Tools.chromedriver else {
            throw Failure(
                description:
                    "chromium and chromedriver are not installed (apt-get install -y chromium chromium-driver)")
        }
        log = FileManager.default.temporaryDirectory.appendingPathComponent("chromedriver-\(UUID().uuidString).log")
        driver = try ChildProcess(chromedriver, ["--port=0", "--allowed-ips=127.0.0.1"], output: log.path)
        // chromedriver says which port it bound: "ChromeDriver was started successfully on port N."
        var found: UInt16?
        let log = self.log
        let started = await waitForCondition(timeout: .seconds(60), interval: .milliseconds(50)) {
            let text = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
            guard let range = text.range(of: "started successfully on port ") else { return false }
            found = UInt16(text[range.upperBound...].prefix { $0.isNumber })
            return found != nil
        }
        guard started, let port = found else {
            driver.stop()
            throw Failure(description: "chromedriver did not start: \(Self.tail(of: log))")
        }
        self.port = port
        let capabilities: [String: Any] = [
            "capabilities": [
                "alwaysMatch": [
                    "browserName": "chrome",
                    "goog:chromeOptions": [
                        "binary": chromium,
                        "args": [
                            "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                            "--window-size=1366,768", "--hide-scrollbars", "--lang=en-US",
                        ],
                    ],
                    "goog:loggingPrefs": ["browser": "ALL"],
                ]
            ]
        ]
        let reply: [String: Any]
        do {
            reply = try await send("POST", "/session", capabilities)
        } catch {
            driver.stop()
            throw Failure(description: "no session: \(error); chromedriver: \(Self.tail(of: log))")
        }
        guard let value = reply["value"] as? [String: Any], let id = value["sessionId"] as? String else {
            driver.stop()
            throw Failure(description: "no session: \(reply)")
        }
        session = id
    }

    /// Ends the browser (the session), then chromedriver.
    func quit() async {
        _ = try? await send("DELETE", "/session/\(session)")
        driver.signal(SIGTERM)
        let driver = self.driver
        if await !waitForCondition(timeout: .seconds(15), { driver.hasExited() }) {
            driver.stop()
        }
        try? FileManager.default.removeItem(at: log)
    }

    private static func tail(of log: URL) -> String {
        String(((try? String(contentsOf: log, encoding: .utf8)) ?? "(no output)").suffix(1_000))
    }

    // MARK: Commands

    func open(_ url: String) async throws {
        _ = try await command("POST", "url", ["url": url])
    }

    /// Opens a new tab and returns its handle (the current tab stays the current one).
    func newTab() async throws -> String {
        let value = try await command("POST", "window/new", ["type": "tab"]) as? [String: Any]
        guard let handle = value?["handle"] as? String else {
            throw Failure(description: "no new tab: \(value ?? [:])")
        }
        return handle
    }

    /// The current tab's handle.
    func currentTab() async throws -> String {
        guard let handle = try await command("GET", "window", nil) as? String else {
            throw Failure(description: "no current tab")
        }
        return handle
    }

    /// Makes `handle`'s tab the one the commands act on.
    func switchTo(_ handle: String) async throws {
        _ = try await command("POST", "window", ["handle": handle])
    }

    /// The first element matching `css`, or nil.
    func element(_ css: String) async throws -> String? {
        let reply = try await send("POST", "/session/\(session)/element", ["using": "css selector", "value": css])
        guard let value = reply["value"] as? [String: Any] else { return nil }
        if value["error"] != nil { return nil }
        return value.first { $0.key.hasPrefix("element-") }?.value as? String
    }

    func click(_ css: String) async throws {
        let id = try await required(css)
        _ = try await command("POST", "element/\(id)/click", [:])
    }

    func type(_ css: String, _ text: String) async throws {
        let id = try await required(css)
        _ = try await command("POST", "element/\(id)/clear", [:])
        _ = try await command("POST", "element/\(id)/value", ["text": text])
    }

    /// Sends keys without clearing (file inputs take a path this way).
    func sendKeys(_ css: String, _ text: String) async throws {
        let id = try await required(css)
        _ = try await command("POST", "element/\(id)/value", ["text": text])
    }

    /// Runs `script` (a function body; `arguments` holds `args`) and returns its value.
    @discardableResult
    func run(_ script: String, _ args: [Any] = []) async throws -> Any? {
        let reply = try await command("POST", "execute/sync", ["script": script, "args": args])
        return reply
    }

    /// The text of the first element matching `css` (as the user sees it), or nil.
    func text(_ css: String) async throws -> String? {
        try await run("const e = document.querySelector(arguments[0]); return e ? e.innerText : null;", [css])
            as? String
    }

    /// Whether an element matching `css` is displayed (present, and not hidden).
    func isVisible(_ css: String) async throws -> Bool {
        try await run(
            "const e = document.querySelector(arguments[0]); return !!e && e.offsetParent !== null && !e.closest('[hidden]');",
            [css]) as? Bool ?? false
    }

    /// A PNG of the viewport.
    func screenshot() async throws -> Data {
        guard let base64 = try await command("GET", "screenshot", nil) as? String,
            let data = Data(base64Encoded: base64)
        else { throw Failure(description: "no screenshot") }
        return data
    }

    /// The browser's console log since the last call (chromedriver's log endpoint).
    /// `source` is chromium's: "javascript" (an uncaught error), "console-api" (`console.error`
    /// and the like), "network" (a failed request, a 4xx or 5xx answer among them) ...
    func browserLog() async throws -> [(level: String, source: String, message: String)] {
        let reply = try await send("POST", "/session/\(session)/se/log", ["type": "browser"])
        guard let entries = reply["value"] as? [[String: Any]] else {
            throw Failure(description: "the browser's log cannot be read: \(reply)")
        }
        return entries.map {
            (($0["level"] as? String) ?? "", ($0["source"] as? String) ?? "", ($0["message"] as? String) ?? "")
        }
    }

    /// Polls `condition` until it holds or `timeout` passes; returns whether it held.
    func wait(for timeout: Duration = .seconds(20), _ condition: () async throws -> Bool) async -> Bool {
        await waitForCondition(timeout: timeout, interval: .milliseconds(100), condition)
    }

    // MARK: Wire

    private func required(_ css: String) async throws -> String {
        guard let id = try await element(css) else { throw Failure(description: "no element matches \(css)") }
        return id
    }

    private func command(_ method: String, _ path: String, _ body: [String: Any]?) async throws -> Any? {
        let reply = try await send(method, "/session/\(session)/\(path)", body)
        if let value = reply["value"] as? [String: Any], let error = value["error"] as? String {
            throw Failure(description: "\(path): \(error): \(value["message"] ?? "")")
        }
        return reply["value"]
    }

    private func send(_ method: String, _ path: String, _ body: [String: Any]? = nil) async throws -> [String: Any] {
        let payload = try body.map { try JSONSerialization.data(withJSONObject: $0) }
        let data = try await LoopbackHTTP.exchange(port: port, method: method, path: path, body: payload)
        return (try JSONSerialization.jsonObject(with: data) as? [String: Any]) ?? [:]
    }
}

/// One HTTP/1.1 request to a loopback port (`Connection: close`), its body read to the end,
/// on a dispatch queue so that the blocking socket never holds a concurrency thread.
enum LoopbackHTTP {
    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    private static let queue = DispatchQueue(label: "webdriver-http", attributes: .concurrent)

    static func exchange(port: UInt16, method: String, path: String, body: Data?) async throws -> Data {
        try await withCheckedThrowingContinuation { continuation in
            queue.async {
                continuation.resume(
                    with: Result { try blockingExchange(port: port, method: method, path: path, body: body) })
            }
        }
    }

    private static func blockingExchange(port: UInt16, method: String, path: String, body: Data?) throws -> Data {
        #if canImport(Glibc)
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        #else
        let fd = socket(AF_INET, SOCK_STREAM, 0)
        #endif
        guard fd >= 0 else { throw Failure(description: "socket: \(errno)") }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard connected == 0 else { throw Failure(description: "connect to port \(port): \(errno)") }
        // No exchange may block for good: a browser starting on a loaded machine takes seconds,
        // not minutes.
        var limit = timeval(tv_sec: 120, tv_usec: 0)
        for option in [SO_RCVTIMEO, SO_SNDTIMEO] {
            setsockopt(fd, SOL_SOCKET, option, &limit, socklen_t(MemoryLayout<timeval>.size))
        }
        var request = "\(method) \(path) HTTP/1.1\r\nHost: 127.0.0.1:\(port)\r\nConnection: close\r\n"
        request += "Content-Type: application/json\r\nContent-Length: \(body?.count ?? 0)\r\n\r\n"
        var bytes = Array(request.utf8) + Array(body ?? Data())
        while !bytes.isEmpty {
            let written = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            guard written > 0 else { throw Failure(description: "write: \(errno)") }
            bytes.removeFirst(written)
        }
        var response: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        let separator: [UInt8] = [13, 10, 13, 10]
        var headEnd: Int?
        var expected: Int?
        while true {
            // Content-Length ends the answer; EOF too (chromedriver may keep the connection).
            if let headEnd, let expected, response.count >= headEnd + 4 + expected { break }
            let count = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if count < 0 {
                let code = errno
                if code == EAGAIN || code == EWOULDBLOCK {
                    throw Failure(description: "\(method) \(path): no answer within 120 seconds")
                }
                throw Failure(description: "read: \(code)")
            }
            if count == 0 { break }
            response += buffer[0..<count]
            if headEnd == nil, let end = response.indices.first(where: { response[$0...].starts(with: separator) }) {
                headEnd = end
                let head = String(decoding: response[..<end], as: UTF8.self).lowercased()
                for line in head.split(separator: "\r\n") where line.hasPrefix("content-length:") {
                    expected = Int(line.dropFirst("content-length:".count).trimmingCharacters(in: .whitespaces))
                }
            }
        }
        guard let end = headEnd else { throw Failure(description: "no HTTP header in the answer") }
        let head = String(decoding: response[..<end], as: UTF8.self).lowercased()
        let rest = Array(response[(end + 4)...])
        if head.contains("transfer-encoding:") && head.contains("chunked") { return dechunk(rest) }
        return Data(rest)
    }

    private static func dechunk(_ bytes: [UInt8]) -> Data {
        var out: [UInt8] = []
        var index = 0
        while index < bytes.count {
            guard let lineEnd = (index..<bytes.count - 1).first(where: { bytes[$0] == 13 && bytes[$0 + 1] == 10 }),
                let size = Int(
                    String(decoding: bytes[index..<lineEnd], as: UTF8.self).split(separator: ";")[0], radix: 16),
                size > 0
            else { break }
            let start = lineEnd + 2
            out += bytes[start..<min(bytes.count, start + size)]
            index = start + size + 2
        }
        return Data(out)
    }
}

/// A child process started with posix_spawn, with no signal blocked and every signal's default
/// action, in a process group of its own (so that its own children, the browser, can be ended
/// with it).
final class ChildProcess: Sendable {
    let id: pid_t

    init(_ path: String, _ arguments: [String], output: String) throws {
        #if canImport(Glibc)
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var none = sigset_t()
        sigemptyset(&none)
        posix_spawnattr_setsigmask(&attributes, &none)
        var all = sigset_t()
        sigfillset(&all)
        posix_spawnattr_setsigdefault(&attributes, &all)
        posix_spawnattr_setpgroup(&attributes, 0)
        posix_spawnattr_setflags(
            &attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETPGROUP))
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, output, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        let argv: [UnsafeMutablePointer<CChar>?] = ([path] + arguments).map { strdup($0) } + [nil]
        defer { for argument in argv { free(argument) } }
        var pid = pid_t()
        let result = posix_spawn(&pid, path, &actions, &attributes, argv, environ)
        guard result == 0 else { throw WebDriver.Failure(description: "cannot start \(path): error \(result)") }
        id = pid
        #else
        throw WebDriver.Failure(description: "starting chromedriver is written for Linux only")
        #endif
    }

    func signal(_ signal: Int32) {
        kill(id, signal)
    }

    /// Whether it ended (and, if so, reaps it).
    func hasExited() -> Bool {
        var status: Int32 = 0
        let result = waitpid(id, &status, WNOHANG)
        return result == id || (result < 0 && errno == ECHILD)
    }

    /// Kills it and what it started (its process group), and reaps it.
    func stop() {
        kill(-id, SIGKILL)
        var status: Int32 = 0
        while waitpid(id, &status, 0) < 0 && errno == EINTR {}
    }
}
