import DialerCore
import DialerImport
import Foundation
import Hummingbird
import Logging
import NIOCore
import NIOPosix

/// Runs contact-list imports in the background, so that an upload is answered 202 with its job
/// at once and a client watches the job's progress (`GET /v1/imports/{job}`).
///
/// The request body is first spooled to a file (chunk by chunk, never held in memory), then the
/// file is streamed into the store by a task of its own. The store does the rest: staging,
/// all-or-nothing apply, progress counts on the job.
actor ImportRunner {
    let store: any ManagerStore
    let spoolDirectory: String
    let logger: Logger
    private var running: [ImportJobID: Task<ImportReport?, Never>] = [:]

    init(store: any ManagerStore, spoolDirectory: String, logger: Logger) {
        self.store = store
        self.spoolDirectory = spoolDirectory
        self.logger = logger
    }

    /// Starts importing `file` (which the runner deletes when done) into the job.
    func start(job: ImportJobID, file: String, options: ImportOptions) {
        let store = self.store
        let logger = self.logger
        running[job] = Task {
            defer { try? FileManager.default.removeItem(atPath: file) }
            do {
                let report = try await store.importContacts(
                    job: job, options: options, from: FileChunks(path: file), progress: { _ in })
                logger.info(
                    "import finished",
                    metadata: [
                        "job": "\(job)", "accepted": "\(report.job.accepted)", "rejected": "\(report.job.rejected)",
                    ])
                return report
            } catch {
                logger.notice("import failed", metadata: ["job": "\(job)", "error": "\(error)"])
                return nil
            }
        }
    }

    /// Waits for a job this runner started; `nil` when it failed or is not the runner's.
    func wait(for job: ImportJobID) async -> ImportReport? {
        guard let task = running[job] else { return nil }
        let report = await task.value
        running[job] = nil
        return report
    }

    /// Writes a request body to a new spool file, at most `limit` bytes (413 above it).
    func spool(_ body: RequestBody, limit: Int) async throws -> String {
        try FileManager.default.createDirectory(atPath: spoolDirectory, withIntermediateDirectories: true)
        let path = spoolDirectory + "/upload-\(UUID().uuidString)"
        try await spool(body, limit: limit, to: path)
        return path
    }

    private nonisolated func spool(_ body: RequestBody, limit: Int, to path: String) async throws {
        guard FileManager.default.createFile(atPath: path, contents: nil) else {
            throw APIError(.internalServerError, "internal_error", "cannot write the upload to the spool directory")
        }
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        // Writes are blocking system calls: they run on NIO's thread pool, off the cooperative
        // pool that serves requests and actors.
        let files = NIOThreadPool.singleton
        do {
            var size = 0
            for try await buffer in body {
                size += buffer.readableBytes
                guard size <= limit else { throw APIError.bodyTooLarge(limit) }
                let chunk = Data(buffer.readableBytesView)
                try await files.runIfActive { try handle.write(contentsOf: chunk) }
            }
            try await files.runIfActive { try handle.close() }
        } catch {
            try? handle.close()
            try? FileManager.default.removeItem(atPath: path)
            throw error
        }
    }
}

extension APIError {
    static func bodyTooLarge(_ limit: Int) -> APIError {
        APIError(.contentTooLarge, "body_too_large", "the request body exceeds \(limit) bytes")
    }
}

/// A file as a sequence of chunks, read as they are needed, each on NIO's thread pool.
struct FileChunks: AsyncSequence, Sendable {
    typealias Element = Data
    let path: String
    var chunkSize = 256 * 1024

    struct AsyncIterator: AsyncIteratorProtocol {
        let handle: FileHandle?
        let chunkSize: Int
        let error: (any Error)?
        var done = false

