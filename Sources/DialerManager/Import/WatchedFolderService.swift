public import DialerCore
import DialerRuntime
import Foundation
public import Logging
public import ServiceLifecycle

/// The watched folders: a file dropped into `<directory>/<campaign id>/` is imported into the
/// campaign's list, then moved to `done/` or `failed/` in the same folder, with a
/// `<file>.report.json` beside it saying what the import did or why it failed.
///
/// The folders are polled on the injected clock (the products this replaces took files over
/// FTP, where no change notification exists). A file is imported once its size is the same on
/// two scans in a row, so that a file still being copied is not read half-written. `.json`
/// files are read as a JSON array, every other file as CSV; a name containing `.replace.`
/// replaces the list, any other appends to it. Numbers are read in the default region.
public struct WatchedFolderService: Service {
    let store: any ManagerStore
    let directory: String
    let interval: Duration
    let defaultRegion: String
    let clock: any DialerClock
    let logger: Logger
    private let sizes = SizeBook()

    /// What one scan did with one file.
    public struct Outcome: Hashable, Sendable {
        /// The campaign whose folder held the file.
        public var campaign: CampaignID
        /// The file's name.
        public var file: String
        /// Whether it was imported (moved to `done/`) or not (moved to `failed/`).
        public var succeeded: Bool
    }

    /// A service watching `directory`, scanning every `interval` of `clock`.
    public init(
        store: any ManagerStore, directory: String, interval: Duration, defaultRegion: String,
        clock: any DialerClock, logger: Logger
    ) {
        self.store = store
        self.directory = directory
        self.interval = interval
        self.defaultRegion = defaultRegion
        self.clock = clock
        self.logger = logger
    }

    public func run() async throws {
        try await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                do {
                    _ = try await scan()
                } catch is CancellationError {
                    return
                } catch {
                    logger.warning("watched folder scan failed", metadata: ["error": "\(error)"])
                }
                try await clock.sleep(for: interval)
            }
        }
    }

    /// One pass: makes a folder for every campaign, and imports the files that stopped growing.
    func scan() async throws -> [Outcome] {
        let files = FileManager.default
        try files.createDirectory(atPath: directory, withIntermediateDirectories: true)
        for campaign in try await store.campaigns() {
            try files.createDirectory(
                atPath: directory + "/" + campaign.id.rawValue, withIntermediateDirectories: true)
        }
        var seen: [String: Int] = [:]
        var ready: [(campaign: String, file: String)] = []
        for folder in try files.contentsOfDirectory(atPath: directory).sorted() where !folder.hasPrefix(".") {
            guard isDirectory(directory + "/" + folder) else { continue }
            for file in try files.contentsOfDirectory(atPath: directory + "/" + folder).sorted() {
                let path = directory + "/" + folder + "/" + file
                guard !file.hasPrefix("."), !isDirectory(path) else { continue }
                let size = Self.size(of: path)
                seen[path] = size
                if await sizes.size(of: path) == size { ready.append((folder, file)) }
            }
        }
        await sizes.replace(with: seen)
        var outcomes: [Outcome] = []
        for (folder, file) in ready {
            try Task.checkCancellation()
            outcomes.append(await importFile(file, campaign: CampaignID(folder)))
            await sizes.forget(directory + "/" + folder + "/" + file)
        }
        return outcomes
    }

    private func importFile(_ file: String, campaign: CampaignID) async -> Outcome {
        let folder = directory + "/" + campaign.rawValue
        let path = folder + "/" + file
        var report: ImportReport?
        var failure: String?
        do {
            guard let found = try await store.campaign(campaign) else {
                throw StoreError.notFound("campaign \(campaign)")
            }
            let format: ImportFormat = file.lowercased().hasSuffix(".json") ? .json : .csv
            let mode: ImportMode = file.lowercased().contains(".replace.") ? .replace : .append
            report = try await store.importContacts(
                into: found.list, format: format, mode: mode, options: ImportOptions(defaultRegion: defaultRegion),
                requestedBy: "watched folder", sourceName: file, from: FileChunks(path: path))
        } catch {
            failure = (error as? StoreError)?.description ?? "\(error)"
        }
        let succeeded = failure == nil
        do {
            let target = folder + "/" + (succeeded ? "done" : "failed")
            try FileManager.default.createDirectory(atPath: target, withIntermediateDirectories: true)
            let destination = Self.freeName(for: file, in: target)
            try FileManager.default.moveItem(atPath: path, toPath: target + "/" + destination)
            let body = FolderReport(file: file, succeeded: succeeded, error: failure, report: report)
            try APIJSON.encoder().encode(body).write(
                to: URL(fileURLWithPath: target + "/" + destination + ".report.json"))
        } catch {
            logger.error("cannot move a watched file", metadata: ["file": "\(path)", "error": "\(error)"])
        }
        logger.info(
            "watched file imported",
            metadata: ["campaign": "\(campaign)", "file": "\(file)", "succeeded": "\(succeeded)"])
        return Outcome(campaign: campaign, file: file, succeeded: succeeded)
    }

    /// `name`, or `name-2`, `name-3` ... when `done/` already holds a file of that name.
    static func freeName(for name: String, in folder: String) -> String {
        var candidate = name
        var number = 2
        while FileManager.default.fileExists(atPath: folder + "/" + candidate) {
            candidate = "\(name)-\(number)"
            number += 1
        }
        return candidate
    }

    private func isDirectory(_ path: String) -> Bool {
        let attributes = try? FileManager.default.attributesOfItem(atPath: path)
        return attributes?[.type] as? FileAttributeType == .typeDirectory
    }

    /// A file's size in bytes, or -1 when it cannot be read.
    private static func size(of path: String) -> Int {
        switch (try? FileManager.default.attributesOfItem(atPath: path))?[.size] {
        case let size as Int: size
        case let size as UInt64: Int(size)
        case let size as Int64: Int(size)
        case let size as NSNumber: size.intValue
        default: -1
        }
    }

    /// The report written beside a processed file.
    struct FolderReport: Encodable {
        var file: String
        var succeeded: Bool
        var error: String?
        var report: ImportReport?
    }

    /// The size each file had at the last scan.
    private actor SizeBook {
        var sizes: [String: Int] = [:]
        func size(of path: String) -> Int? { sizes[path] }
        func replace(with sizes: [String: Int]) { self.sizes = sizes }
        func forget(_ path: String) { sizes[path] = nil }
    }
}
