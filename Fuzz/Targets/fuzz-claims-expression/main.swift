import PorticoFuzzTargets

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafeRawPointer?, _ size: Int) -> CInt {
    FuzzTarget.claimsExpression.run(UnsafeRawBufferPointer(start: data, count: size))
    return 0
}
