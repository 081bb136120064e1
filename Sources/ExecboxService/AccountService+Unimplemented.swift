public import ExecboxAPI
public import ExecboxRPC

/// Alert rules and webhooks (with budgets and analytics) arrive in a later issue.
extension AccountService {
    static func notYet(_ what: String) -> RPCError {
        RPCError(code: .unimplemented, message: "\(what) are not available on this server yet")
    }

    public func createAlertRule(request: CreateAlertRuleRequest, context: ServerContext) async throws
        -> CreateAlertRuleResponse
    { throw Self.notYet("alert rules") }

    public func listAlertRules(request: ListAlertRulesRequest, context: ServerContext) async throws
        -> ListAlertRulesResponse
    { throw Self.notYet("alert rules") }

    public func deleteAlertRule(request: DeleteAlertRuleRequest, context: ServerContext) async throws
        -> DeleteAlertRuleResponse
    { throw Self.notYet("alert rules") }

    public func createWebhook(request: CreateWebhookRequest, context: ServerContext) async throws
        -> CreateWebhookResponse
    { throw Self.notYet("webhooks") }

    public func listWebhooks(request: ListWebhooksRequest, context: ServerContext) async throws
        -> ListWebhooksResponse
    { throw Self.notYet("webhooks") }

    public func deleteWebhook(request: DeleteWebhookRequest, context: ServerContext) async throws
        -> DeleteWebhookResponse
    { throw Self.notYet("webhooks") }
}
