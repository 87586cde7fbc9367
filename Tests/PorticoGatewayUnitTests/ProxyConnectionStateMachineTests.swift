import Testing

@testable import PorticoGateway

/// The client connection's logic, driven event by event without a channel: which pieces are read when, what the
/// gateway answers, whether the connection stays open, when an upstream connection is reused or a request retried.
@Suite struct ProxyConnectionStateMachineTests {
    @Test func aRequestWithoutABodyIsForwardedAndTheConnectionKeptForTheNext() {
        var machine = ProxyConnectionStateMachine()
        #expect(machine.wantsClientBytes)
        machine.headReceived(keepAlive: true, expectsContinue: false, declaredLength: nil)
        #expect(!machine.wantsClientBytes, "nothing more is read while deciding")
        #expect(machine.forwarding(bodyLimit: nil) == .connect(sendContinue: false))
        #expect(!machine.wantsClientBytes, "nor while connecting")
        #expect(machine.connected(reused: false) == .send)
        #expect(machine.wantsClientBytes, "the end of the request is read once the upstream has the head")
        #expect(machine.requestEnded() == .flushUpstream)
        #expect(!machine.wantsClientBytes, "a pipelined request waits for this answer")
        let closes = machine.responseHeadReceived(upstreamKeepAlive: true, closeDelimited: false)
        #expect(!closes)
        #expect(machine.responseEnded(leftover: false) == .finish(reuseUpstream: true, closing: false, then: .finished))
        #expect(machine.phase == .idle)
        #expect(machine.wantsClientBytes)
    }

    @Test func aBodyIsHeldUntilTheUpstreamIsReadyThenStreamed() {
        var machine = ProxyConnectionStateMachine()
        machine.headReceived(keepAlive: true, expectsContinue: false, declaredLength: 10)
        _ = machine.forwarding(bodyLimit: nil)
        #expect(machine.bodyReceived(payload: 4, bytes: 4) == .hold)
        #expect(machine.connected(reused: true) == .send)
        #expect(machine.bodyReceived(payload: 6, bytes: 6) == .forward)
        #expect(machine.payloadIn == 10)
        #expect(machine.upstreamFailed(.closed) == .answerUnreachable, "a body went, so a closed pooled connection is not retried")
    }

    @Test func aPooledConnectionClosedBeforeAnyBodyWentIsRetriedOnceOnAFreshOne() {
        var machine = ProxyConnectionStateMachine()
        machine.headReceived(keepAlive: true, expectsContinue: false, declaredLength: nil)
        _ = machine.forwarding(bodyLimit: nil)
        _ = machine.connected(reused: true)
        #expect(machine.upstreamFailed(.closed) == .retryOnFreshConnection)
        #expect(machine.phase == .connecting)
        #expect(machine.connected(reused: false) == .send)
        #expect(machine.upstreamFailed(.closed) == .answerUnreachable, "a fresh connection that fails is not retried")
        #expect(machine.upstreamFailed(.timeout) == .answerTimeout)
    }

    @Test func aFailureAfterTheAnswerBeganCanOnlyCloseTheClient() {
        var machine = ProxyConnectionStateMachine()
        machine.headReceived(keepAlive: true, expectsContinue: false, declaredLength: nil)
        _ = machine.forwarding(bodyLimit: nil)
        _ = machine.connected(reused: true)
        _ = machine.requestEnded()
        _ = machine.responseHeadReceived(upstreamKeepAlive: true, closeDelimited: false)
        #expect(machine.upstreamFailed(.closed) == .closeClient)
        #expect(machine.phase == .closed)
        #expect(!machine.wantsClientBytes)
    }

    @Test func aDeclaredLengthOverTheLimitIsRefusedBeforeConnecting() {
        var machine = ProxyConnectionStateMachine()
        machine.headReceived(keepAlive: true, expectsContinue: true, declaredLength: 100)
        #expect(machine.forwarding(bodyLimit: 10) == .refuseOverLimit(10))
        let (closing, then) = machine.answering()
        #expect(closing, "the unread body is not worth reading: the connection closes")
        #expect(then == .draining)
        machine.answered(then)
        #expect(machine.phase == .closed)
    }

    @Test func aStreamedBodyOverTheLimitIs413BeforeTheAnswerAndACutAfter() {
        var before = ProxyConnectionStateMachine()
        before.headReceived(keepAlive: true, expectsContinue: false, declaredLength: nil)
        #expect(before.forwarding(bodyLimit: 10) == .connect(sendContinue: false))
        _ = before.connected(reused: false)
        #expect(before.bodyReceived(payload: 8, bytes: 12) == .forward)
        #expect(before.bodyReceived(payload: 3, bytes: 7) == .refuseOverLimit(10))

        var after = ProxyConnectionStateMachine()
        after.headReceived(keepAlive: true, expectsContinue: false, declaredLength: nil)
        _ = after.forwarding(bodyLimit: 10)
        _ = after.connected(reused: false)
        _ = after.responseHeadReceived(upstreamKeepAlive: true, closeDelimited: false)
        #expect(after.bodyReceived(payload: 11, bytes: 11) == .close)
    }

    @Test func continueIsSentOnlyToAClientStillWaitingToSendItsBody() {
        var waiting = ProxyConnectionStateMachine()
        waiting.headReceived(keepAlive: true, expectsContinue: true, declaredLength: 5)
        #expect(waiting.forwarding(bodyLimit: nil) == .connect(sendContinue: true))

        var refused = ProxyConnectionStateMachine()
        refused.headReceived(keepAlive: true, expectsContinue: true, declaredLength: 5)
        let (closing, then) = refused.answering()
        #expect(!closing)
        #expect(then == .draining, "a refused request's body is read and dropped, and the connection goes on")
        refused.answered(then)
        #expect(refused.wantsClientBytes)
        #expect(refused.bodyReceived(payload: 5, bytes: 5) == .drop)
        #expect(refused.requestEnded() == .finished)
        #expect(refused.phase == .idle)
    }

