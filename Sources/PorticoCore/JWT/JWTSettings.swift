import Foundation

/// JWT settings as the admin API takes them and the database stores them (Traefik Hub's names). Unknown fields
/// are refused, so a typo is an error rather than a silently ignored option. `compiled()` checks everything
/// that can be checked without I/O.
public struct JWTSettings: Codable, Sendable, Equatable {
    public var signingSecret: String?
    public var signingSecretBase64Encoded: Bool?
    public var publicKey: String?
    public var jwksFile: String?
    public var jwksUrl: String?
    public var algorithms: [String]?
    public var issuer: String?
    public var issuers: [String]?
    public var audiences: [String]?
    public var leewaySeconds: Int?
    public var jwksCacheSeconds: Int?
    public var tokenSources: TokenSources?
    public var forwardHeaders: [String: String]?
    public var stripAuthorizationHeader: Bool?
    public var claims: String?
    public var strictness: Strictness?
    public var anonymousGroup: String?
    public var usernameClaim: String?
    public var clientConfig: ClientConfig?

    /// Where the gateway looks for a token, in this order: header, query parameter, form field, cookie.
    public struct TokenSources: Codable, Sendable, Equatable {
        public var header: String?
        public var query: String?
        public var form: String?
        public var cookie: String?

        public init(header: String? = "Authorization", query: String? = nil, form: String? = nil, cookie: String? = nil) {
            self.header = header
            self.query = query
            self.form = form
            self.cookie = cookie
        }
    }

    /// How JWKS URLs are fetched: timeout, retries and the TLS trust to use.
    public struct ClientConfig: Codable, Sendable, Equatable {
        public var timeoutSeconds: Int?
        public var maxRetries: Int?
        public var caBundle: String?
        public var insecureSkipVerify: Bool?

        public init(timeoutSeconds: Int? = nil, maxRetries: Int? = nil, caBundle: String? = nil, insecureSkipVerify: Bool? = nil) {
            self.timeoutSeconds = timeoutSeconds
            self.maxRetries = maxRetries
            self.caBundle = caBundle
            self.insecureSkipVerify = insecureSkipVerify
        }

        /// The defaults applied (5 s, 3 retries) and the bounds checked; errors name `field`'s members.
        public func compiled(field: String) throws(PorticoError) -> JWTConfig.Client {
            if let bundle = caBundle, !bundle.hasPrefix("/"), !bundle.contains("-----BEGIN CERTIFICATE") {
                throw PorticoError.invalid(field: "\(field).caBundle", reason: "must be an absolute path or PEM certificates")
            }
            func bounded(_ value: Int, _ range: ClosedRange<Int>, _ name: String) throws(PorticoError) -> Int {
                guard range.contains(value) else {
                    throw PorticoError.invalid(field: "\(field).\(name)", reason: "must be between \(range.lowerBound) and \(range.upperBound)")
                }
                return value
            }
            return JWTConfig.Client(
                timeoutSeconds: try bounded(timeoutSeconds ?? 5, 1...60, "timeoutSeconds"),
                maxRetries: try bounded(maxRetries ?? 3, 0...10, "maxRetries"), caBundle: caBundle,
                insecureSkipVerify: insecureSkipVerify ?? false)
        }
    }

    /// What a missing or bad token means: refused (strict), anonymous when missing (optional), anonymous either way
    /// (permissive).
    public enum Strictness: String, Codable, Sendable, Hashable {
        case strict, optional, permissive
    }

    public init() {}

