import Foundation

/// Turns a `DecodingError` into the field it is about and a plain reason, for the error
/// messages of the simulator's JSON files (scenarios, trunk populations).
enum JSONDecodingProblem {
    static func describe(_ error: DecodingError, data: Data) -> (field: String?, reason: String) {
        switch error {
        case .keyNotFound(let key, let context):
            return (field(context.codingPath + [key]), "missing (required)")
        case .typeMismatch(let type, let context):
            return (field(context.codingPath), "expected \(describe(type))")
        case .valueNotFound(let type, let context):
            return (field(context.codingPath), "expected \(describe(type)), found null")
        case .dataCorrupted(let context) where context.codingPath.isEmpty:
            return (nil, "not valid JSON" + syntaxErrorLocation(data))
        case .dataCorrupted(let context):
            return (field(context.codingPath), context.debugDescription)
        @unknown default:
            return (nil, "\(error)")
        }
    }

    /// `outcomes.live`, `agents[2].skills`, or nil for the document itself.
    static func field(_ path: [any CodingKey]) -> String? {
        var text = ""
        for key in path {
            if let index = key.intValue {
                text += "[\(index)]"
            } else {
                text += text.isEmpty ? key.stringValue : "." + key.stringValue
            }
        }
        return text.isEmpty ? nil : text
    }

    private static func describe(_ type: Any.Type) -> String {
        switch type {
        case is Double.Type: "a number"
        case is Int.Type, is UInt64.Type: "a whole number"
        case is String.Type: "a string"
        case is Bool.Type: "true or false"
        default: "\(type)"
        }
    }

    /// JSONDecoder does not say where the syntax breaks; JSONSerialization gives a character
    /// offset, turned here into a line and column.
    private static func syntaxErrorLocation(_ data: Data) -> String {
        do {
            _ = try JSONSerialization.jsonObject(with: data)
            return ""
        } catch {
            let message = (error as NSError).userInfo[NSDebugDescriptionErrorKey] as? String ?? ""
            guard let range = message.range(of: "character "),
                let offset = Int(message[range.upperBound...].prefix { $0.isNumber })
            else { return message.isEmpty ? "" : " (\(message))" }
            let prefix = data.prefix(offset)
            let line = prefix.count { $0 == UInt8(ascii: "\n") } + 1
            let column = offset - (prefix.lastIndex(of: UInt8(ascii: "\n")).map { $0 + 1 } ?? 0) + 1
            return " (near line \(line), column \(column))"
        }
    }
}
