/// A dialog (RFC 3261 §12): what both ends agreed on to send requests within a call.
public struct SIPDialog: Hashable, Sendable {
    public let callID: String
    public let localTag: String
    public let remoteTag: String
    /// Our address (From of our requests), with our tag.
    public let local: SIPNameAddress
    /// The peer's address (To of our requests), with its tag.
    public let remote: SIPNameAddress
    /// The CSeq of our last request in the dialog.
    public private(set) var localSequence: UInt32
    /// The CSeq of the peer's last request, if it sent one.
    public private(set) var remoteSequence: UInt32?
    /// Where in-dialog requests go (the peer's Contact), updated by target refreshes.
    public private(set) var remoteTarget: SIPURI
    /// Route headers for in-dialog requests, in order.
    public let routeSet: [SIPNameAddress]

    /// The dialog a 2xx (or 1xx with a tag) to our INVITE sets up (RFC 3261 §12.1.2):
    /// `nil` when the response lacks a To tag or a Contact.
    public static func asCaller(invite: SIPRequest, response: SIPResponse) -> SIPDialog? {
        guard let callID = invite.headers.callID, var local = invite.headers.from, let localTag = local.tag,
            let remote = response.headers.to, let remoteTag = remote.tag, let contact = response.headers.contact,
            let cseq = invite.headers.cseq
        else { return nil }
        local.tag = localTag
        return SIPDialog(
            callID: callID, localTag: localTag, remoteTag: remoteTag, local: local, remote: remote,
            localSequence: cseq.number, remoteSequence: nil, remoteTarget: contact.uri,
            routeSet: response.headers.recordRoute.reversed())
    }

    /// The dialog our 2xx to an INVITE sets up (RFC 3261 §12.1.1).
    public static func asCallee(invite: SIPRequest, localTag: String) -> SIPDialog? {
        guard let callID = invite.headers.callID, let remote = invite.headers.from, let remoteTag = remote.tag,
            var local = invite.headers.to, let contact = invite.headers.contact, let cseq = invite.headers.cseq
        else { return nil }
        local.tag = localTag
        return SIPDialog(
            callID: callID, localTag: localTag, remoteTag: remoteTag, local: local, remote: remote,
            localSequence: 0, remoteSequence: cseq.number, remoteTarget: contact.uri,
            routeSet: invite.headers.recordRoute)
    }

    init(
        callID: String, localTag: String, remoteTag: String, local: SIPNameAddress, remote: SIPNameAddress,
        localSequence: UInt32, remoteSequence: UInt32?, remoteTarget: SIPURI, routeSet: [SIPNameAddress]
    ) {
        self.callID = callID
        self.localTag = localTag
        self.remoteTag = remoteTag
        self.local = local
        self.remote = remote
        self.localSequence = localSequence
        self.remoteSequence = remoteSequence
        self.remoteTarget = remoteTarget
        self.routeSet = routeSet
    }

    /// A new request in the dialog (BYE, re-INVITE, OPTIONS), with the next CSeq.
    public mutating func request(
        _ method: String, via: SIPVia, contact: SIPURI?, body: [UInt8] = [], contentType: String? = nil
    )
        -> SIPRequest
    {
        // CSeq stays below 2³¹ (RFC 3261 §8.1.1.5); wrapping is not expected within a call.
        localSequence = localSequence < (1 << 31) - 1 ? localSequence + 1 : localSequence
        return build(method, cseq: localSequence, via: via, contact: contact, body: body, contentType: contentType)
    }

    /// The ACK for a 2xx to the INVITE whose CSeq was `inviteSequence` (RFC 3261 §13.2.2.4): a
    /// new branch, the INVITE's CSeq number.
    public func ack(inviteSequence: UInt32, via: SIPVia, body: [UInt8] = []) -> SIPRequest {
        build(
            "ACK", cseq: inviteSequence, via: via, contact: nil, body: body,
            contentType: body.isEmpty ? nil : "application/sdp")
    }

    private func build(
        _ method: String, cseq: UInt32, via: SIPVia, contact: SIPURI?, body: [UInt8], contentType: String?
    )
        -> SIPRequest
    {
        var headers = SIPHeaders()
        headers.add("Via", via.description)
        headers.add("Max-Forwards", "70")
        for route in routeSet { headers.add("Route", route.description) }
        headers.add("From", local.description)
        headers.add("To", remote.description)
        headers.add("Call-ID", callID)
        headers.add("CSeq", "\(cseq) \(method)")
        if let contact { headers.add("Contact", "<\(contact)>") }
        if let contentType { headers.add("Content-Type", contentType) }
        return SIPRequest(method: method, uri: remoteTarget, headers: headers, body: body)
    }

    /// Checks a request from the peer in this dialog: its CSeq must grow (RFC 3261 §12.2.2);
    /// a target refresh (re-INVITE) moves the remote target to its Contact.
    public mutating func accept(_ request: SIPRequest) -> Bool {
        guard let cseq = request.headers.cseq else { return false }
        if request.method != "ACK", request.method != "CANCEL" {
            if let remoteSequence, cseq.number <= remoteSequence { return false }
            remoteSequence = cseq.number
        }
        if request.method == "INVITE", let contact = request.headers.contact { remoteTarget = contact.uri }
        return true
    }
}
