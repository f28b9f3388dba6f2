import DialerCore

/// The node's trunk with the agents' phones: a bridge goes to the phone the agent gave at login,
/// as the gateway's grant carried it (``GatewayReservations/agentPhone(_:)``). Everything else
/// passes through unchanged.
struct AgentPhoneTrunk: Trunk {
    let trunk: any Trunk
    let reservations: GatewayReservations

    var inboundCalls: AsyncStream<InboundCall> { trunk.inboundCalls }

    func originate(_ request: OriginateRequest) async throws(TrunkError) -> OutboundCall {
        try await trunk.originate(request)
    }

    func receiveCalls(to numbers: Set<String>?) async { await trunk.receiveCalls(to: numbers) }

    func accept(_ call: CallID) async throws(TrunkError) { try await trunk.accept(call) }

    func bridge(_ call: CallID, to agent: AgentID) async throws(TrunkError) {
        try await trunk.bridge(call, to: agent, phone: await reservations.agentPhone(agent))
    }

    func play(_ message: CallMessage, on call: CallID) async throws(TrunkError) {
        try await trunk.play(message, on: call)
    }

    func hangUp(_ call: CallID) async throws(TrunkError) { try await trunk.hangUp(call) }
}