    public init(from decoder: any Decoder) throws {
        try StrictDecoding.rejectUnknownFields(
            in: decoder, known: CodingKeys.allCases.map(\.stringValue), prefix: "jwt.", reason: "is not a JWT setting")
        let container = try decoder.container(keyedBy: CodingKeys.self)
        signingSecret = try container.decodeIfPresent(String.self, forKey: .signingSecret)
        signingSecretBase64Encoded = try container.decodeIfPresent(Bool.self, forKey: .signingSecretBase64Encoded)
        publicKey = try container.decodeIfPresent(String.self, forKey: .publicKey)
        jwksFile = try container.decodeIfPresent(String.self, forKey: .jwksFile)
        jwksUrl = try container.decodeIfPresent(String.self, forKey: .jwksUrl)
        algorithms = try container.decodeIfPresent([String].self, forKey: .algorithms)
        issuer = try container.decodeIfPresent(String.self, forKey: .issuer)
        issuers = try container.decodeIfPresent([String].self, forKey: .issuers)
        audiences = try container.decodeIfPresent([String].self, forKey: .audiences)
        leewaySeconds = try container.decodeIfPresent(Int.self, forKey: .leewaySeconds)
        jwksCacheSeconds = try container.decodeIfPresent(Int.self, forKey: .jwksCacheSeconds)
        tokenSources = try container.decodeIfPresent(TokenSources.self, forKey: .tokenSources)
        forwardHeaders = try container.decodeIfPresent([String: String].self, forKey: .forwardHeaders)
        stripAuthorizationHeader = try container.decodeIfPresent(Bool.self, forKey: .stripAuthorizationHeader)
        claims = try container.decodeIfPresent(String.self, forKey: .claims)
        strictness = try container.decodeIfPresent(Strictness.self, forKey: .strictness)
        anonymousGroup = try container.decodeIfPresent(String.self, forKey: .anonymousGroup)
        usernameClaim = try container.decodeIfPresent(String.self, forKey: .usernameClaim)
        clientConfig = try container.decodeIfPresent(ClientConfig.self, forKey: .clientConfig)
    }

    private enum CodingKeys: String, CodingKey, CaseIterable {
        case signingSecret, signingSecretBase64Encoded, publicKey, jwksFile, jwksUrl, algorithms, issuer, issuers, audiences
        case leewaySeconds, jwksCacheSeconds, tokenSources, forwardHeaders, stripAuthorizationHeader, claims, strictness
        case anonymousGroup, usernameClaim, clientConfig
    }

    /// The settings as a read shows them: a stored encrypted secret appears only as "set".
    public var shown: JWTSettings {
        var copy = self
        copy.signingSecret = signingSecret.map { SecretReference(stored: $0)?.shown ?? "set" }
        return copy
    }

    /// Checks everything that needs no I/O (one key source, algorithms that fit it, header names, claim paths, bounds)
    /// and returns what the gateway verifies with.
    public func compiled() throws(PorticoError) -> JWTConfig {
        try JWTSettingsCompiler(self).compile()
    }
}

/// Validated JWT settings, ready for the gateway.
public struct JWTConfig: Sendable, Hashable {
    /// Where the verification keys come from; exactly one per configuration.
    public enum KeySource: Sendable, Hashable {
        case signingSecret(SecretReference, base64Encoded: Bool)
        case publicKey(String)
        /// A path, or the JWK set's JSON inline.
        case jwksFile(String)
        /// An absolute URL, or a path resolved against the token's (trusted) issuer.
        case jwksURL(String)

        /// Whose keys a JWKS URL fetches, to name in an outage: the URL's host, or the path's issuers.
        public var jwksHost: String? {
            guard case .jwksURL(let url) = self else { return nil }
            return url.hasPrefix("/") ? "the trusted issuers" : URLComponents(string: url)?.host ?? url
        }
    }

    /// One place a token may be found.
    public enum TokenSource: Sendable, Hashable {
        case header(String)
        case query(String)
        case form(String)
        case cookie(String)
    }

    /// A header the gateway sets upstream from a claim of the verified token.
    public struct ForwardHeader: Sendable, Hashable {
        public let header: String
        public let claim: ClaimPath

