public import FoundationEssentials
public import Hummingbird
import NIOCore

/// JSON bodies as every process's HTTP API writes them: snake_case keys, ISO 8601 dates, keys
/// sorted for stable output.
public enum JSONResponse {
    public static func make(_ value: some Encodable, status: HTTPResponse.Status = .ok) throws -> Response {
        Response(
            status: status, headers: [.contentType: "application/json"],
            body: .init(byteBuffer: ByteBuffer(bytes: try APIJSON.encoder().encode(value))))
    }
}

/// The JSON body of every HTTP API error, in every process: `{"error": code, "message": text}`.
public struct APIErrorBody: Codable, Sendable {
    public var error: String
    public var message: String

    public init(error: String, message: String) {
        self.error = error
        self.message = message
    }
}

/// The JSON form of the HTTP API, shared by whatever else carries the same values (the cluster
/// protocol sends campaign settings in it), so that both sides read and write one form.
public enum APIJSON {
    /// An encoder for the API's form: snake_case keys, ISO 8601 dates, sorted keys.
    public static func encoder() -> JSONEncoder {
        let encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .convertToSnakeCase
        encoder.outputFormatting = [.sortedKeys]
        encoder.dateEncodingStrategy = .iso8601
        return encoder
    }

    /// A decoder that reads what ``encoder()`` writes.
    ///
    /// Keys go back with ``camelCased(_:)``, not Foundation's `convertFromSnakeCase`, which
    /// turns `caller_id` into `callerId`, a key no model has.
    public static func decoder() -> JSONDecoder {
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .custom { path in
            let key = path.last!
            if key.intValue != nil { return key }
            return CamelCaseKey(stringValue: camelCased(key.stringValue))
        }
        decoder.dateDecodingStrategy = .iso8601
        return decoder
    }

    /// `caller_id` → `callerID`, `ring_timeout` → `ringTimeout`: the inverse of the encoder's
    /// snake_case for the keys the models use.
    public static func camelCased(_ key: String) -> String {
        let parts = key.split(separator: "_", omittingEmptySubsequences: true)
        guard let first = parts.first, key.contains("_") else { return key }
        return String(first)
            + parts.dropFirst().map { part in
                part == "id" ? "ID" : part.prefix(1).uppercased() + part.dropFirst()
            }.joined()
    }
}

/// A coding key made from a converted name.
private struct CamelCaseKey: CodingKey {
    var stringValue: String
    var intValue: Int? { nil }
    init(stringValue: String) { self.stringValue = stringValue }
    init?(intValue: Int) { nil }
}
