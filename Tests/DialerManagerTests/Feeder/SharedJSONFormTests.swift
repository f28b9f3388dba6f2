import DialerCore
import DialerRuntime
import Foundation
import Testing

@Suite("The API's JSON form, shared with the cluster protocol")
struct SharedJSONFormTests {
    /// Nodes decode campaign settings the manager encoded: every field must come back, the
    /// acronym keys (`caller_id`, `daily_cap_per_number`) included.
    @Test func campaignSettingsComeBackWhole() throws {
        var settings = CampaignSettings(mode: .predictive, dialRate: 4, attemptsPerFiveSeconds: 7)
        settings.callerID = CallerIDSettings(
            defaultNumber: "+15550001111", pool: [PooledCallerID(number: "+15550002222", localPrefixes: ["+1555"])],
            rotation: .leastUsed, dailyCapPerNumber: 100)
        settings.answeringMachine = .leaveMessage(message: "promo")
        let data = try APIJSON.encoder().encode(settings)
        let text = String(decoding: data, as: UTF8.self)
        #expect(text.contains("\"caller_id\""))
        #expect(try APIJSON.decoder().decode(CampaignSettings.self, from: data) == settings)
    }
}
