import Foundation
import Hummingbird
import PorticoCore
import PorticoGateway

/// The admin dashboard under `/admin`: thin handlers over the same services as the JSON API. Every page but
/// sign-in sits behind `SignedInMiddleware`, so no handler checks who is asking; each resource's pages live in
/// their own extension file.
struct DashboardController {
    typealias Context = AdminRequestContext

    /// The version an edit form was opened with (its hidden `version` field); nil for a form without one.
    static func openedVersion(_ form: FormValues) -> Int64? { form.text("version").flatMap { Int64($0) } }

    let renderer: PageRenderer
    let signInPages: SignInController
    let users: UserService
    let groups: GroupService
    let apis: APIService
    let documents: APIDocumentService
    let accesses: AccessService
    let plans: PlanService
    let usage: UsageService
    let keys: KeyService
    let invitations: InvitationService
    let authSettings: AuthSettingsService
    let identityProviders: IdentityProviderService
    let audit: AuditService
    let overview: OverviewService
    let catalog: CatalogService
    let explain: ExplainService
    let refusals: RefusalService
    let applications: ApplicationService
    let keyPolicy: KeyPolicyService
    let policy: PolicyHolder
    let gatewayMetrics: GatewayMetrics
    /// The versions edit forms carry, so that a save over someone else's change is refused.
    let versions: RowVersionReader

    func addRoutes(to group: RouterGroup<Context>) {
        signInPages.addRoutes(to: group)
        let admin = group.group().add(middleware: SignedInMiddleware(area: .dashboard))
        admin.get { _, context in try await overviewPage(context: context) }
        addUserRoutes(to: admin)
        addGroupRoutes(to: admin)
        addAPIRoutes(to: admin)
        addAccessRoutes(to: admin)
        addPlanRoutes(to: admin)
        addKeyRoutes(to: admin)
        addIdentityProviderRoutes(to: admin)
        addAuthRoutes(to: admin)
        addAuditRoutes(to: admin)
        addCatalogRoutes(to: admin)
        addExplainRoutes(to: admin)
    }

    func overviewPage(context: Context) async throws -> Response {
        let counts = try await overview.counts()
        let mode = try await authSettings.current().mode
        let traffic = gatewayMetrics.requestsByStatus()
        let pendingRequests = try await catalog.pendingCount()
        return renderer.page(
            "overview", title: "Overview",
            [
                "counts": [
                    "users": counts.users, "tokenUsers": counts.tokenUsers, "groups": counts.groups, "apis": counts.apis,
                    "accesses": counts.accesses, "activeKeys": counts.activeKeys,
                ],
                "policyVersion": policy.isLoaded ? String(policy.snapshot.version) : "not loaded",
                "mode": mode == .jwt ? "JWT" : "API key",
                "traffic": traffic.map { ["status": $0.status, "count": $0.count] },
                "hasTraffic": !traffic.isEmpty, "pendingRequests": pendingRequests, "hasPendingRequests": pendingRequests > 0,
            ], context: context, section: "overview")
    }
}