        /// Header → claim path pairs, checked (a header name the gateway does not reserve, a valid path), sorted.
        public static func compiled(_ pairs: [String: String], field: String) throws(PorticoError) -> [ForwardHeader] {
            try pairs.sorted { $0.key < $1.key }.map { header, claim throws(PorticoError) in
                guard HeaderNameRules.isValid(header) else { throw PorticoError.invalid(field: field, reason: "'\(header)' is not a header name") }
                guard !HeaderNameRules.reserved.contains(header.lowercased()) else {
                    throw PorticoError.invalid(field: field, reason: "'\(header)' cannot be set from a claim")
                }
                do throws(ClaimPath.Invalid) {
                    return ForwardHeader(header: header, claim: try ClaimPath(claim))
                } catch {
                    throw PorticoError.invalid(field: "\(field).\(header)", reason: error.reason)
                }
            }
        }
    }

    /// `ClientConfig` with its defaults applied and its bounds checked.
    public struct Client: Sendable, Hashable {
        public let timeoutSeconds: Int
        public let maxRetries: Int
        public let caBundle: String?
        public let insecureSkipVerify: Bool
    }

    /// Nil in JWT mode without JWT settings: only the trusted identity providers' tokens are accepted, and the
    /// rest of this configuration is the defaults (`trustedProvidersOnly`).
    public let keySource: KeySource?
    public let algorithms: [JWTAlgorithmName]
    /// Whether `algorithms` was given, rather than the default for the key source.
    public let algorithmsGiven: Bool
    public let rules: RegisteredClaimRules
    public let jwksCacheSeconds: Int
    public let tokenSources: [TokenSource]
    public let forwardHeaders: [ForwardHeader]
    public let stripAuthorizationHeader: Bool
    public let expression: ClaimsExpression?
    public let strictness: JWTSettings.Strictness
    public let anonymousGroup: String
    public let usernameClaim: ClaimPath?
    public let client: Client

    /// JWT mode with no key source of its own (`"jwt": null`): tokens are taken from the Authorization header, strictly,
    /// and verified only by the identity providers that accept tokens.
    public static let trustedProvidersOnly = JWTConfig(
        keySource: nil, algorithms: JWTAlgorithmName.asymmetric, algorithmsGiven: false,
        rules: RegisteredClaimRules(issuers: [], audiences: [], leewaySeconds: 0), jwksCacheSeconds: 300,
        tokenSources: [.header(HeaderNames.authorization)], forwardHeaders: [], stripAuthorizationHeader: false, expression: nil,
        strictness: .strict, anonymousGroup: "anonymous", usernameClaim: nil,
        client: Client(timeoutSeconds: 5, maxRetries: 3, caBundle: nil, insecureSkipVerify: false))

    /// This configuration with other registered-claim rules (an ID token's: its provider's issuer, the client id).
    public func withRules(_ rules: RegisteredClaimRules) -> JWTConfig {
        JWTConfig(
            keySource: keySource, algorithms: algorithms, algorithmsGiven: algorithmsGiven, rules: rules, jwksCacheSeconds: jwksCacheSeconds,
            tokenSources: tokenSources, forwardHeaders: forwardHeaders, stripAuthorizationHeader: stripAuthorizationHeader,
            expression: expression, strictness: strictness, anonymousGroup: anonymousGroup, usernameClaim: usernameClaim, client: client)
    }

    /// Whether the JWKS URL is a path to resolve against the token's issuer.
    public var jwksURLIsRelative: Bool {
        if case .jwksURL(let url) = keySource { return url.hasPrefix("/") }
        return false
    }
}

private struct JWTSettingsCompiler {
    let settings: JWTSettings

    init(_ settings: JWTSettings) { self.settings = settings }

