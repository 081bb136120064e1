import ArgumentParser
import ExecboxAPI
import ExecboxGateway

/// `execbox usage`: today's sessions against the account's limits.
struct UsageCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "usage",
        abstract: "Show today's usage and your limits.",
        discussion: """
            Counts the whole account; -1 means unlimited.

            Examples:
              execbox usage
              execbox usage --json | jq .sessions_today
            """
    )

    @OptionGroup var client: ClientOptions

    func run() async throws {
        let usage = try await APIClient.with(client) { api in try await api.accounts.getUsage(GetUsageRequest()) }
        if client.json { return StandardStream.output.writeLine(LegacyJSON.usage(usage).rendered(pretty: true)) }
        let limits = usage.limits ?? TierLimits()
        func limit(_ value: Int64, _ unit: String = "") -> String { value < 0 ? "unlimited" : "\(value)\(unit)" }
        StandardStream.output.writeLine("tier: \(LegacyJSON.tier(usage.tier))")
        var table = TextTable("", "USED", "LIMIT")
        table.add("sessions today", String(usage.sessionsToday), limit(limits.dailyLimit))
        table.add("active sessions", String(usage.activeSessions), limit(limits.concurrentLimit))
        table.add("session length", "", limit(limits.maxDurationMs < 0 ? -1 : limits.maxDurationMs / 1000, " s"))
        table.add("session memory", "", limit(limits.maxMemoryMb, " MiB"))
        table.add(
            "cost this month", "\(usage.periodCostCents) ¢", usage.monthlyCostLimitCents.map { "\($0) ¢" } ?? "none")
        table.print()
    }
}
