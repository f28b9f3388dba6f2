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
    public static func decoder() -> JSONDecoder {
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        decoder.dateDecodingStrategy = .iso8601
        return decoder
    }
}