    func compile() throws(PorticoError) -> JWTConfig {
        let keySource = try self.keySource()
        let issuers = try self.issuers()
        let algorithms = try self.algorithms(for: keySource)
        if case .jwksURL(let url) = keySource, url.hasPrefix("/"), issuers.isEmpty {
            throw PorticoError.invalid(
                field: "jwt.jwksUrl", reason: "a path is resolved against the token's issuer, so issuer (or issuers) must be set")
        }
        let audiences = try nonEmptyStrings(settings.audiences ?? [], field: "jwt.audiences")
        let leeway = try bounded(settings.leewaySeconds ?? 0, 0...600, field: "jwt.leewaySeconds")
        let cacheSeconds = try bounded(settings.jwksCacheSeconds ?? 300, 0...86_400, field: "jwt.jwksCacheSeconds")
        let expression: ClaimsExpression?
        if let text = settings.claims, !text.trimmingCharacters(in: .whitespaces).isEmpty {
            do { expression = try ClaimsExpression(text) } catch { throw PorticoError.invalid(field: "jwt.claims", reason: error.description) }
        } else {
            expression = nil
        }
        let anonymousGroup = settings.anonymousGroup ?? "anonymous"
        do { _ = try Validation.name(anonymousGroup) } catch {
            throw PorticoError.invalid(field: "jwt.anonymousGroup", reason: "must be a group name")
        }
        return JWTConfig(
            keySource: keySource, algorithms: algorithms, algorithmsGiven: settings.algorithms != nil,
            rules: RegisteredClaimRules(issuers: issuers, audiences: audiences, leewaySeconds: Double(leeway)),
            jwksCacheSeconds: cacheSeconds, tokenSources: try tokenSources(), forwardHeaders: try forwardHeaders(),
            stripAuthorizationHeader: settings.stripAuthorizationHeader ?? false, expression: expression,
            strictness: settings.strictness ?? .strict, anonymousGroup: anonymousGroup,
            usernameClaim: try settings.usernameClaim.map { text throws(PorticoError) in try path(text, field: "jwt.usernameClaim") },
            client: try (settings.clientConfig ?? .init()).compiled(field: "jwt.clientConfig"))
    }

    private func keySource() throws(PorticoError) -> JWTConfig.KeySource {
        let given: [(field: String, value: String)] = [
            ("signingSecret", settings.signingSecret), ("publicKey", settings.publicKey),
            ("jwksFile", settings.jwksFile), ("jwksUrl", settings.jwksUrl),
        ].compactMap { field, value in
            guard let value, !value.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else { return nil }
            return (field, value)
        }
        guard let source = given.first else {
            throw PorticoError.invalid(field: "jwt", reason: "exactly one key source is required: signingSecret, publicKey, jwksFile or jwksUrl")
        }
        guard given.count == 1 else {
            throw PorticoError.invalid(
                field: given.map { "jwt.\($0.field)" }.joined(separator: ", "),
                reason: "only one key source may be set, found \(given.count)")
        }
        if settings.signingSecretBase64Encoded == true, source.field != "signingSecret" {
            throw PorticoError.invalid(field: "jwt.signingSecretBase64Encoded", reason: "applies only to signingSecret")
        }
        switch source.field {
        case "signingSecret":
            let reference = try SecretReference.checked(source.value, field: "jwt.signingSecret")
            return .signingSecret(reference, base64Encoded: settings.signingSecretBase64Encoded ?? false)
        case "publicKey":
            guard source.value.contains("-----BEGIN") else {
                throw PorticoError.invalid(field: "jwt.publicKey", reason: "must be a PEM public key (-----BEGIN PUBLIC KEY-----…)")
            }
            return .publicKey(source.value)
        case "jwksFile":
            let value = source.value.trimmingCharacters(in: .whitespacesAndNewlines)
            guard value.hasPrefix("/") || value.hasPrefix("{") else {
                throw PorticoError.invalid(field: "jwt.jwksFile", reason: "must be an absolute path or the JWK set's JSON")
            }
            return .jwksFile(value)
        default:
            let value = source.value.trimmingCharacters(in: .whitespacesAndNewlines)
            if value.hasPrefix("/") { return .jwksURL(value) }
            guard let url = URL(string: value), let scheme = url.scheme?.lowercased(), ["http", "https"].contains(scheme), url.host != nil else {
                throw PorticoError.invalid(field: "jwt.jwksUrl", reason: "must be an http(s) URL or a path such as /.well-known/jwks.json")
            }
            return .jwksURL(value)
        }
    }

