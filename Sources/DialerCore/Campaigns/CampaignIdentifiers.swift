/// Identifies a campaign.
///
/// Encoded as a bare string, so that an id reads the same in the store, the API and a log line.
public struct CampaignID: StringIdentifier, Codable {
    public var rawValue: String
    public init(_ rawValue: String) { self.rawValue = rawValue }
}

/// Identifies a contact list (the contacts one campaign dials).
public struct ContactListID: StringIdentifier, Codable {
    public var rawValue: String
    public init(_ rawValue: String) { self.rawValue = rawValue }
}

/// Identifies one contact (one record of a contact list).
public struct ContactID: StringIdentifier, Codable {
    public var rawValue: String
    public init(_ rawValue: String) { self.rawValue = rawValue }
}

/// Identifies one attempt to reach a contact: one hand-out of the contact to a node.
///
/// The manager chooses a new, unique id for every hand-out; results are idempotent by this id,
/// so a node that repeats a result (after a reconnect, say) changes nothing.
public struct AttemptID: StringIdentifier, Codable {
    public var rawValue: String
    public init(_ rawValue: String) { self.rawValue = rawValue }
}
