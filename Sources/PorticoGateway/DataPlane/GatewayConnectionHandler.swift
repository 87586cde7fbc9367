import Foundation
import Logging
import NIOCore
import NIOHTTP1
import PorticoCore

/// One client connection of the gateway, on its event loop, straight on the socket's bytes: `RequestStream` splits
/// them into requests, `ProxyConnectionStateMachine` says what each piece means, and this handler does it. It
/// decides each request (usually without suspending), then streams it to an upstream connection of the same loop
/// and the answer back, as bytes, with backpressure both ways: while one side cannot take more, the other is not
/// read.
final class GatewayConnectionHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    /// The upstream connection of the exchange in progress.
    private struct Exchange {
        let plan: ForwardPlan
        let channel: any Channel
        let upstream: UpstreamHandler
        var status: UInt = 0
        /// With the access log on: when the request went to the upstream, and how long its answer's head took.
        let sentAt: ContinuousClock.Instant?
        var upstreamTime: Duration? = nil
    }

    private let decider: GatewayDecider
    private let pool: UpstreamPool
    private let metrics: GatewayMetrics
    private let usage: any UsageSink
    private let readTimeout: TimeAmount
    /// The client came over TLS the gateway terminated.
    private let secure: Bool
    private let logger: Logger
    /// One line per request when the access log is on (`--access-log`).
    private let accessLog: Logger?

    private var context: ChannelHandlerContext?
    /// The peer's address, formatted once per connection rather than once per request.
    private lazy var clientAddress: String? = context?.channel.remoteAddress?.ipAddress
    private var state = ProxyConnectionStateMachine()
    private var stream = RequestStream()
    private var request: GatewayRequest?
    /// The plan while the upstream connection is on its way, then the exchange on it.
    private var plan: ForwardPlan?
    private var exchange: Exchange?
    private var started = ContinuousClock.now
    /// A form body read to look for the token in it before deciding; it goes upstream once connected.
    private var held: [ByteBuffer] = []
    /// Body bytes of the current answer written to the client.
    private var bytesOut = 0
    /// Tells late results of a suspended decision or a connect apart from the current request's.
    private var serial = 0
    private var requestIds = RequestIDGenerator()
    private var processing = false

    private var upstreamBlocked = false
    private var readPending = false
    private var upstreamNeedsFlush = false
    private var clientNeedsFlush = false
    private var lastUpstreamActivity = NIODeadline.now()
    /// One timer per connection, left armed between requests: scheduling and cancelling a task for every request
    /// costs a heap insert and removal on the event loop and, often, a timer-fd update.
    private var timeoutCheck: Scheduled<Void>?

    init(
        decider: GatewayDecider, pool: UpstreamPool, metrics: GatewayMetrics, usage: any UsageSink, readTimeout: Duration, secure: Bool,
        logger: Logger, accessLog: Logger? = nil
    ) {
        self.accessLog = accessLog
        self.secure = secure
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
        // A connection on its way out reads on only to see the client close; what it sends is not kept.
        guard state.phase != .closed else { return }
        stream.append(unwrapInboundIn(data))
        process()
    }

    /// Takes the messages the state machine wants now: the next head between requests, the body during one. What
    /// it does not want yet (a pipelined request, a body while deciding) stays in the stream, and reading pauses.
    private func process() {
        guard !processing else { return }
        processing = true
        defer {
            processing = false
            updateReads()
        }
        while state.wantsClientBytes {
            let message: RequestStream.Message?
            do {
                message = try stream.next()
            } catch {
                refuse(error)
                return
            }
            guard let message else { return }
            switch message {
            case .head(let head, let bytes): begin(head, bytes: bytes)
            case .body(let buffer, let payload): bodyReceived(buffer, payload: payload)
            case .end: requestEnded()
            }
        }
    }

    private func bodyReceived(_ buffer: ByteBuffer, payload: Int) {
        switch state.bodyReceived(payload: payload, bytes: buffer.readableBytes) {
        case .forward:
            exchange?.channel.write(buffer, promise: nil)
            upstreamNeedsFlush = true
        case .hold:
            held.append(buffer)
        case .drop:
            break
        case .refuseOverLimit(let limit):
            abandonUpstream()
            guard let plan else { return }
            answer(GatewayError.bodyTooLarge(api: plan.api.name, limit: limit).answer, api: plan.api, caller: plan.caller)
        case .refuseForm:
            answer(GatewayError.formTooLarge.answer, api: nil, caller: nil)
        case .close:
            abandonUpstream()
            context?.close(promise: nil)
        }
    }

    private func requestEnded() {
        switch state.requestEnded() {
        case .none:
            break
        case .flushUpstream:
            exchange?.channel.flush()
            upstreamNeedsFlush = false
            lastUpstreamActivity = .now()
        case .decideWithForm:
            decideWithForm()
        case .finished:
            finishRequest()
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        if upstreamNeedsFlush { exchange?.channel.flush() }
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

    /// Reading goes on while the bytes are wanted, and also while nothing is waiting unread: pausing and resuming
    /// around every request would cost two `epoll_ctl` calls each. Once bytes wait (a pipelined request, a body
    /// while deciding), no more are read until they are taken.
    private var readsPaused: Bool { upstreamBlocked || (!state.wantsClientBytes && stream.hasPendingBytes) }

    private func updateReads() {
        guard !readsPaused, readPending, let context else { return }
        readPending = false
        context.read()
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if let exchange { try? exchange.channel.syncOptions?.setOption(.autoRead, value: context.channel.isWritable) }
        context.fireChannelWritabilityChanged()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        guard event is ChannelShouldQuiesceEvent else {
            context.fireUserInboundEventTriggered(event)
            return
        }
        // Shutting down: an idle connection closes now, a busy one after its answer (which says so).
        if state.quiesce() { context.close(promise: nil) }
    }

    func channelInactive(context: ChannelHandlerContext) {
        abandonUpstream()
        state.clientClosed()
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        abandonUpstream()
        state.clientClosed()
        context.close(promise: nil)
    }

    /// The client's bytes are not HTTP/1.1 the gateway accepts: answered once (unless an answer is under way),
    /// then the connection closes, as a server must not guess where the next request starts.
    private func refuse(_ refusal: RequestHeadRefusal) {
        abandonUpstream()
        guard let context else { return }
        switch state.refused() {
        case .close:
            context.close(promise: nil)
        case .answerAndClose:
            var answer = GatewayError(refusal).answer
            let requestId = requestIds.next()
            answer.headers.add(name: HeaderNames.requestId, value: requestId)
            metrics.recordRequest(api: "", status: Int(answer.status.code), duration: .zero)
            if let accessLog {
                AccessLogLine(
                    requestId: requestId, method: nil, path: nil, status: answer.status.code, duration: .zero, step: answer.step ?? "request"
                )
                .write(error: answer.error, to: accessLog)
            }
            context.write(
                wrapOutboundOut(
                    UpstreamRequest.answerHead(status: answer.status, headers: answer.headers, bodyLength: answer.body.readableBytes, closing: true)),
                promise: nil)
            context.writeAndFlush(wrapOutboundOut(answer.body)).assumeIsolated().whenComplete { _ in Self.lingeringClose(context) }
        }
    }

    private func begin(_ head: RequestHead, bytes: ByteBuffer) {
        serial &+= 1
        started = .now
        held.removeAll(keepingCapacity: true)
        bytesOut = 0
        plan = nil
        let declared: Int?
        if case .contentLength(let length) = head.framing { declared = length } else { declared = nil }
        state.headReceived(keepAlive: head.keepAlive, expectsContinue: head.expectsContinue && head.framing != .none, declaredLength: declared)
        var request = GatewayRequest(bytes: bytes, head: head, clientAddress: clientAddress, secure: secure)
        request.assignRequestId(&requestIds)
        self.request = request
        apply(decider.decide(request))
    }

    private func apply(_ decision: GatewayDecision) {
        switch decision {
        case .answer(let answer, let api, let caller):
            self.answer(answer, api: api, caller: caller)
        case .forward(let plan):
            forward(plan)
        case .readFormBody:
            if state.readingForm() { decideWithForm() }
            process()
        case .later(let work):
            guard let eventLoop = context?.eventLoop else { return }
            let handler = NIOLoopBound(self, eventLoop: eventLoop)
            let current = serial
            Task {
                let decision = await work()
                eventLoop.execute {
                    let handler = handler.value
                    guard handler.serial == current, handler.state.phase == .deciding else { return }
                    handler.apply(decision)
                }
            }
        }
    }

    private func decideWithForm() {
        guard var request else { return }
        var body = ByteBuffer()
        // A chunked form keeps its chunk framing in `held` (it is forwarded as it came), so only a form with a
        // declared length is read for a token.
        if case .contentLength = request.parsed.framing {
            for part in held { body.writeImmutableBuffer(part) }
        }
        request.formBody = body
        self.request = request
        apply(decider.decide(request))
    }

    // MARK: Gateway's own answers

    private func answer(_ answer: GatewayAnswer, api: GatewayAPI?, caller: Caller?) {
        guard let context else { return }
        var answer = answer
        answer.headers.add(name: HeaderNames.requestId, value: request?.requestId ?? requestIds.next())
        serial &+= 1
        record(api: api, status: answer.status.code, label: caller?.label)
        if Refusal.isKept(status: Int(answer.status.code)), let request, let error = answer.error,
            let consumer = caller?.id ?? decider.keyOwner(of: request)
        {
            usage.refused(
                Refusal(
                    consumer: consumer, at: Date(), requestId: request.requestId, method: request.method, path: String(request.path), api: api?.name,
                    status: Int(answer.status.code), error: error, step: answer.step ?? "", message: answer.reason ?? ""))
        }
        if let accessLog {
            line(status: answer.status.code, step: answer.step ?? "upstream", api: api, caller: caller).write(error: answer.error, to: accessLog)
        }
        bytesOut = answer.body.readableBytes
        reportCall(api: api, caller: caller, status: answer.status.code, rateLimited: answer.status == .tooManyRequests)
        let (closing, then) = state.answering()
        held.removeAll(keepingCapacity: true)
        context.write(
            wrapOutboundOut(
                UpstreamRequest.answerHead(status: answer.status, headers: answer.headers, bodyLength: answer.body.readableBytes, closing: closing)),
            promise: nil)
        context.write(wrapOutboundOut(answer.body), promise: nil)
        state.answered(then)
        endResponse(context: context, closing: closing)
        if then == .finished { finishRequest() } else { process() }
    }

    // MARK: Upstream side

    private func forward(_ plan: ForwardPlan) {
        self.plan = plan
        switch state.forwarding(bodyLimit: plan.api.maxBodyBytes) {
        case .refuseOverLimit(let limit):
            answer(GatewayError.bodyTooLarge(api: plan.api.name, limit: limit).answer, api: plan.api, caller: plan.caller)
        case .connect(let sendContinue):
            if sendContinue, let context {
                // The client waits for a go-ahead before its body; the gateway gives it (as nginx does) and the
                // upstream gets the body without the expectation.
                context.writeAndFlush(wrapOutboundOut(ByteBuffer(staticString: "HTTP/1.1 100 Continue\r\n\r\n")), promise: nil)
            }
            connect(plan, fresh: false)
        }
    }

    private func connect(_ plan: ForwardPlan, fresh: Bool) {
        let (connection, reused) = pool.connection(to: plan.api.upstream, fresh: fresh)
        let current = serial
        connection.assumeIsolated().whenComplete { result in
            guard self.serial == current, self.state.phase == .connecting else {
                if case .success(let channel) = result { self.pool.release(channel, to: plan.api.upstream) }
                return
            }
            switch result {
            case .failure(let error):
                let timedOut: Bool
                if case ChannelError.connectTimeout = error { timedOut = true } else { timedOut = false }
                self.failBeforeResponse(self.state.connectFailed(timedOut: timedOut), plan: plan, reason: error)
            case .success(let channel):
                self.attach(plan, channel: channel, reused: reused)
            }
        }
    }

    private func attach(_ plan: ForwardPlan, channel: any Channel, reused: Bool) {
        guard let upstream = try? channel.pipeline.syncOperations.handler(type: UpstreamHandler.self) else {
            channel.close(promise: nil)
            failBeforeResponse(state.connectFailed(timedOut: false), plan: plan, reason: ChannelError.ioOnClosedChannel)
            return
        }
        guard state.connected(reused: reused) == .send else {
            pool.release(channel, to: plan.api.upstream)
            return
        }
        upstream.begin(self, answersHead: request?.method == "HEAD")
        exchange = Exchange(plan: plan, channel: channel, upstream: upstream, sentAt: accessLog == nil ? nil : .now)
        channel.write(plan.head, promise: nil)
        for part in held { channel.write(part, promise: nil) }
        held.removeAll(keepingCapacity: true)
        channel.flush()
        lastUpstreamActivity = .now()
        if timeoutCheck == nil { scheduleTimeoutCheck(in: readTimeout) }
        // A pooled connection may still have reading off from a slow client before.
        try? channel.syncOptions?.setOption(.autoRead, value: context?.channel.isWritable ?? true)
        // Body bytes read while connecting go now; outside a client read, no read-complete would flush them.
        process()
        if upstreamNeedsFlush {
            upstreamNeedsFlush = false
            channel.flush()
        }
    }

    func upstreamRead(_ message: ResponseStream.Message) {
        guard let context, var exchange else { return }
        lastUpstreamActivity = .now()
        switch message {
        case .head(let head, let bytes):
            exchange.status = UInt(head.status)
            if let sentAt = exchange.sentAt { exchange.upstreamTime = .now - sentAt }
            self.exchange = exchange
            record(api: exchange.plan.api, status: exchange.status, label: exchange.plan.caller.label)
            let closing = state.responseHeadReceived(upstreamKeepAlive: head.keepAlive, closeDelimited: head.framing == .untilClose)
            context.write(
                wrapOutboundOut(UpstreamRequest.responseHead(head, bytes: bytes, adding: exchange.plan.responseHeaders, closing: closing)),
                promise: nil)
            clientNeedsFlush = true
        case .body(let buffer):
            bytesOut += buffer.readableBytes
            context.write(wrapOutboundOut(buffer), promise: nil)
            clientNeedsFlush = true
        case .end:
            reportCall(api: exchange.plan.api, caller: exchange.plan.caller, status: exchange.status, rateLimited: false)
            if let accessLog { line(for: exchange).write(error: nil, to: accessLog) }
            let action = state.responseEnded(leftover: exchange.upstream.hasLeftover)
            exchange.upstream.end()
            self.exchange = nil
            guard case .finish(let reuse, let closing, let then) = action else { return }
            if reuse {
                pool.release(exchange.channel, to: exchange.plan.api.upstream)
            } else {
                exchange.channel.close(promise: nil)
            }
            clientNeedsFlush = false
            endResponse(context: context, closing: closing)
            if then == .finished { finishRequest() } else { process() }
        }
    }

    func upstreamReadComplete() {
        if clientNeedsFlush, let context {
            clientNeedsFlush = false
            context.flush()
        }
    }

    func upstreamWritabilityChanged(_ writable: Bool) {
        upstreamBlocked = !writable
        updateReads()
    }

    func upstreamFailed(_ failure: ProxyConnectionStateMachine.UpstreamFailure, reason: String) {
        guard let exchange else { return }
        exchange.upstream.end()
        exchange.channel.close(promise: nil)
        self.exchange = nil
        upstreamBlocked = false
        switch state.upstreamFailed(failure) {
        case .closeClient:
            reportCall(api: exchange.plan.api, caller: exchange.plan.caller, status: exchange.status, rateLimited: false)
            if let accessLog { line(for: exchange).write(error: "upstream_cut", to: accessLog) }
            context?.close(promise: nil)
        case .retryOnFreshConnection:
            connect(exchange.plan, fresh: true)
        case let action:
            failBeforeResponse(action, plan: exchange.plan, reason: reason)
        }
    }

    private func failBeforeResponse(_ action: ProxyConnectionStateMachine.FailureAction, plan: ForwardPlan, reason: Any) {
        if action == .answerTimeout {
            answer(GatewayError.upstreamTimeout(api: plan.api.name).answer, api: plan.api, caller: plan.caller)
        } else {
            logger.warning("upstream unreachable", metadata: ["api": "\(plan.api.name)", "reason": "\(reason)"])
            answer(GatewayError.upstreamUnreachable(api: plan.api.name).answer, api: plan.api, caller: plan.caller)
        }
    }

    // MARK: Bookkeeping

    private func endResponse(context: ChannelHandlerContext, closing: Bool) {
        if closing {
            context.writeAndFlush(wrapOutboundOut(ByteBuffer())).assumeIsolated().whenComplete { _ in Self.lingeringClose(context) }
        } else {
            context.flush()
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

    /// The request is answered and read whole: pipelined requests behind it go on.
    private func finishRequest() {
        request = nil
        plan = nil
        held.removeAll(keepingCapacity: true)
        process()
    }

    private func record(api: GatewayAPI?, status: UInt, label: String?) {
        metrics.recordRequest(api: api?.name ?? "", status: Int(status), duration: ContinuousClock.now - started)
        if let label, let api { metrics.recordUserRequest(api: api.name, user: label) }
        if logger.logLevel <= .debug {
            logger.debug(
                "request",
                metadata: [
                    "api": "\(api?.name ?? "-")", "status": "\(status)", "user": "\(label ?? "-")", "requestId": "\(request?.requestId ?? "-")",
                ])
        }
    }

    /// A proxied request's line: the upstream's status and how long its answer's head took.
    private func line(for exchange: Exchange) -> AccessLogLine {
        var entry = line(status: exchange.status, step: DecisionStep.upstream.rawValue, api: exchange.plan.api, caller: exchange.plan.caller)
        entry.upstream = exchange.upstreamTime
        return entry
    }

    private func line(status: UInt, step: String, api: GatewayAPI?, caller: Caller?) -> AccessLogLine {
        var entry = AccessLogLine(
            requestId: request?.requestId ?? "-", method: request?.method, path: request.map { String($0.path) }, status: status,
            duration: .now - started, step: step)
        entry.api = api?.name
        entry.consumer = caller?.id
        entry.user = caller?.label
        return entry
    }

    /// A known consumer's answered call, for the usage records.
    private func reportCall(api: GatewayAPI?, caller: Caller?, status: UInt, rateLimited: Bool) {
        guard let api, let caller else { return }
        usage.callAnswered(
            AnsweredCall(
                consumer: caller.id, api: api.id, status: Int(status), rateLimited: rateLimited, bytesIn: state.payloadIn, bytesOut: bytesOut,
                latencyNanos: (ContinuousClock.now - started).nanoseconds, application: caller.application))
    }

    /// Checks the exchange in progress when it fires, whichever request that is; with none, it is armed again by
    /// the next one.
    private func scheduleTimeoutCheck(in delay: TimeAmount) {
        guard let context else { return }
        timeoutCheck = context.eventLoop.assumeIsolated().scheduleTask(in: delay) {
            self.timeoutCheck = nil
            guard self.exchange != nil else { return }
            // While the client is still sending, the upstream is not expected to answer yet.
            if !self.state.requestComplete { self.lastUpstreamActivity = .now() }
            let silent = NIODeadline.now() - self.lastUpstreamActivity
            if silent >= self.readTimeout {
                self.upstreamFailed(.timeout, reason: "no answer within the read timeout")
            } else {
                self.scheduleTimeoutCheck(in: self.readTimeout - silent)
            }
        }
    }

    /// The client is gone (or failed, or its request is refused): the upstream connection cannot be reused
    /// mid-exchange.
    private func abandonUpstream() {
        timeoutCheck?.cancel()
        timeoutCheck = nil
        if let exchange {
            exchange.upstream.end()
            exchange.channel.close(promise: nil)
            self.exchange = nil
        }
        upstreamBlocked = false
        serial &+= 1
    }
}
