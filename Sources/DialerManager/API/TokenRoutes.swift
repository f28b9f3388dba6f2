import DialerRuntime
import FoundationEssentials
import Hummingbird

/// `/v1/tokens`: admins create, list and revoke API tokens.
enum TokenRoutes {
    struct CreateBody: Decodable {
        var name: String
        var role: String
    }

    struct Created: Encodable {
        var id: Int64
        var name: String
        var role: String
        var token: String
        var createdAt: Date
    }

    static func add(to routes: RouteTable, store: any ManagerStore) {
        routes.add(.post, "/v1/tokens", role: .admin) { request, context in
            let body = try await decodeBody(CreateBody.self, from: request, context: context)
            let name = body.name.trimmingCharacters(in: .whitespaces)
            guard !name.isEmpty, name.count <= 100 else { throw APIError.invalid("name: must be 1 to 100 characters") }
            guard let role = APIRole(rawValue: body.role) else {
                throw APIError.invalid(
                    "role: must be one of \(APIRole.allCases.map(\.rawValue).joined(separator: ", ")), not '\(body.role)'"
                )
            }
            let token = APIToken.generate()
            let record = try await store.createToken(
                name: name, role: role, tokenHash: APIToken.hash(token), at: Date())
            return try JSONResponse.make(
                Created(
                    id: record.id, name: record.name, role: role.rawValue, token: token, createdAt: record.createdAt),
                status: .created)
        }
        routes.add(.get, "/v1/tokens", role: .admin) { _, _ in
            struct Item: Encodable {
                var id: Int64
                var name: String
                var role: String
                var createdAt: Date
            }
            let tokens = try await store.listTokens()
            return try JSONResponse.make(
                [
                    "tokens": tokens.map {
                        Item(id: $0.id, name: $0.name, role: $0.role.rawValue, createdAt: $0.createdAt)
                    }
                ])
        }
        routes.add(.delete, "/v1/tokens/{id}", role: .admin) { _, context in
            guard let id = Int64(context.parameters.get("id") ?? "") else {
                throw APIError.invalid("id: must be a token id (an integer)")
            }
            guard try await store.revokeToken(id: id) else { throw APIError.notFound("no token \(id)") }
            return Response(status: .noContent)
        }
    }
}

/// Decodes a JSON request body, answering 413 above the context's limit and 400 with the
/// decoder's reason (field and expected type) for malformed JSON.
func decodeBody<T: Decodable>(_ type: T.Type, from request: Request, context: ManagerRequestContext) async throws -> T {
    let buffer: ByteBuffer
    do {
        buffer = try await request.body.collect(upTo: context.maxUploadSize)
    } catch {
        throw APIError(.contentTooLarge, "body_too_large", "the request body exceeds \(context.maxUploadSize) bytes")
    }
    let decoder = JSONDecoder()
    decoder.keyDecodingStrategy = .convertFromSnakeCase
    do {
        return try decoder.decode(T.self, from: Data(buffer.readableBytesView))
    } catch let DecodingError.keyNotFound(key, _) {
        throw APIError.invalid("\(key.stringValue.snakeCased): is required")
    } catch let DecodingError.typeMismatch(expected, context) {
        let field = context.codingPath.map(\.stringValue.snakeCased).joined(separator: ".")
        throw APIError.invalid("\(field.isEmpty ? "body" : field): expected \(expected)")
    } catch let DecodingError.valueNotFound(_, context) {
        throw APIError.invalid(
            "\(context.codingPath.map(\.stringValue.snakeCased).joined(separator: ".")): must not be null")
    } catch {
        throw APIError.invalid("the body is not valid JSON")
    }
}

extension String {
    /// `createdAt` → `created_at`, for error messages that name fields as the API spells them.
    var snakeCased: String {
        var result = ""
        for character in self {
            if character.isUppercase {
                result += "_" + character.lowercased()
            } else {
                result.append(character)
            }
        }
        return result
    }
}
