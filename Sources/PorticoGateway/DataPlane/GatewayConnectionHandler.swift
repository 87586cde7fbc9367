import Logging
import NIOCore
import NIOHTTP1
import PorticoCore

/// One client connection of the gateway, on its event loop: decides each request (usually without suspending),
/// then streams it to an upstream connection of the same loop and the answer back, with backpressure both ways:
/// while one side cannot take more, the other is not read.
final class GatewayConnectionHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundIn = HTTPServerResponsePart
    typealias OutboundOut = HTTPServerResponsePart

    enum UpstreamFailure {
        case closed
        case error(any Error)
        case timeout
    }

    private enum Phase {
        case idle
        /// Waiting for a decision that had to suspend.
        case deciding
        /// Reading a urlencoded body to look for the token in it.
        case readingForm
        case connecting(ForwardPlan)
        case forwarding(Exchange)
        /// The answer is written; the rest of the request body is read and dropped.
        case draining
    }

    private struct Exchange {
        let plan: ForwardPlan
        let channel: any Channel
        let upstream: UpstreamHandler
        var responseStarted = false
        var reused: Bool
        var status: UInt = 0
    }

    private let decider: GatewayDecider
    private let pool: UpstreamPool
    private let metrics: GatewayMetrics
    private let usage: any UsageSink
    private let readTimeout: TimeAmount
    private let logger: Logger

    private var context: ChannelHandlerContext?
    /// The peer's address, formatted once per connection rather than once per request.
    private lazy var clientAddress: String? = context?.channel.remoteAddress?.ipAddress
    private var phase = Phase.idle
    private var request: GatewayRequest?
    private var started = ContinuousClock.now
    /// Request body parts read before the upstream connection was ready (or while reading a form).
    private var held: [HTTPServerRequestPart] = []
    /// Parts of pipelined requests behind the current one.
    private var queued: [HTTPServerRequestPart] = []
    private var takingQueued = false
    private var quiescing = false
    /// A response head went out for the current request.
    private var responseWritten = false
    private var heldBytes = 0
    /// Body bytes of the current request read from the client, and of its answer written to it.
    private var bytesIn = 0
    private var bytesOut = 0
    /// The forwarded request's API's `maxBodyBytes`: counted as the body streams through, never buffered.
    private var bodyLimit: Int?
    private var bodySent = false
    private var requestComplete = false
    private var keepAlive = true
    /// Tells late results of a suspended decision or a connect apart from the current request's.
    private var serial = 0

    private var readsPaused = false
    private var readPending = false
    private var upstreamNeedsFlush = false
    private var clientNeedsFlush = false
    private var lastUpstreamActivity = NIODeadline.now()
    /// One timer per connection, left armed between requests: scheduling and cancelling a task for every request
    /// costs a heap insert and removal on the event loop and, often, a timer-fd update.
    private var timeoutCheck: Scheduled<Void>?

    init(decider: GatewayDecider, pool: UpstreamPool, metrics: GatewayMetrics, usage: any UsageSink, readTimeout: Duration, logger: Logger) {
        self.decider = decider
        self.pool = pool
        self.metrics = metrics
        self.usage = usage
        self.readTimeout = .nanoseconds(readTimeout.nanoseconds)
        self.logger = logger
    }

    func handlerAdded(context: ChannelHandlerContext) { self.context = context }

    func handlerRemoved(context: ChannelHandlerContext) {
        abandonUpstream()
        self.context = nil
    }

    // MARK: Client side

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let part = unwrapInboundIn(data)
        // A pipelined request waits for the one before it to be answered; while one waits, nothing more is read.
        if !queued.isEmpty || (part.isHead && !isIdle) {
            queued.append(part)
            pauseReads()
            return
        }
        receive(part, context: context)
    }

    private var isIdle: Bool {
        if case .idle = phase { return true }
        return false
    }

    private func receive(_ part: HTTPServerRequestPart, context: ChannelHandlerContext) {
        switch part {
        case .head(let head):
            begin(head, context: context)
        case .body(let buffer):
            bytesIn += buffer.readableBytes
            if let bodyLimit, bytesIn > bodyLimit {
                refuseBody(limit: bodyLimit)
                return
            }
            switch phase {
            case .forwarding(let exchange):
                bodySent = true
                exchange.channel.write(HTTPClientRequestPart.body(.byteBuffer(buffer)), promise: nil)
                upstreamNeedsFlush = true
            case .deciding, .connecting:
                hold(part, bytes: buffer.readableBytes)
            case .readingForm:
                hold(part, bytes: buffer.readableBytes)
                if heldBytes > TokenExtractor.formBodyLimit {
                    keepAlive = false
                    answer(GatewayError.formTooLarge.answer, api: nil, caller: nil)
                }
            case .idle, .draining:
                break
            }
        case .end:
            requestComplete = true
            switch phase {
            case .forwarding(let exchange):
                exchange.channel.writeAndFlush(HTTPClientRequestPart.end(nil), promise: nil)
                upstreamNeedsFlush = false
                lastUpstreamActivity = .now()
            case .deciding, .connecting:
                hold(part, bytes: 0)
            case .readingForm:
                hold(part, bytes: 0)
                formBodyRead()
            case .draining:
                finishRequest()
            case .idle:
                break
            }
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        if upstreamNeedsFlush, case .forwarding(let exchange) = phase {
            exchange.channel.flush()
        }
        upstreamNeedsFlush = false
        context.fireChannelReadComplete()
    }

    func read(context: ChannelHandlerContext) {
        if readsPaused {
            readPending = true
        } else {
            context.read()
        }
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if case .forwarding(let exchange) = phase {
            try? exchange.channel.syncOptions?.setOption(.autoRead, value: context.channel.isWritable)
        }
        context.fireChannelWritabilityChanged()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        guard event is ChannelShouldQuiesceEvent else {
            context.fireUserInboundEventTriggered(event)
            return
        }
        // Shutting down: an idle connection closes now, a busy one after its answer (which says so).
        quiescing = true
        keepAlive = false
        if isIdle && queued.isEmpty { context.close(promise: nil) }
    }

    func channelInactive(context: ChannelHandlerContext) {
        abandonUpstream()
        phase = .idle
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        abandonUpstream()
        if let parserError = error as? HTTPParserError, !responseWritten {
            // Not HTTP, or a head over the limit: answer once, then close, as a server must not guess.
            let answer = parserError == .headerOverflow ? GatewayError.headersTooLarge.answer : GatewayError.malformedRequest.answer
            var headers = answer.headers
            headers.add(name: HeaderNames.contentLength, value: String(answer.body.readableBytes))
            headers.add(name: HeaderNames.connection, value: "close")
            context.write(wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: answer.status, headers: headers))), promise: nil)
            context.write(wrapOutboundOut(.body(.byteBuffer(answer.body))), promise: nil)
            context.writeAndFlush(wrapOutboundOut(.end(nil))).assumeIsolated().whenComplete { _ in context.close(promise: nil) }
            phase = .idle
            return
        }
        context.close(promise: nil)
    }

    private func begin(_ head: HTTPRequestHead, context: ChannelHandlerContext) {
        serial &+= 1
        started = .now
        held.removeAll(keepingCapacity: true)
        heldBytes = 0
        bytesIn = 0
        bytesOut = 0
        bodyLimit = nil
        bodySent = false
        requestComplete = false
        responseWritten = false
        keepAlive = head.isKeepAlive && !quiescing
        let request = GatewayRequest(head: head, clientAddress: clientAddress)
        self.request = request
        apply(decider.decide(request))
    }

    private func hold(_ part: HTTPServerRequestPart, bytes: Int) {
        held.append(part)
        heldBytes += bytes
    }

    private func apply(_ decision: GatewayDecision) {
        switch decision {
        case .answer(let answer, let api, let caller):
            self.answer(answer, api: api, caller: caller)
        case .forward(let plan):
            forward(plan, fresh: false)
        case .readFormBody:
            phase = .readingForm
            if requestComplete { formBodyRead() }
        case .later(let work):
            phase = .deciding
            pauseReads()
            guard let eventLoop = context?.eventLoop else { return }
            let handler = NIOLoopBound(self, eventLoop: eventLoop)
            let current = serial
            Task {
                let decision = await work()
                eventLoop.execute {
                    let handler = handler.value
                    guard handler.serial == current, case .deciding = handler.phase else { return }
                    handler.resumeReads()
                    handler.apply(decision)
                }
            }
        }
    }

    private func formBodyRead() {
        guard var request else { return }
        var body = ByteBuffer()
        for case .body(var part) in held { body.writeBuffer(&part) }
        request.formBody = body
        self.request = request
        phase = .deciding
        apply(decider.decide(request))
    }

    // MARK: Gateway's own answers

    private func answer(_ answer: GatewayAnswer, api: GatewayAPI?, caller: Caller?) {
        guard let context, let request else { return }
        record(api: api, status: answer.status.code, label: caller?.label)
        bytesOut = answer.body.readableBytes
        reportCall(api: api, caller: caller, status: answer.status.code, rateLimited: answer.status == .tooManyRequests)
        var headers = answer.headers
        headers.add(name: HeaderNames.contentLength, value: String(answer.body.readableBytes))
        if !keepAlive { headers.add(name: HeaderNames.connection, value: "close") }
        responseWritten = true
        context.write(wrapOutboundOut(.head(HTTPResponseHead(version: request.head.version, status: answer.status, headers: headers))), promise: nil)
        context.write(wrapOutboundOut(.body(.byteBuffer(answer.body))), promise: nil)
        held.removeAll(keepingCapacity: true)
        heldBytes = 0
        endResponse(context: context)
        if requestComplete {
            finishRequest()
        } else {
            phase = .draining
            resumeReads()
        }
    }

    // MARK: Upstream side

    private func forward(_ plan: ForwardPlan, fresh: Bool) {
        if !fresh, let limit = plan.api.maxBodyBytes {
            bodyLimit = limit
            let declared = request?.headers.first(name: HeaderNames.contentLength).flatMap { Int($0) }
            if let declared, declared > limit {
                phase = .connecting(plan)
                refuseBody(limit: limit)
                return
            }
        }
        if !fresh, !requestComplete, let context, let request, request.head.headers[canonicalForm: HeaderNames.expect].contains("100-continue") {
            // The client waits for a go-ahead before its body; the gateway gives it (as nginx does) and the
            // upstream gets the body without the expectation.
            context.writeAndFlush(wrapOutboundOut(.head(HTTPResponseHead(version: request.head.version, status: .continue))), promise: nil)
        }
        phase = .connecting(plan)
        pauseReads()
        let (connection, reused) = pool.connection(to: plan.api.upstream, fresh: fresh)
        let current = serial
        connection.assumeIsolated().whenComplete { result in
            guard self.serial == current, case .connecting = self.phase else {
                if case .success(let channel) = result { self.pool.release(channel, to: plan.api.upstream) }
                return
            }
            switch result {
            case .failure(let error):
                self.failBeforeResponse(plan, timedOut: Self.isConnectTimeout(error), reason: error)
            case .success(let channel):
                self.attach(plan, channel: channel, reused: reused)
            }
        }
    }

    private static func isConnectTimeout(_ error: any Error) -> Bool {
        if case ChannelError.connectTimeout = error { return true }
        return false
    }

    private func attach(_ plan: ForwardPlan, channel: any Channel, reused: Bool) {
        guard let upstream = try? channel.pipeline.syncOperations.handler(type: UpstreamHandler.self) else {
            channel.close(promise: nil)
            failBeforeResponse(plan, timedOut: false, reason: ChannelError.ioOnClosedChannel)
            return
        }
        upstream.exchange = self
        upstream.keepAlive = true
        phase = .forwarding(Exchange(plan: plan, channel: channel, upstream: upstream, reused: reused))
        channel.write(HTTPClientRequestPart.head(plan.head), promise: nil)
        for part in held {
            switch part {
            case .body(let buffer):
                bodySent = true
                channel.write(HTTPClientRequestPart.body(.byteBuffer(buffer)), promise: nil)
            case .end:
                channel.write(HTTPClientRequestPart.end(nil), promise: nil)
            case .head:
                break
            }
        }
        held.removeAll(keepingCapacity: true)
        heldBytes = 0
        channel.flush()
        lastUpstreamActivity = .now()
        if timeoutCheck == nil { scheduleTimeoutCheck(in: readTimeout) }
        // A pooled connection may still have reading off from a slow client before.
        try? channel.syncOptions?.setOption(.autoRead, value: context?.channel.isWritable ?? true)
        resumeReads()
    }

    func upstreamRead(_ part: HTTPClientResponsePart) {
        guard let context, case .forwarding(var exchange) = phase, let request else { return }
        lastUpstreamActivity = .now()
        switch part {
        case .head(let head):
            if head.status.code < 200 { return }  // 1xx: the final answer follows
            exchange.responseStarted = true
            exchange.status = head.status.code
            phase = .forwarding(exchange)
            record(api: exchange.plan.api, status: head.status.code, label: exchange.plan.caller.label)
            var headers = UpstreamRequest.responseHeaders(head.headers, adding: exchange.plan.responseHeaders)
            if !keepAlive { headers.add(name: HeaderNames.connection, value: "close") }
            responseWritten = true
            context.write(
                wrapOutboundOut(.head(HTTPResponseHead(version: request.head.version, status: head.status, headers: headers))), promise: nil)
            clientNeedsFlush = true
            if !head.isKeepAlive { exchange.upstream.keepAlive = false }
        case .body(let buffer):
            bytesOut += buffer.readableBytes
            context.write(wrapOutboundOut(.body(.byteBuffer(buffer))), promise: nil)
            clientNeedsFlush = true
        case .end:
            reportCall(api: exchange.plan.api, caller: exchange.plan.caller, status: exchange.status, rateLimited: false)
            exchange.upstream.exchange = nil
            // A connection whose request was not sent in full (the upstream answered early) is not reused.
            if requestComplete, exchange.upstream.keepAlive {
                pool.release(exchange.channel, to: exchange.plan.api.upstream)
            } else {
                exchange.channel.close(promise: nil)
            }
            clientNeedsFlush = false
            endResponse(context: context)
            if requestComplete {
                finishRequest()
            } else {
                phase = .draining
                resumeReads()
            }
        }
    }

    func upstreamReadComplete() {
        if clientNeedsFlush, let context {
            clientNeedsFlush = false
            context.flush()
        }
    }

    func upstreamWritabilityChanged(_ writable: Bool) {
        if writable { resumeReads() } else { pauseReads() }
    }

    func upstreamFailed(_ failure: UpstreamFailure) {
        guard case .forwarding(let exchange) = phase else { return }
        exchange.upstream.exchange = nil
        exchange.channel.close(promise: nil)
        if exchange.responseStarted {
            // Part of the answer is out: the client can only learn of the failure by the connection closing.
            reportCall(api: exchange.plan.api, caller: exchange.plan.caller, status: exchange.status, rateLimited: false)
            phase = .idle
            context?.close(promise: nil)
            return
        }
        if case .closed = failure, exchange.reused, !bodySent {
            // The upstream closed an idle keep-alive connection just as it was picked: retry once on a new one.
            held = requestComplete ? [.end(nil)] : []
            forward(exchange.plan, fresh: true)
            return
        }
        if case .timeout = failure {
            failBeforeResponse(exchange.plan, timedOut: true, reason: "no answer within the read timeout")
        } else {
            failBeforeResponse(exchange.plan, timedOut: false, reason: failure)
        }
    }

    /// The body is over the API's limit: 413 if no answer has begun (the upstream exchange, if any, is dropped),
    /// else the connection is closed; either way the connection ends, as the rest of the body is not wanted.
    private func refuseBody(limit: Int) {
        bodyLimit = nil
        keepAlive = false
        let plan: ForwardPlan
        switch phase {
        case .connecting(let connecting):
            plan = connecting
        case .forwarding(let exchange):
            plan = exchange.plan
            exchange.upstream.exchange = nil
            exchange.channel.close(promise: nil)
            if exchange.responseStarted {
                phase = .idle
                context?.close(promise: nil)
                return
            }
        default:
            return
        }
        serial &+= 1
        answer(GatewayError.bodyTooLarge(api: plan.api.name, limit: limit).answer, api: plan.api, caller: plan.caller)
    }

    private func failBeforeResponse(_ plan: ForwardPlan, timedOut: Bool, reason: Any) {
        if timedOut {
            answer(GatewayError.upstreamTimeout(api: plan.api.name).answer, api: plan.api, caller: plan.caller)
        } else {
            logger.warning("upstream unreachable", metadata: ["api": "\(plan.api.name)", "reason": "\(reason)"])
            answer(GatewayError.upstreamUnreachable(api: plan.api.name).answer, api: plan.api, caller: plan.caller)
        }
    }

    // MARK: Bookkeeping

    private func endResponse(context: ChannelHandlerContext) {
        if keepAlive {
            context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
        } else {
            context.writeAndFlush(wrapOutboundOut(.end(nil))).assumeIsolated().whenComplete { _ in Self.lingeringClose(context) }
        }
    }

    /// Closes the sending side first and lets the client close the rest: a full close with anything unread on the
    /// socket is a reset, which can destroy the end of the answer before the client has read it (nginx's
    /// lingering close). A client that does not close is cut off after a moment.
    private static func lingeringClose(_ context: ChannelHandlerContext) {
        context.close(mode: .output, promise: nil)
        let channel = context.channel
        context.eventLoop.assumeIsolated().scheduleTask(in: .seconds(2)) { channel.close(promise: nil) }
    }

    private func finishRequest() {
        phase = .idle
        request = nil
        held.removeAll(keepingCapacity: true)
        heldBytes = 0
        takeQueued()
    }

    /// Goes on with pipelined requests that arrived while the last one was served.
    private func takeQueued() {
        guard !takingQueued, let context else { return }
        takingQueued = true
        defer { takingQueued = false }
        while let part = queued.first {
            if part.isHead, !isIdle { return }
            queued.removeFirst()
            receive(part, context: context)
        }
        resumeReads()
    }

    private func record(api: GatewayAPI?, status: UInt, label: String?) {
        metrics.recordRequest(api: api?.name ?? "", status: Int(status), duration: ContinuousClock.now - started)
        if let label, let api { metrics.recordUserRequest(api: api.name, user: label) }
        if logger.logLevel <= .debug {
            logger.debug("request", metadata: ["api": "\(api?.name ?? "-")", "status": "\(status)", "user": "\(label ?? "-")"])
        }
    }

    /// A known consumer's answered call, for the usage records.
    private func reportCall(api: GatewayAPI?, caller: Caller?, status: UInt, rateLimited: Bool) {
        guard let api, let caller else { return }
        usage.callAnswered(
            AnsweredCall(
                consumer: caller.id, api: api.id, status: Int(status), rateLimited: rateLimited, bytesIn: bytesIn, bytesOut: bytesOut,
                latencyNanos: (ContinuousClock.now - started).nanoseconds))
    }

    private func pauseReads() { readsPaused = true }

    private func resumeReads() {
        guard readsPaused else { return }
        readsPaused = false
        if readPending, let context {
            readPending = false
            context.read()
        }
    }

    /// Checks the exchange in progress when it fires, whichever request that is; with none, it is armed again by
    /// the next one.
    private func scheduleTimeoutCheck(in delay: TimeAmount) {
        guard let context else { return }
        timeoutCheck = context.eventLoop.assumeIsolated().scheduleTask(in: delay) {
            self.timeoutCheck = nil
            guard case .forwarding = self.phase else { return }
            // While the client is still sending, the upstream is not expected to answer yet.
            if !self.requestComplete { self.lastUpstreamActivity = .now() }
            let silent = NIODeadline.now() - self.lastUpstreamActivity
            if silent >= self.readTimeout {
                self.upstreamFailed(.timeout)
            } else {
                self.scheduleTimeoutCheck(in: self.readTimeout - silent)
            }
        }
    }

    private func cancelTimeoutCheck() {
        timeoutCheck?.cancel()
        timeoutCheck = nil
    }

    /// The client is gone (or failed): the upstream connection cannot be reused mid-exchange.
    private func abandonUpstream() {
        cancelTimeoutCheck()
        if case .forwarding(let exchange) = phase {
            exchange.upstream.exchange = nil
            exchange.channel.close(promise: nil)
        }
        serial &+= 1
    }
}

extension HTTPServerRequestPart {
    var isHead: Bool {
        if case .head = self { return true }
        return false
    }
}
