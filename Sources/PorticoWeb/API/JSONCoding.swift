import Foundation
import Hummingbird
import NIOCore
import PorticoCore

enum JSONCoding {
    static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .iso8601
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }()

    static func decoder() -> JSONDecoder {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .custom { decoder in
            let container = try decoder.singleValueContainer()
            let text = try container.decode(String.self)
            let formatter = ISO8601DateFormatter()
            if let date = formatter.date(from: text) { return date }
            formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
            if let date = formatter.date(from: text) { return date }
            throw DecodingError.dataCorruptedError(in: container, debugDescription: "expected an ISO 8601 date-time such as 2030-01-31T12:00:00Z")
        }
        return decoder
    }

    /// Decodes a JSON request body; a malformed body is a 400 and a missing field a 422, each naming the field.
    static func decode<T: Decodable>(_ type: T.Type, from request: Request, context: some RequestContext) async throws -> T {
        let buffer: ByteBuffer
        do {
            buffer = try await request.body.collect(upTo: 1 << 20)
        } catch {
            throw PorticoError.tooLarge("the request body is larger than 1 MiB")
        }
        guard buffer.readableBytes > 0 else { throw PorticoError.malformed("a JSON body is required") }
        do {
            return try decoder().decode(T.self, from: Data(buffer.readableBytesView))
        } catch let error as DecodingError {
            throw translate(error)
        }
    }

    static func translate(_ error: DecodingError) -> PorticoError {
        func path(_ codingPath: [any CodingKey], _ key: (any CodingKey)? = nil) -> String {
            let keys = codingPath + (key.map { [$0] } ?? [])
            let text = keys.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }.joined(separator: ".")
            return text.replacingOccurrences(of: ".[", with: "[")
        }
        switch error {
        case .keyNotFound(let key, let context):
            return .invalid(field: path(context.codingPath, key), reason: "is required")
        case .valueNotFound(let type, let context):
            return .invalid(field: path(context.codingPath), reason: "must not be null (expected \(describe(type)))")
        case .typeMismatch(let type, let context):
            return .malformed("\(path(context.codingPath)): expected \(describe(type))")
        case .dataCorrupted(let context):
            if context.codingPath.isEmpty { return .malformed("the body is not valid JSON") }
            return .malformed("\(path(context.codingPath)): \(context.debugDescription)")
        @unknown default:
            return .malformed("the body could not be read")
        }
    }

    private static func describe(_ type: Any.Type) -> String {
        switch type {
        case is String.Type: "a string"
        case is Int.Type: "a whole number"
        case is Bool.Type: "true or false"
        case is [String].Type, is [Any].Type: "an array"
        default: "a value of another type"
        }
    }
}

/// A JSON response with Portico's encoder (ISO 8601 dates, camelCase fields).
struct JSONResponse<Value: Encodable>: ResponseGenerator {
    var status: HTTPResponse.Status = .ok
    let value: Value

    init(_ value: Value, status: HTTPResponse.Status = .ok) {
        self.value = value
        self.status = status
    }

    func response(from request: Request, context: some RequestContext) throws -> Response {
        try response()
    }

    func response() throws -> Response {
        let data = try JSONCoding.encoder.encode(value)
        return Response(
            status: status, headers: [.contentType: "application/json; charset=utf-8"],
            body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }
}
