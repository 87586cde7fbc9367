import Foundation
import Hummingbird
import Logging
import NIOCore
import PorticoCore

/// The one place where errors become HTTP answers: `{"error": code, "message": text}`.
public struct JSONErrorMiddleware<Context: RequestContext>: RouterMiddleware {
    public init() {}

    public func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as PorticoError {
            return Self.response(status: Self.status(of: error), code: error.code, message: error.message, extraHeaders: Self.headers(of: error))
        } catch let error as HTTPError {
            return Self.response(status: error.status, code: Self.code(of: error.status), message: error.body ?? error.status.reasonPhrase)
        } catch {
            context.logger.error("request failed", metadata: ["error": "\(String(reflecting: error))"])
            return Self.response(status: .internalServerError, code: "internal_error", message: "the request failed; see the server log")
        }
    }

    /// The HTTP status each `PorticoError` answers with: the one place that mapping lives.
    public static func status(of error: PorticoError) -> HTTPResponse.Status {
        switch error {
        case .malformed: .badRequest
        case .invalid: .unprocessableContent
        case .notFound: .notFound
        case .duplicate, .conflict: .conflict
        case .unauthenticated: .unauthorized
        case .forbidden: .forbidden
        case .unavailable: .serviceUnavailable
        case .tooLarge: .contentTooLarge
        case .changedSinceRead: .preconditionFailed
        }
    }

    static func headers(of error: PorticoError) -> HTTPFields {
        if case .unauthenticated = error { return [.wwwAuthenticate: #"Bearer realm="portico-admin""#] }
        return [:]
    }

    static func code(of status: HTTPResponse.Status) -> String {
        switch status {
        case .notFound: "not_found"
        case .methodNotAllowed: "method_not_allowed"
        case .badRequest: "malformed_request"
        case .contentTooLarge: "too_large"
        default: status.code >= 500 ? "internal_error" : "bad_request"
        }
    }

    static func response(status: HTTPResponse.Status, code: String, message: String, extraHeaders: HTTPFields = [:]) -> Response {
        let data = (try? JSONEncoder().encode(["error": code, "message": message])) ?? Data()
        var headers: HTTPFields = [.contentType: "application/json; charset=utf-8"]
        headers.append(contentsOf: extraHeaders)
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }
}
