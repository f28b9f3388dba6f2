import DialerCore
import DialerImport
import FoundationEssentials
import Hummingbird

/// `/v1/dnc` (global) and `/v1/campaigns/{id}/dnc` (one campaign): add, remove, list, check a
/// number, import a file.
enum DoNotCallRoutes {
    struct AddBody: Codable {
        var phone: String
        var note: String?
        var defaultRegion: String?
    }

    struct EntryBody: Encodable {
        var phone: String
        var campaign: String?
        var note: String?
        var addedAt: Date
    }

    static func add(to routes: RouteTable, _ api: APIEnvironment) {
        register(routes, api, prefix: "/v1/dnc") { _ in .global }
        register(routes, api, prefix: "/v1/campaigns/{id}/dnc") { context in
            let campaign = try await CampaignRoutes.existing(context, api.store)
            return .campaign(campaign.id)
        }
    }

    private static func register(
        _ routes: RouteTable, _ api: APIEnvironment, prefix: String,
        scope: @escaping @Sendable (ManagerRequestContext) async throws -> DoNotCallScope
    ) {
        let store = api.store
        routes.add(.get, prefix, role: .readOnly) { request, context in
            let scope = try await scope(context)
            var query = Query(request)
            let after = query.string("after")
            let limit = try query.integer("limit", in: 1...1000) ?? 100
            try query.checkAllUsed()
            let entries = try await store.doNotCallEntries(scope: scope, after: after, limit: limit)
            struct Page: Encodable {
                var numbers: [EntryBody]
                var nextAfter: String?
            }
            return try reply(
                Page(
                    numbers: entries.map {
                        EntryBody(
                            phone: $0.phone, campaign: $0.scope.campaign?.rawValue, note: $0.note, addedAt: $0.addedAt)
                    }, nextAfter: entries.count == limit ? entries.last?.phone : nil))
        }
        routes.add(.post, prefix, role: .supervisor) { request, context in
            let scope = try await scope(context)
            let body = try await decodeStrictBody(AddBody.self, from: request, context: context)
            let region = try ContactRoutes.regionOf(body.defaultRegion, api)
            let phone = try ContactRoutes.normalized(body.phone, region: region, field: "phone")
            let added = try await storing {
                try await store.addDoNotCall(phone, scope: scope, defaultRegion: region, note: body.note, now: Date())
            }
            if let campaign = scope.campaign { await api.changes.changed(.campaign(campaign)) }
            struct Added: Encodable {
                var phone: String
                var added: Bool
            }
            return try reply(Added(phone: phone, added: added), status: added ? .created : .ok)
        }
        routes.add(.get, prefix + "/{phone}", role: .readOnly) { request, context in
            let scope = try await scope(context)
            var query = Query(request)
            let region = try ContactRoutes.regionOf(query.string("default_region"), api)
            try query.checkAllUsed()
            let phone = try ContactRoutes.normalized(
                try context.parameters.path("phone"), region: region, field: "phone")
            let blocked = try await store.isDoNotCall(phone, campaign: scope.campaign, defaultRegion: region)
            struct Check: Encodable {
                var phone: String
                var campaign: String?
                var doNotCall: Bool
            }
            return try reply(Check(phone: phone, campaign: scope.campaign?.rawValue, doNotCall: blocked))
        }
        routes.add(.delete, prefix + "/{phone}", role: .supervisor) { request, context in
            let scope = try await scope(context)
            var query = Query(request)
            let region = try ContactRoutes.regionOf(query.string("default_region"), api)
            try query.checkAllUsed()
            let phone = try ContactRoutes.normalized(
                try context.parameters.path("phone"), region: region, field: "phone")
            guard try await storing({ try await store.removeDoNotCall(phone, scope: scope, defaultRegion: region) })
            else { throw APIError.notFound("the number is not on this do-not-call list") }
            if let campaign = scope.campaign { await api.changes.changed(.campaign(campaign)) }
            return Response(status: .noContent)
        }
        routes.add(.post, prefix + "/imports", role: .supervisor) { request, context in
            let scope = try await scope(context)
            var query = Query(request)
            let importRequest = try ImportRequest(&query, defaultRegion: api.defaultRegion)
            try query.checkAllUsed()
            guard importRequest.mode == .append else {
                throw APIError.invalid("mode: a do-not-call import only adds numbers (append)")
            }
            let limit = api.settings.maxImportBytes
            if let length = request.headers[.contentLength].flatMap({ Int($0) }), length > limit {
                throw APIError.bodyTooLarge(limit)
            }
            // Streamed straight into the store: numbers are added batch by batch, and a number
            // blocked early is never harmful, so there is nothing to roll back.
            let report: DoNotCallImportReport
            do {
                report = try await storing {
                    try await store.importDoNotCall(
                        scope: scope, format: importRequest.format, options: importRequest.options,
                        from: LimitedBody(body: request.body, limit: limit), now: Date())
                }
            } catch let error as APIError {
                throw error
            } catch {
                throw APIError(.unprocessableContent, "import_failed", "the file cannot be read: \(error)")
            }
            if let campaign = scope.campaign { await api.changes.changed(.campaign(campaign)) }
            return try reply(report)
        }
    }
}
