import Foundation
import Hummingbird
import HummingbirdTesting
import Testing

@testable import DialerManager

/// A response read as loose JSON, for terse assertions.
struct Reply {
    var status: HTTPResponse.Status
    var json: Any?
    var text: String

    subscript(_ key: String) -> Any? { (json as? [String: Any])?[key] }
    func string(_ key: String) -> String? { self[key] as? String }
    func int(_ key: String) -> Int? { (self[key] as? NSNumber)?.intValue }
    func array(_ key: String) -> [[String: Any]] { self[key] as? [[String: Any]] ?? [] }
    var message: String { string("message") ?? "" }
    var error: String { string("error") ?? "" }
}

extension TestClientProtocol {
    /// Sends a request with a bearer token and an optional body, and reads the JSON reply.
    func call(
        _ method: HTTPRequest.Method, _ uri: String, token: String?, body: String? = nil,
        headers extra: HTTPFields = [:]
    ) async throws -> Reply {
        var headers = extra
        if let token { headers[.authorization] = "Bearer \(token)" }
        return try await execute(
            uri: uri, method: method, headers: headers, body: body.map { ByteBuffer(string: $0) }
        ) { response in
            let data = Data(response.body.readableBytesView)
            return Reply(
                status: response.status, json: try? JSONSerialization.jsonObject(with: data),
                text: String(decoding: data, as: UTF8.self))
        }
    }
}

extension APIFixture {
    /// Creates list `list` and campaign `campaign` dialing it on queue `queue`.
    func makeCampaign(
        _ client: some TestClientProtocol, campaign: String = "c1", list: String = "l1", queue: String = "q1",
        settings: String = #"{"status": "enabled"}"#
    ) async throws {
        let created = try await client.call(
            .post, "/v1/lists", token: adminToken, body: #"{"id": "\#(list)", "name": "List \#(list)"}"#)
        #expect(created.status == .created, "\(created.text)")
        let campaignReply = try await client.call(
            .post, "/v1/campaigns", token: adminToken,
            body:
                #"{"id": "\#(campaign)", "name": "C", "list": "\#(list)", "queue": "\#(queue)", "settings": \#(settings)}"#
        )
        #expect(campaignReply.status == .created, "\(campaignReply.text)")
    }

    /// Imports `file` into `list`, waiting for the end.
    func importFile(
        _ client: some TestClientProtocol, list: String = "l1", query: String = "", _ file: String
    ) async throws -> Reply {
        try await client.call(
            .post, "/v1/lists/\(list)/imports?wait=true\(query.isEmpty ? "" : "&" + query)", token: adminToken,
            body: file)
    }

    /// A token of `role`.
    func token(_ client: some TestClientProtocol, role: String) async throws -> String {
        let reply = try await client.call(
            .post, "/v1/tokens", token: adminToken, body: #"{"name": "\#(role)", "role": "\#(role)"}"#)
        return try #require(reply.string("token"))
    }
}
