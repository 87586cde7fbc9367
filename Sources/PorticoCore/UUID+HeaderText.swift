import Foundation

extension UUID {
    /// The same text as `uuidString` (upper-case hexadecimal, hyphenated), written directly: Foundation's goes
    /// through `sprintf`, which showed in the gateway's profile, as every forwarded request names its user and key.
    public var headerText: String {
        let bytes = uuid
        return String(unsafeUninitializedCapacity: 36) { buffer in
            let digits: StaticString = "0123456789ABCDEF"
            var position = 0
            withUnsafeBytes(of: bytes) { raw in
                for (index, byte) in raw.enumerated() {
                    if index == 4 || index == 6 || index == 8 || index == 10 {
                        buffer[position] = UInt8(ascii: "-")
                        position += 1
                    }
                    buffer[position] = digits.utf8Start[Int(byte >> 4)]
                    buffer[position + 1] = digits.utf8Start[Int(byte & 0x0F)]
                    position += 2
                }
            }
            return position
        }
    }
}
