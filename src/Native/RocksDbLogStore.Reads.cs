using System.Buffers.Binary;
using RaftToolkit.Core.Model;
using RaftToolkit.Core.Storage;
using RaftToolkit.Native.Interop;
using RaftToolkit.Native.Keys;
using RaftToolkit.Native.Records;

namespace RaftToolkit.Native;

/// <summary>Reads through the store's own interop: bounded iterators and pinned gets.</summary>
public sealed partial class RocksDbLogStore
{
    /// <summary>The most entries a read makes room for before it has read any.</summary>
    private const int InitialReadCapacity = 256;

    /// <summary>Reads the entries of <c>[start, end)</c> that exist, in order, up to <paramref name="limits"/>.</summary>
    private unsafe void ReadRange(ulong groupId, ulong start, ulong end, ReadLimits limits, List<Entry> into)
    {
        end = Math.Min(end, LogKeys.EndIndex);
        Span<byte> lower = stackalloc byte[16];
        Span<byte> upper = stackalloc byte[16];
        int keyLength = LogKeys.WriteLogKey(lower, _space, groupId, start);
        LogKeys.WriteLogKey(upper, _space, groupId, end);
        BeginRead();
        try
        {
            // SAFETY: both keys live on this stack frame, which outlives the iterator and the
            // read options that point at the upper bound (both destroyed in the finally below).
            fixed (byte* lowerKey = lower)
            fixed (byte* upperKey = upper)
            {
                nint readOptions = RocksDbNative.ReadOptionsCreate();
                RocksDbNative.ReadOptionsSetIterateUpperBound(readOptions, upperKey, (nuint)keyLength);
                nint iterator = RocksDbNative.CreateIterator(_dbHandle, readOptions, _logFamily);
                try
                {
                    RocksDbNative.IteratorSeek(iterator, lowerKey, (nuint)keyLength);
                    long bytes = 0;
                    ulong expected = start;
                    while (RocksDbNative.IteratorValid(iterator) != 0)
                    {
                        // SAFETY: key and value point into the iterator's current block and stay
                        // valid until the next move; both are consumed before IteratorNext.
                        byte* key = RocksDbNative.IteratorKey(iterator, out nuint keyBytes);
                        if ((int)keyBytes != keyLength)
                        {
                            throw MalformedLogKey(groupId, FirstUnread(groupId, expected, into.Count), new ReadOnlySpan<byte>(key, (int)keyBytes), keyLength);
                        }

                        ulong index = LogKeys.ReadIndex(new ReadOnlySpan<byte>(key, (int)keyBytes), _space);
                        if (into.Count > 0 && index != expected)
                        {
                            throw new StorageInconsistencyException($"Group {groupId}: the log has a hole, index {index} follows {expected - 1}.");
                        }

                        byte* value = RocksDbNative.IteratorValue(iterator, out nuint valueBytes);
                        into.Add(LogRecordFormat.Decode(new ReadOnlySpan<byte>(value, (int)valueBytes), _space, groupId, index));
                        bytes += (long)valueBytes;
                        expected = index + 1;

                        // Stop on the last entry wanted rather than step past it: stepping can
                        // load the next block, costing a read and, if that block is damaged,
                        // failing a read that holds every entry it asked for.
                        if (expected == end || into.Count == limits.MaxEntries || (bytes >= limits.MaxBytes && into.Count >= limits.MinEntries))
                        {
                            break;
                        }

                        RocksDbNative.IteratorNext(iterator);
                    }

                    // The log is contiguous, so a block RocksDB finds damaged holds the first
                    // entry not read.
                    RocksDbNative.IteratorGetError(iterator, out nint error);
                    if (error != 0)
                    {
                        expected = FirstUnread(groupId, expected, into.Count);
                    }

                    ThrowIfReadFailed(error, groupId, new EntryLogIdDecoder(_space, expected));
                }
                finally
                {
                    RocksDbNative.IteratorDestroy(iterator);
                    RocksDbNative.ReadOptionsDestroy(readOptions);
                }
            }
        }
        finally
        {
            EndRead();
        }
    }

