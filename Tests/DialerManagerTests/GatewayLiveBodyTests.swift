import Foundation
import Testing

@testable import DialerManager

@Suite("Manager: reading a gateway's live view")
struct GatewayLiveBodyTests {
    /// The body as the gateway writes it (`GET /v1/live`: snake_case keys, sorted, optional
    /// values left out), with keys the panel does not read.
    static let body = #"""
        {"agents":[{"agent":"ann","agent_phone":"sip:1001@127.0.0.1:5062","calls":4,"phone":"+4520000001",\#
        "queue":"sales","request":"r1","state":"on-call","time_in_state_ms":12500},\#
        {"agent":"bob","calls":0,"reason":"lunch","state":"not-ready","time_in_state_ms":0}],\#
        "queues":[{"available":3,"longest_wait_ms":1800,"on_call":7,"pending_requests":2,"queue":"sales",\#
        "waiting":1,"wrap_up":2}]}
        """#

    @Test func everyFieldIsReadWithThePlainDecoder() throws {
        let live = try JSONDecoder().decode(GatewayLiveBody.self, from: Data(Self.body.utf8))
        #expect(live.agents.count == 2)
        let ann = live.agents[0]
        #expect(ann.agent == "ann" && ann.state == "on-call" && ann.queue == "sales" && ann.phone == "+4520000001")
        #expect(ann.timeInStateMs == 12_500 && ann.calls == 4 && ann.reason == nil)
        #expect(live.agents[1].reason == "lunch" && live.agents[1].queue == nil && live.agents[1].phone == nil)
        let sales = try #require(live.queues.first)
        #expect(sales.queue == "sales" && sales.waiting == 1 && sales.longestWaitMs == 1_800)
        #expect(sales.available == 3 && sales.onCall == 7 && sales.wrapUp == 2)
    }

    @Test func aBodyMissingAFieldIsRefused() throws {
        let broken = Self.body.replacingOccurrences(of: #""time_in_state_ms":12500"#, with: #""time":1"#)
        #expect(broken != Self.body)
        _ = try JSONSerialization.jsonObject(with: Data(broken.utf8))
        #expect(throws: DecodingError.self) {
            try JSONDecoder().decode(GatewayLiveBody.self, from: Data(broken.utf8))
        }
    }
}
