import Foundation

/// A key that picks its own shard cheaply and evenly.
public protocol ShardedKey: Hashable, Sendable {
    var shardBits: UInt { get }
}

/// A dictionary split into a fixed number of shards. A copy with a few entries changed shares every shard it
/// did not touch, so changing one key of a million copies one small shard and the array of shard references,
/// never the whole map: the policy's incremental updates cost the change, not the policy.
public struct ShardedMap<Key: ShardedKey, Value: Sendable>: Sendable {
    private var shards: [[Key: Value]]
    public private(set) var count: Int

    /// `shardCount` is rounded up to a power of two. Empty shards share one empty storage and cost no memory.
    public init(shardCount: Int) {
        var count = 1
        while count < shardCount { count <<= 1 }
        self.shards = Array(repeating: [:], count: count)
        self.count = 0
    }

    @inline(__always) private func shard(of key: Key) -> Int { Int(key.shardBits & UInt(shards.count - 1)) }

    public subscript(key: Key) -> Value? {
        get { shards[shard(of: key)][key] }
        set {
            let index = shard(of: key)
            if let newValue {
                if shards[index].updateValue(newValue, forKey: key) == nil { count += 1 }
            } else if shards[index].removeValue(forKey: key) != nil {
                count -= 1
            }
        }
    }

    /// Room for `expected` entries in all, so a full load does not rehash each shard as it grows.
    public mutating func reserveCapacity(_ expected: Int) {
        let perShard = expected / shards.count + expected / shards.count / 8 + 1
        for index in shards.indices { shards[index].reserveCapacity(perShard) }
    }
}

extension ShardedMap: Equatable where Value: Equatable {
    public static func == (lhs: Self, rhs: Self) -> Bool { lhs.count == rhs.count && lhs.shards == rhs.shards }
}

extension SecretHash: ShardedKey {
    /// A SHA-256 digest is already evenly spread.
    public var shardBits: UInt { UInt(truncatingIfNeeded: prefixWord) }
}

extension UUID: ShardedKey {
    /// The last bytes: random in version 4 and version 7 UUIDs alike (a version 7 UUID starts with its time).
    public var shardBits: UInt {
        let bytes = uuid
        return UInt(bytes.15) | UInt(bytes.14) << 8 | UInt(bytes.13) << 16 | UInt(bytes.12) << 24
    }
}

extension String: ShardedKey {
    public var shardBits: UInt { UInt(bitPattern: hashValue) }
}