    /// <summary>
    /// Where a range read that failed stood, to name in its error: the index after the last
    /// entry it read, or, before it read any, the first index at or after its start that the
    /// group's log can hold (a read may start below the log, and "damaged at index 0" would
    /// send an operator to an entry purged long ago). Only the error path pays for the read.
    /// </summary>
    private ulong FirstUnread(ulong groupId, ulong expected, int entriesRead)
    {
        if (entriesRead > 0)
        {
            return expected;
        }

        try
        {
            return ReadMetaLogId(groupId, MetaLabel.LastPurged) is { } purged ? Math.Max(expected, purged.Index + 1) : expected;
        }
        catch (RaftStorageException)
        {
            // The marker is damaged too, or unreadable: the read's start is all there is to name.
            return expected;
        }
    }

    /// <summary>A key in a group's log range that is not a log key: not the key space's length.</summary>
    private static LogCorruptionException MalformedLogKey(ulong groupId, ulong index, ReadOnlySpan<byte> key, int keyLength) =>
        new(groupId, index, $"a key of {key.Length} bytes ({Convert.ToHexString(key)}) lies among the group's log entries, where every log key is {keyLength} bytes; nothing after it is read");

    /// <summary>The id of the group's last stored entry, if any.</summary>
    /// <param name="groupId">The group.</param>
    /// <param name="firstIndex">The first index the group's log may hold (one past its last purged index): where a
    /// damaged block, or a key that is not a log key, is looked for, if the backward probe meets one.</param>
    private LogId? ReadLastEntryId(ulong groupId, ulong firstIndex)
    {
        var last = ProbeLastEntryId(groupId, out bool damaged);
        return damaged ? ScanForLastEntryId(groupId, firstIndex) : last;
    }

    /// <summary>
    /// The group's last entry by one backward seek. <paramref name="damaged"/> is set, and null
    /// returned, when RocksDB found a block on the way damaged: the seek cannot tell which
    /// entry that block held, or whether it was this group's at all. Likewise when the seek
    /// lands on a key of the group that is not a log key (not the key space's length), which
    /// taken as "no entry" would load a group with entries as empty.
    /// </summary>
    private unsafe LogId? ProbeLastEntryId(ulong groupId, out bool damaged)
    {
        Span<byte> probe = stackalloc byte[16];
        int keyLength = LogKeys.WriteLogKey(probe, _space, groupId, LogKeys.EndIndex - 1);
        BeginRead();
        try
        {
            // SAFETY: the probe key lives on this stack frame; RocksDB reads it only during the seek.
            fixed (byte* probeKey = probe)
            {
                nint readOptions = RocksDbNative.ReadOptionsCreate();

                // Total order: the probe may land on another group's key (or none), which a
                // prefix-mode seek does not promise to report correctly.
                RocksDbNative.ReadOptionsSetTotalOrderSeek(readOptions, 1);
                nint iterator = RocksDbNative.CreateIterator(_dbHandle, readOptions, _logFamily);
                try
                {
                    RocksDbNative.IteratorSeekForPrev(iterator, probeKey, (nuint)keyLength);
                    LogId? last = null;
                    bool malformed = false;
                    if (RocksDbNative.IteratorValid(iterator) != 0)
                    {
                        // SAFETY: key and value are read before the iterator moves or is destroyed.
                        var key = new ReadOnlySpan<byte>(RocksDbNative.IteratorKey(iterator, out nuint keyBytes), (int)keyBytes);
                        bool ofThisGroup = _space == LogKeySpace.Flat || (key.Length >= sizeof(ulong) && LogKeys.ReadGroupId(key) == groupId);
                        malformed = ofThisGroup && key.Length != keyLength;
                        if (ofThisGroup && !malformed)
                        {
                            ulong index = LogKeys.ReadIndex(key, _space);
                            var value = new ReadOnlySpan<byte>(RocksDbNative.IteratorValue(iterator, out nuint valueBytes), (int)valueBytes);
                            last = LogRecordFormat.DecodeLogId(value, _space, groupId, index);
                        }
                    }

                    RocksDbNative.IteratorGetError(iterator, out nint error);
                    var failure = RocksDbNative.TakeError(error);
                    if (failure is not null && !IsDamage(failure))
                    {
                        throw ReadFailed(groupId, failure);
                    }

                    damaged = failure is not null || malformed;
                    return damaged ? null : last;
                }
                finally
                {
                    RocksDbNative.IteratorDestroy(iterator);
                    RocksDbNative.ReadOptionsDestroy(readOptions);
                }
            }
        }
        finally
        {
            EndRead();
        }
    }

