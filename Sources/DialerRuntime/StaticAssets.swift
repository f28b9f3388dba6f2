import Foundation
public import FoundationEssentials
public import Hummingbird
import NIOCore

/// The browser pages a process serves: files read once, at start, from a directory of the
/// process's resource bundle, kept in memory and served with an ETag, `Cache-Control` and
/// their content type. A request with the current ETag in `If-None-Match` gets 304.
///
/// Only names of the directory itself are served (no `..`, no hidden files, no sub-directories
/// beyond those that exist): an unknown path is 404, whatever it tries.
public struct StaticAssets: Sendable {
    /// One file, ready to serve.
    public struct Asset: Sendable {
        public var bytes: [UInt8]
        public var contentType: String
        public var etag: String
    }

    /// The files by their path relative to the directory, e.g. `app.js`, `css/site.css`.
    public let assets: [String: Asset]
    /// What `Cache-Control` says: revalidate every time (`no-cache`), so a new build is seen at
    /// once while unchanged files cost a 304.
    public static let cacheControl = "no-cache"

    /// Reads every regular file under `directory` (at most `maximumBytes` in all).
    public init(directory: URL, maximumBytes: Int = 8 << 20) throws {
        var found: [String: Asset] = [:]
        var total = 0
        let root = directory.standardizedFileURL.resolvingSymlinksInPath()
        let manager = FileManager.default
        guard let walker = manager.enumerator(atPath: root.path) else {
            throw StaticAssetsError.unreadable(root.path)
        }
        while let relative = walker.nextObject() as? String {
            let url = root.appendingPathComponent(relative)
            var isDirectory: ObjCBool = false
            guard manager.fileExists(atPath: url.path, isDirectory: &isDirectory), !isDirectory.boolValue else {
                continue
            }
            guard !relative.split(separator: "/").contains(where: { $0.hasPrefix(".") }) else { continue }
            let data = try Data(contentsOf: url)
            total += data.count
            guard total <= maximumBytes else { throw StaticAssetsError.tooLarge(root.path) }
            let bytes = [UInt8](data)
            found[relative] = Asset(
                bytes: bytes, contentType: Self.contentType(of: relative), etag: Self.etag(of: bytes))
        }
        self.assets = found
    }

    /// Assets given directly (tests).
    public init(assets: [String: [UInt8]]) {
        self.assets = assets.mapValues {
            Asset(bytes: $0, contentType: "", etag: Self.etag(of: $0))
        }.reduce(into: [:]) { result, entry in
            var asset = entry.value
            asset.contentType = Self.contentType(of: entry.key)
            result[entry.key] = asset
        }
    }

    /// The content type by file extension; unknown ones are bytes.
    public static func contentType(of path: String) -> String {
        let ext = path.split(separator: ".").last.map { $0.lowercased() } ?? ""
        switch ext {
        case "html": return "text/html; charset=utf-8"
        case "css": return "text/css; charset=utf-8"
        case "js", "mjs": return "text/javascript; charset=utf-8"
        case "json": return "application/json"
        case "svg": return "image/svg+xml"
        case "png": return "image/png"
        case "ico": return "image/x-icon"
        case "txt": return "text/plain; charset=utf-8"
        default: return "application/octet-stream"
        }
    }

    /// A strong ETag: FNV-1a 64 of the bytes and their length (enough to tell versions apart).
    static func etag(of bytes: [UInt8]) -> String {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in bytes {
            hash ^= UInt64(byte)
            hash = hash &* 0x0000_0100_0000_01b3
        }
        let hex = String(hash, radix: 16)
        return "\"\(String(repeating: "0", count: 16 - hex.count))\(hex)-\(bytes.count)\""
    }

    /// The asset at `relative` (a path below the mount point, "" for the index), or `nil`.
    public func asset(at relative: String) -> Asset? {
        let name = relative.isEmpty || relative.hasSuffix("/") ? relative + "index.html" : relative
        // Only the names that were read are served: "..", "%2e%2e", "//" never match one.
        return assets[name]
    }

    /// The response to a GET or HEAD of `relative`: 200 with the bytes, 304 when `If-None-Match`
    /// names the current ETag, or 404.
    public func response(for relative: String, request: Request, headOnly: Bool = false) -> Response {
        guard let asset = asset(at: relative) else {
            return Response(
                status: .notFound, headers: [.contentType: "text/plain; charset=utf-8", .cacheControl: "no-store"],
                body: .init(byteBuffer: ByteBuffer(string: "not found\n")))
        }
        var headers: HTTPFields = [
            .eTag: asset.etag, .cacheControl: Self.cacheControl, .contentType: asset.contentType,
            .init("X-Content-Type-Options")!: "nosniff",
        ]
        if let match = request.headers[.ifNoneMatch],
            match.split(separator: ",").contains(where: {
                let tag = $0.trimmingCharacters(in: .whitespaces)
                return tag == asset.etag || tag == "W/" + asset.etag || tag == "*"
            })
        {
            return Response(status: .notModified, headers: headers)
        }
        headers[.contentLength] = String(asset.bytes.count)
        if headOnly { return Response(status: .ok, headers: headers) }
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: asset.bytes)))
    }

    /// Serves the assets under `mount` (e.g. `agent`): `GET /agent` redirects to `/agent/`,
    /// `GET /agent/` is `index.html`, `GET /agent/x.js` is `x.js`. `extraPages` maps further
    /// paths below the mount to a file (`live` → `live.html`).
    public func add<Context: RequestContext>(
        to router: Router<Context>, mount: String, extraPages: [String: String] = [:]
    ) {
        let prefix = "/\(mount)/"
        let serve: @Sendable (Request, Bool) -> Response = { request, headOnly in
            let path = request.uri.path
            // The router treats "/agent" and "/agent/" alike; relative links need the slash.
            guard path.hasPrefix(prefix) else {
                return Response(status: .movedPermanently, headers: [.location: prefix])
            }
            var relative = String(path.dropFirst(prefix.count))
            if let page = extraPages[relative] { relative = page }
            return self.response(for: relative, request: request, headOnly: headOnly)
        }
        router.get(RouterPath(mount)) { request, _ in serve(request, false) }
        router.head(RouterPath(mount)) { request, _ in serve(request, true) }
        router.get(RouterPath("\(mount)/**")) { request, _ in serve(request, false) }
        router.head(RouterPath("\(mount)/**")) { request, _ in serve(request, true) }
    }
}

/// Why the pages could not be read at start.
public enum StaticAssetsError: Error, CustomStringConvertible {
    case unreadable(String)
    case tooLarge(String)

    public var description: String {
        switch self {
        case .unreadable(let path): return "the pages' directory \(path) cannot be read"
        case .tooLarge(let path): return "the pages' directory \(path) holds more than the limit"
        }
    }
}
