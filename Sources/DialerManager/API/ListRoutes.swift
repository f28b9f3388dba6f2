import DialerConfig
import DialerCore
import DialerImport
import DialerTransport
import FoundationEssentials
import Hummingbird

/// What the API's routes share: the store, the change feed the cluster listens to, the
/// manager's settings and the import runner.
struct APIEnvironment: Sendable {
    let store: any ManagerStore
    let changes: ManagerChanges
    let settings: ManagerSettings
    let imports: ImportRunner
    /// The queues of the cluster configuration: a campaign's queue must be one of its campaign
    /// queues, the only ones the manager leases to a node for dialing.
    let queues: [QueueSettings]
    /// Who owns which queue now, for "why not dialable".
    let coordinator: ClusterCoordinator
    /// Issues agents' resume tokens (`POST /v1/agents/{id}/resume-token`); nil without a cluster secret.
    var resumeTokens: AgentResumeTokens? = nil

    var defaultRegion: String { settings.defaultRegion }

    /// The cluster's compliance profile (`manager.compliance_profile`).
    var complianceProfile: ComplianceProfile {
        ComplianceProfile(rawValue: settings.complianceProfile.rawValue) ?? .none
    }
}

/// `/v1/lists` and `/v1/imports`: contact lists, their imports and import history.
enum ListRoutes {
    struct ListBody: Codable {
        var id: String?
        var name: String
        var description: String?
    }

    static func add(to routes: RouteTable, _ api: APIEnvironment) {
        let store = api.store
        routes.add(.get, "/v1/lists", role: .readOnly) { _, _ in
            try reply(["lists": try await store.lists()])
        }
        routes.add(.post, "/v1/lists", role: .supervisor) { request, context in
            let body = try await decodeStrictBody(ListBody.self, from: request, context: context)
            guard let id = body.id else { throw APIError.invalid("id: is required") }
            try checkIdentifier(id, field: "id")
            let name = try checkName(body.name, field: "name")
            let list = try await storing {
                try await store.createList(
                    id: ContactListID(id), name: name, description: body.description ?? "", now: Date())
            }
            return try reply(list, status: .created)
        }
        routes.add(.get, "/v1/lists/{id}", role: .readOnly) { _, context in
            try reply(try await existingList(context, store))
        }
        routes.add(.put, "/v1/lists/{id}", role: .supervisor) { request, context in
            let list = try await existingList(context, store)
            let body = try await decodeStrictBody(ListBody.self, from: request, context: context)
            return try reply(try await updateList(list, body, store))
        }
        routes.add(.patch, "/v1/lists/{id}", role: .supervisor) { request, context in
            let list = try await existingList(context, store)
            let current = ListBody(id: list.id.rawValue, name: list.name, description: list.description)
            return try reply(
                try await updateList(list, try await patched(current, with: request, context: context), store))
        }
        routes.add(.delete, "/v1/lists/{id}", role: .supervisor) { _, context in
            let id = ContactListID(try context.parameters.path("id"))
            guard try await storing({ try await store.deleteList(id) }) else {
                throw APIError.notFound("list \(id) does not exist")
            }
            return Response(status: .noContent)
        }

        routes.add(.post, "/v1/lists/{id}/imports", role: .supervisor) { request, context in
            let list = try await existingList(context, store)
            var query = Query(request)
            var importRequest = try ImportRequest(&query, defaultRegion: api.defaultRegion)
            try importRequest.readListParameters(&query)
            let wait = try query.bool("wait")
            try query.checkAllUsed()
            let limit = api.settings.maxImportBytes
            if let length = request.headers[.contentLength].flatMap({ Int($0) }), length > limit {
                throw APIError.bodyTooLarge(limit)
            }
            let file = try await api.imports.spool(request.body, limit: limit)
            let job: ImportJob
            do {
                job = try await storing {
                    try await store.createImportJob(
                        list: list.id, format: importRequest.format, mode: importRequest.mode,
                        requestedBy: context.caller?.name ?? "api", sourceName: importRequest.sourceName,
                        dryRun: importRequest.dryRun)
                }
            } catch {
                try? FileManager.default.removeItem(atPath: file)
                throw error
            }
            await api.imports.start(job: job.id, file: file, options: importRequest.options)
            guard wait else { return try reply(job, status: .accepted) }
            _ = await api.imports.wait(for: job.id)
            let finished = try await store.importJob(job.id) ?? job
            let rejected = try await store.rejectedRows(of: job.id, afterRow: 0, limit: 100)
            return try reply(
                ImportReport(job: finished, rejectedRows: rejected),
                status: finished.status == .succeeded ? .ok : .unprocessableContent)
        }
        routes.add(.get, "/v1/lists/{id}/imports", role: .readOnly) { request, context in
            let list = try await existingList(context, store)
            var query = Query(request)
            let limit = try query.integer("limit", in: 1...1000) ?? 100
            try query.checkAllUsed()
            return try reply(["imports": try await store.importJobs(list: list.id, limit: limit)])
        }
        routes.add(.get, "/v1/imports/{job}", role: .readOnly) { _, context in
            try reply(try await existingJob(context, store))
        }
        routes.add(.get, "/v1/imports/{job}/rejected", role: .readOnly) { request, context in
            let job = try await existingJob(context, store)
            var query = Query(request)
            let after = try query.integer("after_row", in: 0...Int.max) ?? 0
            let limit = try query.integer("limit", in: 1...1000) ?? 100
            try query.checkAllUsed()
            struct Page: Encodable {
                var job: ImportJobID
                var rejected: Int
                var rows: [RejectedRow]
                var nextAfterRow: Int?
            }
            let rows = try await store.rejectedRows(of: job.id, afterRow: after, limit: limit)
            return try reply(
                Page(
                    job: job.id, rejected: job.rejected, rows: rows,
                    nextAfterRow: rows.count == limit ? rows.last?.row : nil))
        }
    }

    static func existingList(_ context: ManagerRequestContext, _ store: any ManagerStore) async throws -> ContactList {
        let id = ContactListID(try context.parameters.path("id"))
        guard let list = try await store.list(id) else { throw APIError.notFound("list \(id) does not exist") }
        return list
    }

    static func existingJob(_ context: ManagerRequestContext, _ store: any ManagerStore) async throws -> ImportJob {
        let text = try context.parameters.path("job")
        guard let number = Int64(text) else { throw APIError.invalid("job: must be an import job id (an integer)") }
        guard let job = try await store.importJob(ImportJobID(number)) else {
            throw APIError.notFound("import job \(number) does not exist")
        }
        return job
    }

    static func updateList(_ list: ContactList, _ body: ListBody, _ store: any ManagerStore) async throws -> ContactList
    {
        if let id = body.id, id != list.id.rawValue {
            throw APIError.invalid("id: a list's id cannot change (was \(list.id), got \(id))")
        }
        let name = try checkName(body.name, field: "name")
        return try await storing {
            try await store.updateList(id: list.id, name: name, description: body.description ?? "", now: Date())
        }
    }
}