    private func issuers() throws(PorticoError) -> [String] {
        var issuers = try nonEmptyStrings(settings.issuers ?? [], field: "jwt.issuers")
        if let issuer = settings.issuer {
            guard !issuer.isEmpty else { throw PorticoError.invalid(field: "jwt.issuer", reason: "must not be empty") }
            if !issuers.contains(issuer) { issuers.insert(issuer, at: 0) }
        }
        return issuers
    }

    private func algorithms(for source: JWTConfig.KeySource) throws(PorticoError) -> [JWTAlgorithmName] {
        let symmetric: Bool
        if case .signingSecret = source { symmetric = true } else { symmetric = false }
        guard let names = settings.algorithms else { return symmetric ? JWTAlgorithmName.hmac : JWTAlgorithmName.asymmetric }
        guard !names.isEmpty else { throw PorticoError.invalid(field: "jwt.algorithms", reason: "must name at least one algorithm") }
        var algorithms: [JWTAlgorithmName] = []
        for name in names {
            guard let algorithm = JWTAlgorithmName(rawValue: name) else {
                let reason =
                    name.lowercased() == "none"
                    ? "'none' is never accepted"
                    : "'\(name)' is not supported (\(JWTAlgorithmName.allCases.map(\.rawValue).joined(separator: ", ")))"
                throw PorticoError.invalid(field: "jwt.algorithms", reason: reason)
            }
            if symmetric, algorithm.family != .hmac {
                throw PorticoError.invalid(field: "jwt.algorithms", reason: "\(name) needs a public key; signingSecret takes HS256, HS384 or HS512")
            }
            if !symmetric, algorithm.family == .hmac {
                throw PorticoError.invalid(
                    field: "jwt.algorithms", reason: "\(name) is an HMAC algorithm and is never accepted with a public key source")
            }
            if !algorithms.contains(algorithm) { algorithms.append(algorithm) }
        }
        return algorithms
    }

    private func tokenSources() throws(PorticoError) -> [JWTConfig.TokenSource] {
        let sources = settings.tokenSources ?? .init()
        var result: [JWTConfig.TokenSource] = []
        if let header = sources.header, !header.isEmpty {
            guard HeaderNameRules.isValid(header) else {
                throw PorticoError.invalid(field: "jwt.tokenSources.header", reason: "'\(header)' is not a header name")
            }
            result.append(.header(header))
        }
        if let query = sources.query, !query.isEmpty { result.append(.query(query)) }
        if let form = sources.form, !form.isEmpty { result.append(.form(form)) }
        if let cookie = sources.cookie, !cookie.isEmpty { result.append(.cookie(cookie)) }
        guard !result.isEmpty else {
            throw PorticoError.invalid(field: "jwt.tokenSources", reason: "at least one of header, query, form or cookie is required")
        }
        return result
    }

    private func forwardHeaders() throws(PorticoError) -> [JWTConfig.ForwardHeader] {
        try JWTConfig.ForwardHeader.compiled(settings.forwardHeaders ?? [:], field: "jwt.forwardHeaders")
    }

    private func path(_ text: String, field: String) throws(PorticoError) -> ClaimPath {
        do { return try ClaimPath(text) } catch { throw PorticoError.invalid(field: field, reason: error.reason) }
    }

    private func nonEmptyStrings(_ values: [String], field: String) throws(PorticoError) -> [String] {
        guard !values.contains(where: \.isEmpty) else { throw PorticoError.invalid(field: field, reason: "must not contain an empty value") }
        return values
    }

    private func bounded(_ value: Int, _ range: ClosedRange<Int>, field: String) throws(PorticoError) -> Int {
        guard range.contains(value) else {
            throw PorticoError.invalid(field: field, reason: "must be between \(range.lowerBound) and \(range.upperBound)")
        }
        return value
    }
}