    /// <summary>
    /// The group's last entry by reading its log forward, chunk by chunk: the slow path, taken
    /// only after the backward probe met a damaged block. A damaged block in the group's log
    /// fails the read as <see cref="LogCorruptionException"/> naming the first entry it holds
    /// (see <see cref="ReadRange"/>); if the whole log reads, the damage lay in a neighbouring
    /// group's block that the probe touched, and this group's last entry is the one read last.
    /// </summary>
    private LogId? ScanForLastEntryId(ulong groupId, ulong firstIndex)
    {
        var chunk = new List<Entry>(InitialReadCapacity);
        LogId? last = null;
        ulong next = firstIndex;
        while (true)
        {
            chunk.Clear();
            ReadRange(groupId, next, LogKeys.EndIndex, ReadLimits.Limited, chunk);
            if (chunk.Count == 0)
            {
                return last;
            }

            last = chunk[^1].LogId;
            next = last.Value.Index + 1;
        }
    }

    /// <summary>The id of the entry at <paramref name="index"/> (its record verified, its body not copied), or null when it is not stored.</summary>
    private LogId? ReadEntryLogId(ulong groupId, ulong index)
    {
        Span<byte> key = stackalloc byte[LogKeys.MaxKeyLength];
        int keyLength = LogKeys.WriteLogKey(key, _space, groupId, index);
        return TryGetPinned(_logFamily, key[..keyLength], groupId, new EntryLogIdDecoder(_space, index), out LogId logId) ? logId : null;
    }

    private Vote? ReadVoteRecord(ulong groupId)
    {
        Span<byte> key = stackalloc byte[LogKeys.MaxKeyLength];
        int keyLength = LogKeys.WriteMetaKey(key, _space, groupId, MetaLabel.Vote);
        return TryGetPinned(_metaFamily, key[..keyLength], groupId, default(VoteDecoder), out Vote vote) ? vote : null;
    }

    private LogId? ReadMetaLogId(ulong groupId, MetaLabel label)
    {
        Span<byte> key = stackalloc byte[LogKeys.MaxKeyLength];
        int keyLength = LogKeys.WriteMetaKey(key, _space, groupId, label);
        return TryGetPinned(_metaFamily, key[..keyLength], groupId, new LogIdDecoder(label), out LogId? logId) ? logId : null;
    }

    /// <summary>
    /// One point read through get-pinned: the value is decoded straight out of RocksDB's pinned
    /// buffer (no copy); false when the key is absent. The decoder is a struct so the JIT
    /// specialises this method per record kind.
    /// </summary>
    private unsafe bool TryGetPinned<T, TDecoder>(nint family, ReadOnlySpan<byte> key, ulong groupId, TDecoder decoder, out T value)
        where TDecoder : struct, IRecordDecoder<T>
    {
        BeginRead();
        try
        {
            // SAFETY: the key lives on the caller's stack frame; RocksDB reads it only during the get.
            fixed (byte* keyBytes = key)
            {
                nint slice = RocksDbNative.GetPinned(_dbHandle, _readOptions, family, keyBytes, (nuint)key.Length, out nint error);
                ThrowIfReadFailed(error, groupId, decoder);
                if (slice == 0)
                {
                    value = default!;
                    return false;
                }

                try
                {
                    // SAFETY: the pinned value stays valid until the slice is destroyed below.
                    byte* pinned = RocksDbNative.PinnableSliceValue(slice, out nuint valueBytes);
                    value = decoder.Decode(new ReadOnlySpan<byte>(pinned, (int)valueBytes), groupId);
                    return true;
                }
                finally
                {
                    RocksDbNative.PinnableSliceDestroy(slice);
                }
            }
        }
        finally
        {
            EndRead();
        }
    }

