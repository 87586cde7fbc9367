/// A gateway client connection's logic as a value: which step of which request it is at, whether the connection
/// stays open, what to do with each piece that arrives. Each event returns what to do; `GatewayConnectionHandler`
/// carries that out and holds everything that is I/O (channels, buffers, the decider). No I/O here, so the tests
/// drive it directly.
struct ProxyConnectionStateMachine: Sendable {
    enum Phase: Sendable, Equatable {
        /// Between requests: the next head is read.
        case idle
        /// The decision is being made (perhaps suspended); the body, if any, waits unread.
        case deciding
        /// A form token source needs the urlencoded body before deciding.
        case readingForm
        /// Admitted; an upstream connection is on its way.
        case connecting
        /// The request streams to the upstream, and the answer back.
        case forwarding
        /// The answer is out; the rest of the request body is read and dropped.
        case draining
        /// The connection is closing or closed: nothing more is read or answered.
        case closed
    }

    /// How an upstream exchange failed.
    enum UpstreamFailure: Sendable, Equatable {
        case closed
        case error
        case timeout
    }

    /// Where the answer of the gateway's own leaves the connection.
    enum AfterAnswer: Sendable, Equatable {
        /// The request was read whole: the next one may be taken.
        case finished
        /// The rest of the body is still to come, and is dropped.
        case draining
    }

    private(set) var phase = Phase.idle
    /// The current request (or the last one) keeps the connection open after its answer.
    private(set) var keepAlive = true
    private(set) var requestComplete = false
    /// An answer to the current request has begun going out.
    private(set) var responseStarted = false
    /// Body data read from the client for the current request (chunk framing left out).
    private(set) var payloadIn = 0
    /// Body bytes held while deciding or connecting, or read as a form.
    private(set) var heldBytes = 0
    private var expectsContinue = false
    private var declaredLength: Int?
    private var bodyLimit: Int?
    private var bodySent = false
    private var upstreamReused = false
    private var upstreamKeepAlive = true
    private var quiescing = false

    /// Whether the client's next bytes are wanted now. Otherwise they wait unread (in the handler's buffer, and in
    /// the socket): a pipelined request behind one in flight, a body while the decision or the upstream is pending.
    var wantsClientBytes: Bool {
        switch phase {
        case .idle: true
        case .readingForm, .forwarding, .draining: !requestComplete
        case .deciding, .connecting, .closed: false
        }
    }

    // MARK: Request

    /// A head arrived and the decision begins.
    mutating func headReceived(keepAlive: Bool, expectsContinue: Bool, declaredLength: Int?) {
        precondition(phase == .idle, "a head is only read between requests")
        phase = .deciding
        self.keepAlive = keepAlive && !quiescing
        self.expectsContinue = expectsContinue
        self.declaredLength = declaredLength
        requestComplete = false
        responseStarted = false
        payloadIn = 0
        heldBytes = 0
        bodyLimit = nil
        bodySent = false
        upstreamReused = false
        upstreamKeepAlive = true
    }

    enum BodyAction: Sendable, Equatable {
        case forward
        /// Kept until the upstream connection is ready, or as part of the form being read.
        case hold
        case drop
        /// Over the API's body limit: a 413 if no answer has begun, else the connection is cut.
        case refuseOverLimit(Int)
        /// A form body too large to look for a token in: 413, and the connection closes.
        case refuseForm
        /// Over the limit with the upstream's answer already begun: the connection is cut.
        case close
    }

    mutating func bodyReceived(payload: Int, bytes: Int) -> BodyAction {
        payloadIn += payload
        if let bodyLimit, payloadIn > bodyLimit {
            self.bodyLimit = nil
            keepAlive = false
            if responseStarted {
                phase = .closed
                return .close
            }
            return .refuseOverLimit(bodyLimit)
        }
        switch phase {
        case .forwarding:
            bodySent = true
            return .forward
        case .deciding, .connecting:
            heldBytes += bytes
            return .hold
        case .readingForm:
            heldBytes += bytes
            if heldBytes > TokenExtractor.formBodyLimit {
                keepAlive = false
                return .refuseForm
            }
            return .hold
        case .idle, .draining, .closed:
            return .drop
        }
    }

    enum EndAction: Sendable, Equatable {
        case none
        /// The upstream has the whole request: send what is buffered.
        case flushUpstream
        /// The form is read: decide again with it.
        case decideWithForm
        /// The answer was out already: the connection goes on to the next request.
        case finished
    }

    mutating func requestEnded() -> EndAction {
        requestComplete = true
        switch phase {
        case .forwarding: return .flushUpstream
        case .readingForm:
            phase = .deciding
            return .decideWithForm
        case .draining:
            phase = .idle
            return .finished
        case .idle, .deciding, .connecting, .closed: return .none
        }
    }

