import PorticoFuzzTargets

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafeRawPointer?, _ size: Int) -> CInt {
    FuzzTarget.requestHead.run(UnsafeRawBufferPointer(start: data, count: size))
    return 0
}
