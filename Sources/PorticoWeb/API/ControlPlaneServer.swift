import HTTPTypes
import Hummingbird
import HummingbirdCore
import NIOCore
import NIOHTTP1
import NIOHTTPTypes
import PorticoCore

/// The control plane's HTTP/1 server: request heads up to the limit the gateway has (`RequestHeadLimit`), and a
/// 431 beyond it as the gateway answers, where Hummingbird alone would say 400.
enum ControlPlaneServer {
    static var http1: HTTPServerBuilder {
        .http1(
            configuration: .init(
                additionalChannelHandlers: [HeadTooLargeAnswer()],
                httpDecoderConfiguration: .init(maxHeaderFieldSize: RequestHeadLimit.bytes, maxHeaderListSize: RequestHeadLimit.bytes)))
    }
}

/// Answers a request head over the decoder's limit with 431 and closes the connection; any other error goes on.
final class HeadTooLargeAnswer: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundOut = HTTPResponsePart

    private static let body = #"{"error":"headers_too_large","message":"the request head is larger than 32 KiB"}"#

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        guard let parserError = error as? HTTPParserError, parserError == .headerOverflow else {
            context.fireErrorCaught(error)
            return
        }
        let body = ByteBuffer(string: Self.body)
        let head = HTTPResponse(
            status: .init(code: 431, reasonPhrase: "Request Header Fields Too Large"),
            headerFields: [.contentType: "application/json; charset=utf-8", .contentLength: String(body.readableBytes), .connection: "close"])
        context.write(wrapOutboundOut(.head(head)), promise: nil)
        context.write(wrapOutboundOut(.body(body)), promise: nil)
        context.writeAndFlush(wrapOutboundOut(.end(nil))).assumeIsolated().whenComplete { _ in context.close(promise: nil) }
    }
}
