/// The payload of every frame on a cluster connection.
public typealias Envelope = Dialer_V1_Envelope
/// The error codes of the cluster protocol.
public typealias ProtocolErrorCode = Dialer_V1_ErrorCode

extension Envelope {
    /// A short, stable name of the message kind, for logs and metrics labels.
    public var kindName: String {
        guard let message else { return "none" }
        switch message {
        case .challenge: return "challenge"
        case .hello: return "hello"
        case .welcome: return "welcome"
        case .error: return "error"
        case .heartbeat: return "heartbeat"
        case .register: return "register"
        case .registered: return "registered"
        case .leaseRenew: return "lease_renew"
        case .leaseRenewed: return "lease_renewed"
        case .leaseGrant: return "lease_grant"
        case .leaseRevoke: return "lease_revoke"
        case .leaseRelease: return "lease_release"
        case .queueMap: return "queue_map"
        case .drain: return "drain"
        case .leaving: return "leaving"
        case .queueSubscribe: return "queue_subscribe"
        case .queueSubscribed: return "queue_subscribed"
        case .queueUnsubscribe: return "queue_unsubscribe"
        case .campaignRequest: return "campaign_request"
        case .campaignInfo: return "campaign_info"
        case .contactRequest: return "contact_request"
        case .contactBatch: return "contact_batch"
        case .attemptReport: return "attempt_report"
        case .attemptReportAck: return "attempt_report_ack"
        case .attemptReturn: return "attempt_return"
        case .attemptReturnAck: return "attempt_return_ack"
        case .inboundRouteRequest: return "inbound_route_request"
        case .inboundRoute: return "inbound_route"
        case .directorySubscribe: return "directory_subscribe"
        case .agentDirectory: return "agent_directory"
        case .agentAuthenticate: return "agent_authenticate"
        case .agentAuthenticated: return "agent_authenticated"
        case .dispositionReport: return "disposition_report"
        case .dispositionReportAck: return "disposition_report_ack"
        case .agentRequest: return "agent_request"
        case .agentRequestAnswer: return "agent_request_answer"
        case .reservationConfirm: return "reservation_confirm"
        case .reservationRelease: return "reservation_release"
        case .reservationCancel: return "reservation_cancel"
        case .grantRevoked: return "grant_revoked"
        case .queuePicture: return "queue_picture"
        case .callEnded: return "call_ended"
        case .hangupRequest: return "hangup_request"
        case .reservationAck: return "reservation_ack"
        case .agentLogin: return "agent_login"
        case .agentLoggedIn: return "agent_logged_in"
        case .agentSetReady: return "agent_set_ready"
        case .agentSetNotReady: return "agent_set_not_ready"
        case .agentStatus: return "agent_status"
        case .agentOffer: return "agent_offer"
        case .agentOfferAnswer: return "agent_offer_answer"
        case .agentCall: return "agent_call"
        case .agentHangup: return "agent_hangup"
        case .agentExtendWrapUp: return "agent_extend_wrap_up"
        case .agentDisposition: return "agent_disposition"
        case .agentLogout: return "agent_logout"
        case .agentAck: return "agent_ack"
        case .agentOfferWithdrawn: return "agent_offer_withdrawn"
        case .agentDeskRequest: return "agent_desk_request"
        case .agentDesk: return "agent_desk"
        case .agentTakenOver: return "agent_taken_over"
        case .pacingReport: return "pacing_report"
        case .attemptResultBatch: return "attempt_result_batch"
        case .attemptResultBatchAck: return "attempt_result_batch_ack"
        }
    }

    /// An envelope carrying one message, optionally as a request or reply.
    public init(_ message: OneOf_Message, correlationID: UInt64 = 0) {
        self.init()
        self.message = message
        self.correlationID = correlationID
    }

    /// An `Error` envelope.
    public static func error(_ code: ProtocolErrorCode, _ text: String, correlationID: UInt64 = 0) -> Envelope {
        var error = Dialer_V1_Error()
        error.code = code
        error.message = text
        return Envelope(.error(error), correlationID: correlationID)
    }
}

extension ProtocolErrorCode {
    /// Whether the sender of this error closes the connection after it (see PROTOCOL.md).
    public var isFatal: Bool {
        switch self {
        case .staleEpoch, .notOwner, .unknownQueue, .invalidArgument, .internal, .invalidState, .loginFailed,
            .notLoggedIn,
            .forbidden, .unknownRequest, .notFound, .rateLimited:
            return false
        default: return true
        }
    }

    /// The code's name as written in PROTOCOL.md.
    public var name: String {
        switch self {
        case .unspecified: return "ERROR_CODE_UNSPECIFIED"
        case .frameTooLarge: return "FRAME_TOO_LARGE"
        case .malformedFrame: return "MALFORMED_FRAME"
        case .unknownMessage: return "UNKNOWN_MESSAGE"
        case .unexpectedMessage: return "UNEXPECTED_MESSAGE"
        case .authenticationFailed: return "AUTHENTICATION_FAILED"
        case .unsupportedVersion: return "UNSUPPORTED_VERSION"
        case .heartbeatTimeout: return "HEARTBEAT_TIMEOUT"
        case .staleEpoch: return "STALE_EPOCH"
        case .notOwner: return "NOT_OWNER"
        case .unknownQueue: return "UNKNOWN_QUEUE"
        case .roleNotAllowed: return "ROLE_NOT_ALLOWED"
        case .duplicateMember: return "DUPLICATE_MEMBER"
        case .invalidArgument: return "INVALID_ARGUMENT"
        case .shuttingDown: return "SHUTTING_DOWN"
        case .internal: return "INTERNAL"
        case .invalidState: return "INVALID_STATE"
        case .loginFailed: return "LOGIN_FAILED"
        case .notLoggedIn: return "NOT_LOGGED_IN"
        case .forbidden: return "FORBIDDEN"
        case .unknownRequest: return "UNKNOWN_REQUEST"
        case .notFound: return "NOT_FOUND"
        case .rateLimited: return "RATE_LIMITED"
        case .slowConsumer: return "SLOW_CONSUMER"
        case .managerStandby: return "MANAGER_STANDBY"
        case .UNRECOGNIZED(let value): return "UNRECOGNIZED(\(value))"
        }
    }
}

/// A violation of the protocol by the peer: the connection answers with an `Error` frame
/// carrying `code` and closes.
public struct ProtocolViolation: Error, Hashable, Sendable, CustomStringConvertible {
    public var code: ProtocolErrorCode
    public var detail: String

    public init(_ code: ProtocolErrorCode, _ detail: String) {
        self.code = code
        self.detail = detail
    }

    public var description: String { "\(code.name): \(detail)" }
}
