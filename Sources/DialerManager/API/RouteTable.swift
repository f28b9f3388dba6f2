import Hummingbird

/// Every route of the manager's API is registered here, with the role it needs, so that the
/// API's access rules are declared in one place and the list of routes can be checked against
/// `openapi.yaml` by a test.
public final class RouteTable {
    /// One registered route: method, path as written in the OpenAPI document, required role.
    public struct Entry: Hashable, Sendable {
        public var method: String
        public var path: String
        public var role: APIRole?
    }

    public private(set) var entries: [Entry] = []
    let router: Router<ManagerRequestContext>

    init(router: Router<ManagerRequestContext>) {
        self.router = router
    }

    /// Records routes another module registered on the same router (the health endpoints).
    func noteExternal(_ paths: [String]) {
        entries += paths.map { Entry(method: "GET", path: $0, role: nil) }
    }

    /// Registers `handler` at `method path` (path in OpenAPI form, e.g. `/v1/nodes/{id}/drain`).
    /// With a role, a caller without a valid token gets 401, one with a lower role 403.
    func add(
        _ method: HTTPRequest.Method,
        _ path: String,
        role: APIRole?,
        handler: @escaping @Sendable (Request, ManagerRequestContext) async throws -> Response
    ) {
        entries.append(Entry(method: method.rawValue, path: path, role: role))
        let routerPath = RouterPath(
            path.split(separator: "/").map { segment in
                segment.hasPrefix("{") && segment.hasSuffix("}") ? ":" + segment.dropFirst().dropLast() : segment
            }.joined(separator: "/"))
        router.on(routerPath, method: method) { request, context in
            if let role {
                guard let caller = context.caller else {
                    throw APIError.unauthorized("this request needs a token: Authorization: Bearer <token>")
                }
                guard caller.role >= role else {
                    throw APIError.forbidden(
                        "this request needs the \(role.rawValue) role; the token has \(caller.role.rawValue)")
                }
            }
            return try await handler(request, context)
        }
    }
}
