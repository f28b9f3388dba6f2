import Crypto
import DialerRuntime
import FoundationEssentials
public import Hummingbird

/// The request context of the manager's API: who is calling, once the token is checked.
public struct ManagerRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    /// The caller's token, when a valid one was presented.
    public var caller: APITokenRecord?
    /// Request bodies above this size are answered 413 (Content Too Large).
    public var maxUploadSize: Int

    public init(source: ApplicationRequestContextSource) {
        self.coreContext = .init(source: source)
        self.caller = nil
        self.maxUploadSize = ManagerRequestContext.defaultMaxUploadSize
    }

    /// 1 MiB; list imports stream through their own endpoint with their own limit.
    public static let defaultMaxUploadSize = 1 << 20
}

/// An API error with a stable code and a human message, as JSON: `{"error": ..., "message": ...}`.
public struct APIError: HTTPResponseError {
    public var status: HTTPResponse.Status
    public var code: String
    public var message: String

    public init(_ status: HTTPResponse.Status, _ code: String, _ message: String) {
        self.status = status
        self.code = code
        self.message = message
    }

    public func response(from request: Request, context: some RequestContext) throws -> Response {
        var response = try JSONResponse.make(APIErrorBody(error: code, message: message), status: status)
        if status == .unauthorized { response.headers[.init("WWW-Authenticate")!] = "Bearer" }
        // Only password work answers 429: its queue frees within about a second.
        if status == .tooManyRequests { response.headers[.retryAfter] = "1" }
        return response
    }

    public static func unauthorized(_ message: String) -> APIError { APIError(.unauthorized, "unauthorized", message) }
    public static func forbidden(_ message: String) -> APIError { APIError(.forbidden, "forbidden", message) }
    public static func notFound(_ message: String) -> APIError { APIError(.notFound, "not_found", message) }
    public static func invalid(_ message: String) -> APIError { APIError(.badRequest, "invalid_request", message) }
}

/// API tokens: random, shown once, stored only as a SHA-256 hash. Tokens are 32 random bytes,
/// so a fast hash is enough (there is nothing to guess); agent passwords use a slow one.
public enum APIToken {
    /// A new token, `dlr_` followed by 43 URL-safe base64 characters.
    public static func generate() -> String {
        var generator = SystemRandomNumberGenerator()
        let bytes = (0..<32).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
        let encoded = Data(bytes).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
        return "dlr_" + encoded
    }

    /// The stored form of a token.
    public static func hash(_ token: String) -> String {
        SHA256.hash(data: Array(token.utf8)).map { String(format: "%02x", $0) }.joined()
    }
}

/// Reads `Authorization: Bearer <token>` and, when the token is valid, records the caller in
/// the context. Whether a route needs a caller (and which role) is the route table's business.
struct TokenAuthenticator: RouterMiddleware {
    typealias Context = ManagerRequestContext
    let store: any ManagerStore

    func handle(
        _ request: Request, context: Context, next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        var context = context
        if let header = request.headers[.authorization] {
            let parts = header.split(separator: " ", maxSplits: 1)
            guard parts.count == 2, parts[0].lowercased() == "bearer" else {
                throw APIError.unauthorized("the Authorization header must be 'Bearer <token>'")
            }
            guard let record = try await store.token(withHash: APIToken.hash(String(parts[1]))) else {
                throw APIError.unauthorized("the token is not valid (unknown or revoked)")
            }
            context.caller = record
        }
        return try await next(request, context)
    }
}
