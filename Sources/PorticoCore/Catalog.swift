import Foundation

/// Who sees an API in the portal's catalog: every signed-in consumer, the members of some groups, or only
/// consumers who may already call it.
public enum CatalogVisibility: Sendable, Equatable {
    case `public`
    case groups([String])
    case `private`
}

extension CatalogVisibility: Codable {
    /// `"public"`, `"private"`, or `{"groups": ["partners"]}`.
    public init(from decoder: any Decoder) throws {
        if let text = try? decoder.singleValueContainer().decode(String.self) {
            switch text {
            case "public": self = .public
            case "private": self = .private
            default:
                throw DecodingError.dataCorrupted(
                    .init(codingPath: decoder.codingPath, debugDescription: "'\(text)' is not 'public', 'private' or {\"groups\": [...]}"))
            }
            return
        }
        let container = try decoder.container(keyedBy: GroupsKey.self)
        self = .groups(try container.decode([String].self, forKey: .groups))
    }

    public func encode(to encoder: any Encoder) throws {
        switch self {
        case .public:
            var container = encoder.singleValueContainer()
            try container.encode("public")
        case .private:
            var container = encoder.singleValueContainer()
            try container.encode("private")
        case .groups(let groups):
            var container = encoder.container(keyedBy: GroupsKey.self)
            try container.encode(groups, forKey: .groups)
        }
    }

    private enum GroupsKey: String, CodingKey { case groups }

    /// The stored kind: `public`, `groups` or `private`.
    public var kind: String {
        switch self {
        case .public: "public"
        case .groups: "groups"
        case .private: "private"
        }
    }

    /// Whether a consumer in `groups` sees the API; one who may call it always does.
    public func shows(toMemberOf groups: [String], callable: Bool) -> Bool {
        if callable { return true }
        switch self {
        case .public: return true
        case .groups(let visible): return groups.contains(where: visible.contains)
        case .private: return false
        }
    }
}

/// An API's catalog entry: who sees it, the plans a consumer may ask for, and whether requests are approved at once.
public struct APICatalogSettings: Codable, Sendable, Equatable {
    public var visibility: CatalogVisibility
    public var plans: [String]
    public var autoApprove: Bool

    public init(visibility: CatalogVisibility = .private, plans: [String] = [], autoApprove: Bool = false) {
        self.visibility = visibility
        self.plans = plans
        self.autoApprove = autoApprove
    }

    /// An API without an entry: seen only by those who may call it, nothing to ask for.
    public static let unlisted = APICatalogSettings()

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        visibility = try container.decodeIfPresent(CatalogVisibility.self, forKey: .visibility) ?? .private
        plans = try container.decodeIfPresent([String].self, forKey: .plans) ?? []
        autoApprove = try container.decodeIfPresent(Bool.self, forKey: .autoApprove) ?? false
    }
}

public enum AccessRequestStatus: String, Codable, Sendable {
    case pending, approved, rejected
}

/// A consumer's request for access to an API, and what became of it.
public struct AccessRequest: Codable, Sendable, Equatable {
    public var id: UUID
    public var userId: UUID
    public var userEmail: String
    public var apiId: UUID
    public var api: String
    public var plan: String?
    public var reason: String
    public var status: AccessRequestStatus
    /// Why it was rejected (or a note on the approval).
    public var decisionReason: String?
    public var decidedBy: String?
    public var decidedAt: Date?
    /// The grant an approval created or extended.
    public var grant: String?
    public var createdAt: Date

    public init(
        id: UUID, userId: UUID, userEmail: String, apiId: UUID, api: String, plan: String?, reason: String, status: AccessRequestStatus,
        decisionReason: String?, decidedBy: String?, decidedAt: Date?, grant: String?, createdAt: Date
    ) {
        self.id = id
        self.userId = userId
        self.userEmail = userEmail
        self.apiId = apiId
        self.api = api
        self.plan = plan
        self.reason = reason
        self.status = status
        self.decisionReason = decisionReason
        self.decidedBy = decidedBy
        self.decidedAt = decidedAt
        self.grant = grant
        self.createdAt = createdAt
    }

    /// The group of one consumer, which approvals grant APIs to.
    public static func consumerGroup(of user: UUID) -> String { "user:" + user.uuidString.lowercased() }
}