    /// <summary>Names one stored record in a corruption error.</summary>
    private interface IRecordName
    {
        /// <summary>The error for this record, which RocksDB found damaged (<paramref name="cause"/>) before it could be decoded.</summary>
        RaftStorageException Damaged(ulong groupId, RocksDbNativeException cause);
    }

    /// <summary>Decodes one kind of stored record (and names it in a corruption error).</summary>
    private interface IRecordDecoder<out T> : IRecordName
    {
        T Decode(ReadOnlySpan<byte> value, ulong groupId);
    }

    private readonly struct EntryLogIdDecoder(LogKeySpace space, ulong index) : IRecordDecoder<LogId>
    {
        public LogId Decode(ReadOnlySpan<byte> value, ulong groupId) => LogRecordFormat.DecodeLogId(value, space, groupId, index);

        public RaftStorageException Damaged(ulong groupId, RocksDbNativeException cause) =>
            new LogCorruptionException(groupId, index, $"RocksDB found the stored block holding it damaged ({cause.Message})", cause);
    }

    private readonly struct VoteDecoder : IRecordDecoder<Vote>
    {
        public Vote Decode(ReadOnlySpan<byte> value, ulong groupId) => MetaRecordFormat.DecodeVote(value, groupId);

        public RaftStorageException Damaged(ulong groupId, RocksDbNativeException cause) => new MetaRecordCorruptionException(groupId, MetaLabel.Vote, cause);
    }

    private readonly struct LogIdDecoder(MetaLabel label) : IRecordDecoder<LogId?>
    {
        public LogId? Decode(ReadOnlySpan<byte> value, ulong groupId) => MetaRecordFormat.DecodeLogId(value, groupId, label);

        public RaftStorageException Damaged(ulong groupId, RocksDbNativeException cause) => new MetaRecordCorruptionException(groupId, label, cause);
    }

    /// <summary>Every group with a key in either column family, ascending.</summary>
    private List<ulong> ListPrefixedGroups()
    {
        var inLog = ScanGroupIds(_logFamily);
        var inMeta = ScanGroupIds(_metaFamily);
        var merged = new List<ulong>(inLog.Count + inMeta.Count);
        int i = 0;
        int j = 0;
        while (i < inLog.Count || j < inMeta.Count)
        {
            ulong next = j >= inMeta.Count || (i < inLog.Count && inLog[i] <= inMeta[j]) ? inLog[i] : inMeta[j];
            merged.Add(next);
            while (i < inLog.Count && inLog[i] == next)
            {
                i++;
            }

            while (j < inMeta.Count && inMeta[j] == next)
            {
                j++;
            }
        }

        return merged;
    }

    /// <summary>The distinct group prefixes of one column family: one seek per group, not per key.</summary>
    private unsafe List<ulong> ScanGroupIds(nint family)
    {
        var groups = new List<ulong>();
        Span<byte> seek = stackalloc byte[sizeof(ulong)];
        BeginRead();
        try
        {
            // SAFETY: the seek key lives on this stack frame; RocksDB reads it only during each seek.
            fixed (byte* seekKey = seek)
            {
                nint readOptions = RocksDbNative.ReadOptionsCreate();
                RocksDbNative.ReadOptionsSetTotalOrderSeek(readOptions, 1);
                nint iterator = RocksDbNative.CreateIterator(_dbHandle, readOptions, family);
                try
                {
                    BinaryPrimitives.WriteUInt64BigEndian(seek, 0);
                    RocksDbNative.IteratorSeek(iterator, seekKey, sizeof(ulong));
                    while (RocksDbNative.IteratorValid(iterator) != 0)
                    {
                        // SAFETY: the key is read before the iterator moves.
                        var key = new ReadOnlySpan<byte>(RocksDbNative.IteratorKey(iterator, out nuint keyBytes), (int)keyBytes);
                        if (key.Length < sizeof(ulong))
                        {
                            RocksDbNative.IteratorNext(iterator);
                            continue;
                        }

                        ulong groupId = LogKeys.ReadGroupId(key);
                        groups.Add(groupId);
                        if (groupId == ulong.MaxValue)
                        {
                            break;
                        }

                        // An 8-byte key sorts before every longer key with the same prefix: the
                        // next group's first key.
                        BinaryPrimitives.WriteUInt64BigEndian(seek, groupId + 1);
                        RocksDbNative.IteratorSeek(iterator, seekKey, sizeof(ulong));
                    }

                    RocksDbNative.IteratorGetError(iterator, out nint error);
                    ThrowIfReadFailed(error, 0);
                }
                finally
                {
                    RocksDbNative.IteratorDestroy(iterator);
                    RocksDbNative.ReadOptionsDestroy(readOptions);
                }
            }
        }
        finally
        {
            EndRead();
        }

        return groups;
    }

