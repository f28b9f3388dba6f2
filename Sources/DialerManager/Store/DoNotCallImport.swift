import DialerCore
import DialerImport
import FoundationEssentials

/// Reading a do-not-call file, shared by both stores: the numbers of the mapping's phone column,
/// normalised, handed to `add` batch by batch (``ImportOptions/progressInterval`` at a time),
/// which returns how many it added.
enum DoNotCallImport {
    static func run<Source: AsyncSequence>(
        format: ImportFormat, options: ImportOptions, from source: Source,
        add: ([String]) async throws -> Int
    ) async throws -> DoNotCallImportReport where Source.Element: Collection, Source.Element.Element == UInt8 {
        // Only the number matters: other columns are not read into fields.
        var mapping = options.mapping
        mapping.customFields = .none
        var report = DoNotCallImportReport()
        var batch: [String] = []

        func reject(_ row: Int, _ reason: String) {
            report.rejected += 1
            if report.rejectedRows.count < options.reportedRejectedRows {
                report.rejectedRows.append(RejectedRow(row: row, reason: reason))
            }
        }
        func flush() async throws {
            guard !batch.isEmpty else { return }
            let numbers = batch
            batch.removeAll(keepingCapacity: true)
            let added = try await add(numbers)
            report.added += added
            report.alreadyListed += numbers.count - added
        }
        func take(_ item: Result<ContactRow, ImportRowError>) async throws {
            report.rowsRead += 1
            switch item {
            case .failure(let error):
                reject(error.row, error.reason.description)
            case .success(let row):
                switch PhoneNumber.normalize(row.phone, defaultRegion: options.defaultRegion) {
                case .success(let number): batch.append(number.description)
                case .failure(let error): reject(row.row, "phone: \(error)")
                }
            }
            if batch.count >= options.progressInterval { try await flush() }
        }

        do {
            switch format {
            case .csv:
                let configuration = CSVReader.Configuration(delimiter: options.csvDelimiter)
                for try await item in source.csvContacts(mapping: mapping, configuration: configuration) {
                    try await take(item)
                }
            case .json:
                for try await item in source.jsonContacts(mapping: mapping) { try await take(item) }
            }
        } catch let error as ColumnMappingError {
            throw StoreError.invalid("the file cannot be read: \(error)")
        } catch let error as JSONContactsError {
            throw StoreError.invalid("the file cannot be read: \(error)")
        }
        try await flush()
        return report
    }
}