        mutating func next() async throws -> Data? {
            if let error { throw error }
            guard !done, let handle else { return nil }
            // A blocking read, on NIO's thread pool rather than the cooperative pool.
            let chunkSize = chunkSize
            let data = try await NIOThreadPool.singleton.runIfActive { try handle.read(upToCount: chunkSize) ?? Data() }
            if data.isEmpty {
                done = true
                try? handle.close()
                return nil
            }
            return data
        }
    }

    func makeAsyncIterator() -> AsyncIterator {
        do {
            return AsyncIterator(
                handle: try FileHandle(forReadingFrom: URL(fileURLWithPath: path)), chunkSize: chunkSize, error: nil)
        } catch {
            return AsyncIterator(handle: nil, chunkSize: chunkSize, error: error)
        }
    }
}

/// A request body as a sequence of chunks that fails with 413 beyond `limit` bytes, for
/// imports that stream straight into the store.
struct LimitedBody: AsyncSequence, Sendable {
    typealias Element = ByteBufferView
    let body: RequestBody
    let limit: Int

    struct AsyncIterator: AsyncIteratorProtocol {
        var base: RequestBody.AsyncIterator
        let limit: Int
        var size = 0

        mutating func next() async throws -> ByteBufferView? {
            guard let buffer = try await base.next() else { return nil }
            size += buffer.readableBytes
            guard size <= limit else { throw APIError.bodyTooLarge(limit) }
            return buffer.readableBytesView
        }
    }

    func makeAsyncIterator() -> AsyncIterator { AsyncIterator(base: body.makeAsyncIterator(), limit: limit) }
}

/// How to read an import's file, from the query of an import request (`format`, `mode`,
/// `default_region`, `delimiter`, `phone_column`, `time_zone_column`, `caller_id_column`,
/// `priority_column`, `fields`).
struct ImportRequest {
    var format: ImportFormat
    var mode: ImportMode
    var options: ImportOptions
    var sourceName: String?
    /// `dry_run=true`: read and check the file, change no list.
    var dryRun = false

    /// Reads the contact-list import's own parameters, `max_rejected` and `dry_run`.
    mutating func readListParameters(_ query: inout Query) throws {
        if let text = query.string("max_rejected") {
            guard let limit = RejectionLimit(text) else {
                throw APIError.invalid(
                    "max_rejected: must be a count of rows (0 or more) or a percentage from 0% to 100%, not '\(text)'")
            }
            options.maximumRejected = limit
        }
        dryRun = try query.bool("dry_run")
    }

    init(_ query: inout Query, defaultRegion: String) throws {
        format = try query.choice("format", of: ImportFormat.self) ?? .csv
        mode = try query.choice("mode", of: ImportMode.self) ?? .append
        let region = try query.string("default_region").map { try checkRegion($0, field: "default_region") }
        let delimiter: CSVDelimiter?
        switch query.string("delimiter") {
        case nil, "auto": delimiter = nil
        case "comma", ",": delimiter = .comma
        case "semicolon", ";": delimiter = .semicolon
        case "tab": delimiter = .tab
        case "pipe", "|": delimiter = .pipe
        case let other?:
            throw APIError.invalid("delimiter: must be auto, comma, semicolon, tab or pipe, not '\(other)'")
        }
        func column(_ name: String) throws -> String? {
            guard let value = query.string(name) else { return nil }
            guard !value.trimmingCharacters(in: .whitespaces).isEmpty else {
                throw APIError.invalid("\(name): must name a column")
            }
            return value
        }
        let fields: ColumnMapping.CustomFields
        switch query.string("fields") {
        case nil, "all": fields = .allOtherColumns
        case "none": fields = .none
        case let list?: fields = .named(list.split(separator: ",").map { String($0) })
        }
        let mapping = ColumnMapping(
            phone: try column("phone_column") ?? "phone", timeZone: try column("time_zone_column"),
            callerID: try column("caller_id_column"), priority: try column("priority_column"), customFields: fields)
        options = ImportOptions(mapping: mapping, defaultRegion: region ?? defaultRegion, csvDelimiter: delimiter)
        sourceName = query.string("name")
    }
}