    @Test func aFormIsReadThenDecidedAgainAndATooLargeOneCloses() {
        var machine = ProxyConnectionStateMachine()
        machine.headReceived(keepAlive: true, expectsContinue: false, declaredLength: 9)
        #expect(machine.readingForm() == false)
        #expect(machine.wantsClientBytes)
        #expect(machine.bodyReceived(payload: 9, bytes: 9) == .hold)
        #expect(machine.requestEnded() == .decideWithForm)
        #expect(machine.phase == .deciding)

        var large = ProxyConnectionStateMachine()
        large.headReceived(keepAlive: true, expectsContinue: false, declaredLength: nil)
        _ = large.readingForm()
        #expect(large.bodyReceived(payload: TokenExtractor.formBodyLimit + 1, bytes: TokenExtractor.formBodyLimit + 1) == .refuseForm)
        let answer = large.answering()
        #expect(answer.closing)
    }

    @Test func connectionCloseAndACloseDelimitedAnswerEndTheConnection() {
        var asked = ProxyConnectionStateMachine()
        asked.headReceived(keepAlive: false, expectsContinue: false, declaredLength: nil)
        _ = asked.forwarding(bodyLimit: nil)
        _ = asked.connected(reused: false)
        _ = asked.requestEnded()
        let askedCloses = asked.responseHeadReceived(upstreamKeepAlive: true, closeDelimited: false)
        #expect(askedCloses, "the client asked to close")
        #expect(asked.responseEnded(leftover: false) == .finish(reuseUpstream: true, closing: true, then: .finished))
        #expect(asked.phase == .closed)

        var untilClose = ProxyConnectionStateMachine()
        untilClose.headReceived(keepAlive: true, expectsContinue: false, declaredLength: nil)
        _ = untilClose.forwarding(bodyLimit: nil)
        _ = untilClose.connected(reused: false)
        _ = untilClose.requestEnded()
        let untilCloseCloses = untilClose.responseHeadReceived(upstreamKeepAlive: true, closeDelimited: true)
        #expect(untilCloseCloses, "a body without a length ends with the connection")
        #expect(untilClose.responseEnded(leftover: false) == .finish(reuseUpstream: false, closing: true, then: .finished))
    }

    @Test func anUpstreamThatSaysMoreThanItsAnswerIsNotReused() {
        var machine = ProxyConnectionStateMachine()
        machine.headReceived(keepAlive: true, expectsContinue: false, declaredLength: nil)
        _ = machine.forwarding(bodyLimit: nil)
        _ = machine.connected(reused: false)
        _ = machine.requestEnded()
        _ = machine.responseHeadReceived(upstreamKeepAlive: true, closeDelimited: false)
        #expect(machine.responseEnded(leftover: true) == .finish(reuseUpstream: false, closing: false, then: .finished))
    }

    @Test func anAnswerBeforeTheWholeRequestWasSentDrainsItAndDropsTheUpstream() {
        var machine = ProxyConnectionStateMachine()
        machine.headReceived(keepAlive: true, expectsContinue: false, declaredLength: 100)
        _ = machine.forwarding(bodyLimit: nil)
        _ = machine.connected(reused: false)
        _ = machine.responseHeadReceived(upstreamKeepAlive: true, closeDelimited: false)
        #expect(machine.responseEnded(leftover: false) == .finish(reuseUpstream: false, closing: false, then: .draining))
        #expect(machine.bodyReceived(payload: 100, bytes: 100) == .drop)
        #expect(machine.requestEnded() == .finished)
    }

    @Test func quiescingClosesAnIdleConnectionAndABusyOneAfterItsAnswer() {
        var idle = ProxyConnectionStateMachine()
        let idleCloses = idle.quiesce()
        #expect(idleCloses)
        #expect(!idle.wantsClientBytes)

        var busy = ProxyConnectionStateMachine()
        busy.headReceived(keepAlive: true, expectsContinue: false, declaredLength: nil)
        let busyCloses = busy.quiesce()
        #expect(!busyCloses)
        let answer = busy.answering()
        #expect(answer.closing)
    }

    @Test func badBytesAreAnsweredOnceUnlessAnAnswerIsUnderWay() {
        var fresh = ProxyConnectionStateMachine()
        #expect(fresh.refused() == .answerAndClose)
        #expect(fresh.phase == .closed)

        var midAnswer = ProxyConnectionStateMachine()
        midAnswer.headReceived(keepAlive: true, expectsContinue: false, declaredLength: nil)
        _ = midAnswer.forwarding(bodyLimit: nil)
        _ = midAnswer.connected(reused: false)
        _ = midAnswer.responseHeadReceived(upstreamKeepAlive: true, closeDelimited: false)
        #expect(midAnswer.refused() == .close)
    }

    @Test func aConnectionThatArrivesForARequestNoLongerWaitingGoesBackToThePool() {
        var machine = ProxyConnectionStateMachine()
        machine.headReceived(keepAlive: true, expectsContinue: false, declaredLength: nil)
        _ = machine.forwarding(bodyLimit: nil)
        let (_, then) = machine.answering()
        machine.answered(then)
        #expect(machine.connected(reused: false) == .release)
    }
}
