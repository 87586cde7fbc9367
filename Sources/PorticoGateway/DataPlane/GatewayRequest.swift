import NIOCore
import NIOHTTP1
import PorticoCore

/// One client request as the gateway decides on it: the head, split once into path and query, and, when a
/// form token source needs it, the body read so far.
package struct GatewayRequest: Sendable {
    let head: HTTPRequestHead
    let path: Substring
    let query: Substring?
    let clientAddress: String?
    var formBody: ByteBuffer?

    package init(head: HTTPRequestHead, clientAddress: String?) {
        self.head = head
        let uri = head.uri[...]
        if let mark = uri.utf8.firstIndex(of: UInt8(ascii: "?")) {
            path = uri[..<mark]
            query = uri[uri.utf8.index(after: mark)...]
        } else {
            path = uri
            query = nil
        }
        self.clientAddress = clientAddress
    }

    var headers: HTTPHeaders { head.headers }
    /// The `Host` header, which HTTP/1.1 requires and the routes may name.
    var authority: String? { head.headers.first(name: HeaderNames.host) }
}
