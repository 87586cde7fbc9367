import PorticoFuzzTargets

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafeRawPointer?, _ size: Int) -> CInt {
    FuzzTarget.jws.run(UnsafeRawBufferPointer(start: data, count: size))
    return 0
}
