import DialerCore
import Foundation
import Testing

@Suite("Answering-machine detection thresholds as campaign settings")
struct AMDSettingsTests {
    @Test func defaultsAreAsterisksAndMissingKeysTakeThem() throws {
        let settings = try JSONDecoder().decode(CampaignSettings.self, from: Data(#"{"status":"enabled"}"#.utf8))
        #expect(settings.answeringMachineDetection == AMDSettings())
        let partial = try JSONDecoder().decode(
            CampaignSettings.self,
            from: Data(#"{"answeringMachineDetection":{"initialSilence":3,"maximumWords":2}}"#.utf8))
        var expected = AMDSettings()
        expected.initialSilenceMilliseconds = 3000
        expected.maximumWords = 2
        #expect(partial.answeringMachineDetection == expected)
        #expect(partial.validate().isEmpty)
    }

    @Test func durationsAreWrittenInSecondsAndRoundTrip() throws {
        var detection = AMDSettings()
        detection.greetingMilliseconds = 1750
        detection.betweenWordsSilenceMilliseconds = 60
        detection.silenceThreshold = 128
        let settings = CampaignSettings(answeringMachine: .hangUp, answeringMachineDetection: detection)
        let data = try JSONEncoder().encode(settings)
        #expect(try JSONDecoder().decode(CampaignSettings.self, from: data) == settings)
        let json = try #require(JSONSerialization.jsonObject(with: data) as? [String: Any])
        let written = try #require(json["answeringMachineDetection"] as? [String: Any])
        #expect(written["greeting"] as? Double == 1.75)
        #expect(written["betweenWordsSilence"] as? Double == 0.06)
        #expect(written["initialSilence"] as? Double == 2.5)
        #expect(written["silenceThreshold"] as? Int == 128)
        #expect(written["maximumWords"] as? Int == 3)
        #expect(written.count == AMDSettings.fields.count)
    }

    @Test func outOfRangeThresholdsNameTheField() {
        var detection = AMDSettings()
        detection.initialSilenceMilliseconds = 20_000
        detection.maximumWords = 0
        detection.silenceThreshold = 40_000
        let errors = CampaignSettings(answeringMachineDetection: detection).validate()
        #expect(
            errors.map(\.description) == [
                "answeringMachineDetection.initialSilence: must be 0.1 s to 10 s (was 20 s)",
                "answeringMachineDetection.maximumWords: must be 1 to 20 (was 0)",
                "answeringMachineDetection.silenceThreshold: must be 1 to 32767 (was 40000)",
            ])
    }

    @Test func everyFieldIsRangeChecked() {
        for field in AMDSettings.fields {
            for bad in [field.range.lowerBound - 1, field.range.upperBound + 1] {
                var detection = AMDSettings()
                detection[keyPath: field.keyPath] = bad
                let errors = CampaignSettings(answeringMachineDetection: detection).validate()
                #expect(errors.map(\.field) == ["answeringMachineDetection.\(field.name)"])
            }
            for good in [field.range.lowerBound, field.range.upperBound] {
                var detection = AMDSettings()
                detection[keyPath: field.keyPath] = good
                #expect(CampaignSettings(answeringMachineDetection: detection).validate().isEmpty)
            }
        }
    }

    @Test func numbersThatCannotBeConvertedAreDecodingErrors() {
        for json in [
            #"{"answeringMachineDetection":{"greeting":-1}}"#,
            #"{"answeringMachineDetection":{"greeting":1e300}}"#,
            #"{"answeringMachineDetection":{"maximumWords":1.5}}"#,
            #"{"answeringMachineDetection":{"silenceThreshold":99999999999999999999}}"#,
            #"{"answeringMachineDetection":{"totalAnalysis":"five"}}"#,
        ] {
            #expect(throws: DecodingError.self, "\(json)") {
                _ = try JSONDecoder().decode(CampaignSettings.self, from: Data(json.utf8))
            }
        }
    }
}