    /// <summary>True when the flat database holds any log record or meta value.</summary>
    private bool ReadFlatHasState()
    {
        // The purged id first: only when there is none does the log start at index 0, where the
        // last-entry read looks for a damaged block if it meets one.
        ulong group = _options.FlatGroupId;
        return ReadMetaLogId(group, MetaLabel.LastPurged) is not null
            || ReadLastEntryId(group, firstIndex: 0) is not null
            || ReadVoteRecord(group) is not null
            || ReadMetaLogId(group, MetaLabel.Committed) is not null;
    }

    /// <summary>Test seam: runs as each read of the database begins, before it reaches RocksDB.</summary>
    internal Action? BeforeRead { get; set; }

    private void BeginRead()
    {
        BeforeRead?.Invoke();
        if (!TryBeginRead())
        {
            throw new StoreClosedException();
        }
    }

    /// <summary>Counts a read in, unless the store is closing: disposal waits for counted reads before it frees the database.</summary>
    private bool TryBeginRead()
    {
        Interlocked.Increment(ref _activeReads);
        if (Volatile.Read(ref _closed) != 0)
        {
            Interlocked.Decrement(ref _activeReads);
            return false;
        }

        return true;
    }

    private void EndRead() => Interlocked.Decrement(ref _activeReads);

    private static void ThrowIfReadFailed(nint error, ulong groupId)
    {
        if (RocksDbNative.TakeError(error) is { } failure)
        {
            throw ReadFailed(groupId, failure);
        }
    }

    /// <summary>
    /// As <see cref="ThrowIfReadFailed(nint, ulong)"/>, but a read that RocksDB refused because
    /// its own checks (block checksums, table contents) found the stored data damaged is
    /// reported as corruption of the record <paramref name="record"/> names.
    /// </summary>
    private static void ThrowIfReadFailed<TRecord>(nint error, ulong groupId, TRecord record)
        where TRecord : struct, IRecordName
    {
        if (RocksDbNative.TakeError(error) is { } failure)
        {
            throw IsDamage(failure) ? record.Damaged(groupId, failure) : ReadFailed(groupId, failure);
        }
    }

    /// <summary>Whether RocksDB refused a read because its own checks (block checksums, table contents) found stored data damaged.</summary>
    private static bool IsDamage(RocksDbNativeException failure) => failure.Message.StartsWith("Corruption:", StringComparison.Ordinal);

    private static RaftStorageException ReadFailed(ulong groupId, RocksDbNativeException failure) =>
        new($"Reading the log of group {groupId} failed: {failure.Message}", failure);

    /// <summary>How much one read returns: it stops at <see cref="MaxEntries"/> entries, or once it holds
    /// <see cref="MaxBytes"/> record bytes and at least <see cref="MinEntries"/> entries.</summary>
    internal readonly record struct ReadLimits(int MaxEntries, long MaxBytes, int MinEntries)
    {
        /// <summary>Every entry of the range.</summary>
        public static ReadLimits Unlimited { get; } = new(int.MaxValue, long.MaxValue, 1);

        /// <summary>A limited read: 1,024 entries or 4 MiB, and always the first entry, however large.</summary>
        public static ReadLimits Limited { get; } = new(1024, 4L << 20, 1);

        /// <summary>
        /// A stream's chunk: as <see cref="Limited"/>, but at least two entries whatever their size.
        /// A chunk after the first starts at the entry streamed last (the check that the log still
        /// holds it), so a chunk of that entry alone would end the stream with entries left to read.
        /// </summary>
        public static ReadLimits StreamChunk { get; } = Limited with { MinEntries = 2 };
    }
}