    // MARK: Decision

    /// The gateway answers itself (a refusal, an error). Returns whether the connection closes after it and where
    /// the request stands.
    mutating func answering() -> (closing: Bool, then: AfterAnswer) {
        responseStarted = true
        heldBytes = 0
        return (!keepAlive, requestComplete ? .finished : .draining)
    }

    /// The answer of the gateway's own is written; `then` is what `answering` returned.
    mutating func answered(_ then: AfterAnswer) {
        if !keepAlive {
            phase = .closed
        } else {
            phase = then == .finished ? .idle : .draining
        }
    }

    enum ForwardAction: Sendable, Equatable {
        /// Connect (or take a pooled connection); tell a client waiting on `100-continue` to send its body.
        case connect(sendContinue: Bool)
        /// The declared length is over the API's limit: 413 before any upstream is asked.
        case refuseOverLimit(Int)
    }

    mutating func forwarding(bodyLimit: Int?) -> ForwardAction {
        if let bodyLimit {
            if let declaredLength, declaredLength > bodyLimit {
                keepAlive = false
                return .refuseOverLimit(bodyLimit)
            }
            self.bodyLimit = bodyLimit
        }
        phase = .connecting
        let sendContinue = expectsContinue && !requestComplete
        expectsContinue = false
        return .connect(sendContinue: sendContinue)
    }

    /// Deciding needs the form body; returns whether it has all arrived already.
    mutating func readingForm() -> Bool {
        phase = .readingForm
        if requestComplete {
            phase = .deciding
            return true
        }
        return false
    }

    // MARK: Upstream

    enum ConnectedAction: Sendable, Equatable {
        /// Send the head and what is held, and stream the rest.
        case send
        /// The connection came for a request no longer waiting for it: back to the pool.
        case release
    }

    mutating func connected(reused: Bool) -> ConnectedAction {
        guard phase == .connecting else { return .release }
        phase = .forwarding
        upstreamReused = reused
        if heldBytes > 0 { bodySent = true }
        heldBytes = 0
        return .send
    }

    /// The upstream's answer begins. Returns whether the client's connection closes after it.
    mutating func responseHeadReceived(upstreamKeepAlive: Bool, closeDelimited: Bool) -> Bool {
        responseStarted = true
        self.upstreamKeepAlive = upstreamKeepAlive && !closeDelimited
        if closeDelimited { keepAlive = false }
        return !keepAlive
    }

    enum ResponseEndAction: Sendable, Equatable {
        case finish(reuseUpstream: Bool, closing: Bool, then: AfterAnswer)
    }

    /// The upstream's answer is over; `leftover` tells whether the upstream sent bytes beyond it.
    mutating func responseEnded(leftover: Bool) -> ResponseEndAction {
        // A connection whose request was not sent in full (the upstream answered early) is not reused either.
        let reuse = requestComplete && upstreamKeepAlive && !leftover
        let then: AfterAnswer = requestComplete ? .finished : .draining
        answered(then)
        return .finish(reuseUpstream: reuse, closing: !keepAlive, then: then)
    }

    enum FailureAction: Sendable, Equatable {
        /// Part of the answer is out: the client can only learn of the failure by the connection closing.
        case closeClient
        /// A pooled connection closed just as it was picked, before any body went: try once on a new one.
        case retryOnFreshConnection
        /// Answer 504 or 502 in the upstream's stead.
        case answerTimeout
        case answerUnreachable
    }

    mutating func upstreamFailed(_ failure: UpstreamFailure) -> FailureAction {
        if responseStarted {
            phase = .closed
            return .closeClient
        }
        if failure == .closed, upstreamReused, !bodySent {
            phase = .connecting
            upstreamReused = false
            return .retryOnFreshConnection
        }
        return failure == .timeout ? .answerTimeout : .answerUnreachable
    }

    /// A connect that failed; `timedOut` when the connect timeout passed.
    func connectFailed(timedOut: Bool) -> FailureAction { timedOut ? .answerTimeout : .answerUnreachable }

    // MARK: Connection

    enum RefusalAction: Sendable, Equatable {
        /// Answer with the refusal's status, then close: after a head or framing error nothing later can be trusted.
        case answerAndClose
        case close
    }

    /// The client's bytes could not be read as HTTP/1.1 (a bad head, bad chunk framing).
    mutating func refused() -> RefusalAction {
        keepAlive = false
        let started = responseStarted
        responseStarted = true
        phase = .closed
        return started ? .close : .answerAndClose
    }

    /// The server is shutting down: an idle connection closes now (true), a busy one after its answer.
    mutating func quiesce() -> Bool {
        quiescing = true
        keepAlive = false
        if phase == .idle {
            phase = .closed
            return true
        }
        return false
    }

    mutating func clientClosed() { phase = .closed }
}
