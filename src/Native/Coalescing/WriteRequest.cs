using System.Buffers;
using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Threading.Tasks.Sources;
using CommunityToolkit.HighPerformance.Buffers;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.ObjectPool;
using RaftToolkit.Core.Model;
using RaftToolkit.Core.Storage;
using RaftToolkit.Native.Diagnostics;
using RaftToolkit.Native.Keys;
using RaftToolkit.Native.Records;

namespace RaftToolkit.Native.Coalescing;

/// <summary>Which column family a staged operation addresses.</summary>
internal enum StagedFamily : byte
{
    Log,
    Meta,
}

/// <summary>What a staged operation does in the native write batch.</summary>
internal enum StagedKind : byte
{
    Put,
    Delete,
    DeleteRange,
}

/// <summary>
/// One native operation, as offsets into the request's byte buffer (offsets, not pointers,
/// because the buffer may move while it grows). For a DeleteRange the "value" is the end key.
/// A put may take part of its value from the caller's memory: then the value is the first
/// <see cref="DataAt"/> staged bytes, <see cref="Data"/>, and the rest of the staged bytes.
/// </summary>
/// <remarks><see cref="Data"/> is read only while the request is submitted, inside the caller's
/// call: the coalescer copies it into the native batch before the call returns, and then drops it
/// (<see cref="WriteRequest.ForgetCallerData"/>).</remarks>
internal readonly record struct StagedOp(StagedKind Kind, StagedFamily Family, int KeyOffset, int KeyLength, int ValueOffset, int ValueLength, ReadOnlyMemory<byte> Data = default, int DataAt = 0);

/// <summary>What staging a write takes: <see cref="Staged"/> bytes of the request's buffer, of <see cref="Total"/> bytes written.</summary>
internal readonly record struct WriteSize(long Staged, long Total)
{
    public static WriteSize operator +(WriteSize a, WriteSize b) => new(a.Staged + b.Staged, a.Total + b.Total);
}

/// <summary>What a write does to a group's cached log ends; checked under the coalescer's gate.</summary>
internal enum CheckKind : byte
{
    None,
    Append,
    TruncateAfter,
    Purge,
    RemoveGroup,
}

/// <summary>One group-level effect of a request, validated against the cached log ends.</summary>
internal readonly record struct GroupCheck(GroupLogState State, CheckKind Kind, LogId? LogId, LogId FirstEntry, LogId LastEntry);

/// <summary>
/// One caller's write: its native operations encoded into one pooled buffer, the checks to run
/// against the group caches, and the completion the caller awaits. Pooled and reused, so a
/// steady stream of appends allocates nothing.
/// </summary>
/// <remarks>
/// Life cycle: rented by the store, staged (outside any lock), submitted to the
/// <see cref="WriteCoalescer"/> (checked and copied into a native batch under its gate),
/// completed once the batch's write returned, and returned to the pool once the caller has read
/// the result and the completion has returned (see <see cref="LetGo"/>).
/// </remarks>
internal sealed class WriteRequest : IValueTaskSource
{
    private readonly ObjectPool<WriteRequest> _pool;
    private ManualResetValueTaskSourceCore<bool> _completion;
    private const int InitialBytes = 1024;
    private const int InitialOps = 8;
    private const int InitialChecks = 4;

    // What a request may keep across uses: room for a 64-entry append of 1 KiB entries. A
    // steady stream of such writes reuses its buffers; anything larger is rare enough to allocate.
    private const int RetainedBytes = 128 * 1024;
    private const int RetainedOps = 64;
    private const int RetainedChecks = 16;

    // The arrays a request owns for life; larger ones are rented from the shared array pools
    // and given back there (see Grow), so a host round that spans thousands of groups, every
    // round, reuses the same few arrays instead of allocating them.
    private readonly StagedOp[] _ownOps = new StagedOp[InitialOps];
    private readonly GroupCheck[] _ownChecks = new GroupCheck[InitialChecks];
    private StagedOp[] _ops;
    private GroupCheck[] _checks;

    public WriteRequest(ObjectPool<WriteRequest> pool)
    {
        _pool = pool;
        _ops = _ownOps;
        _checks = _ownChecks;

        // Continuations run on the writer thread, outside every lock: a caller that awaits an
        // append and immediately appends again just queues into the next batch, which is what
        // lets concurrent appenders share fsyncs without a thread-pool hop per completion.
        _completion.RunContinuationsAsynchronously = false;
    }

    /// <summary>Keys and values of every staged operation, back to back (less the data entries pass from the caller's memory).</summary>
    public ArrayPoolBufferWriter<byte> Data { get; private set; } = new(InitialBytes);

    /// <summary>Every key and value byte the request writes: its staged bytes and the data taken from the caller's memory.</summary>
    public long ByteCount => Data.WrittenCount + _callerBytes;

    /// <summary>The bytes of <see cref="StagedOp.Data"/> over every staged operation.</summary>
    private long _callerBytes;

    /// <summary>How many of the completion and the caller are done with the request (see <see cref="LetGo"/>).</summary>
    private int _lettingGo;

    /// <summary>The staged native operations, in order.</summary>
    public ReadOnlySpan<StagedOp> Ops => _ops.AsSpan(0, OpCount);

    /// <summary>How many native operations are staged.</summary>
    public int OpCount { get; private set; }

    /// <summary>The group checks, in order.</summary>
    public ReadOnlySpan<GroupCheck> Checks => _checks.AsSpan(0, CheckCount);

    /// <summary>How many group checks are staged.</summary>
    public int CheckCount { get; private set; }

    /// <summary>Entries appended by this request (for metrics).</summary>
    public int EntryCount { get; private set; }

    /// <summary>
    /// The write names its groups by id (a batch write or a removal), not through a view: it
    /// applies to a group that a removal replaced after it was staged, where a write through a
    /// view of the removed group fails.
    /// </summary>
    public bool NamesGroupsById { get; set; }

    /// <summary>Told when the write is durable (appends only).</summary>
    public IFlushCallback? Callback { get; set; }

    /// <summary>
    /// The state that stands for the group this request removes, from when the removal is queued
    /// (a request removes at most one group); null for any other write.
    /// </summary>
    public GroupLogState? Replacement { get; private set; }

    /// <summary>The token of the current use, for the <see cref="ValueTask"/> handed to the caller.</summary>
    public short Version => _completion.Version;

    /// <summary>A generous estimate of what any operation but an append stages: two log keys, or a meta key and record.</summary>
    public static WriteSize OtherOperation { get; } = new(128, 128);

    /// <summary>What an append of <paramref name="entries"/> takes: each entry's key and record, all staged but data passed from the caller's memory (<see cref="CallerDataMinBytes"/>).</summary>
    public static WriteSize AppendSize(LogKeySpace space, ReadOnlySpan<Entry> entries)
    {
        long staged = (long)entries.Length * LogKeys.LogKeyLength(space);
        long passed = 0;
        foreach (ref readonly var entry in entries)
        {
            staged += LogRecordFormat.FramingSize(entry);
            var data = LogRecordFormat.DataOf(entry);
            if (PassedFromCaller(data))
            {
                passed += data.Length;
            }
            else
            {
                staged += data.Length;
            }
        }

        return new(staged, staged + passed);
    }

    /// <summary>
    /// Data at least this long goes to RocksDB from the caller's memory; shorter data is staged
    /// with its framing.
    /// </summary>
    /// <remarks>
    /// Passing data from the caller's memory takes a put of value parts, and RocksDB allocates
    /// two part lists on the native heap for each: a malloc and a free apiece, 4 % of the writer
    /// thread's CPU on workload (a) (128-byte entries). Staging 128 bytes into a buffer still in
    /// cache costs less; staging 1 KiB into one a round of a thousand appenders has evicted
    /// costs more (see <see cref="LogRecordFormat"/>).
    /// </remarks>
    public const int CallerDataMinBytes = 512;

    private static bool PassedFromCaller(ReadOnlyMemory<byte> data) => data.Length >= CallerDataMinBytes;

    /// <summary>
    /// The most one write may carry, staged or taken from the caller's memory: 1 GiB, less the
    /// <see cref="EncoderHeadroom"/>. A write of blank, membership or short entries stages all of
    /// it; the staging buffer grows to powers of two, and the next one, 2 GiB, is past the
    /// largest array .NET allocates.
    /// </summary>
    public const long MaxWriteBytes = (1L << 30) - EncoderHeadroom;

    /// <summary>
    /// What staging asks for beyond what it writes: room for a record header at its longest, or a
    /// key, before knowing how much of it is used. Reserved on top of a write's staged bytes, so
    /// that the last record of a write that fills the reservation exactly does not double the
    /// buffer (and copy it) for the few bytes it asks for and leaves unused.
    /// </summary>
    private const int EncoderHeadroom = 64;

    /// <summary>
    /// Makes room for <paramref name="size"/> more staged bytes at once. Staging a large write
    /// into a buffer that grows as it goes doubles it a dozen times, copying everything staged
    /// so far each time: a fifth of the time a 1,024-entry write of 1 KiB entries took to stage.
    /// </summary>
    /// <exception cref="ArgumentException">The write would carry more than <see cref="MaxWriteBytes"/> (reported as <paramref name="paramName"/>).</exception>
    public void Reserve(WriteSize size, string paramName)
    {
        if (ByteCount + size.Total > MaxWriteBytes)
        {
            throw new ArgumentException(
                $"The write would carry {ByteCount + size.Total:N0} bytes of keys and records; one write carries at most {MaxWriteBytes:N0} (1 GiB): split it into smaller writes.",
                paramName);
        }

        Data.GetSpan((int)size.Staged + EncoderHeadroom);
    }

    /// <summary>Stages the records of <paramref name="entries"/> (validated contiguous by the caller).</summary>
    public void StageAppend(LogKeySpace space, GroupLogState state, ReadOnlySpan<Entry> entries)
    {
        Debug.Assert(!entries.IsEmpty, "an append stages at least one entry");
        for (int i = 0; i < entries.Length; i++)
        {
            ref readonly var entry = ref entries[i];
            int keyOffset = WriteLogKey(space, state.GroupId, entry.Index);
            int valueOffset = Data.WrittenCount;
            var data = LogRecordFormat.DataOf(entry);
            if (!PassedFromCaller(data))
            {
                int recordLength = LogRecordFormat.Encode(Data, entry, space, state.GroupId);
                AddOp(new(StagedKind.Put, StagedFamily.Log, keyOffset, LogKeys.LogKeyLength(space), valueOffset, recordLength));
                continue;
            }

            int valueLength = LogRecordFormat.EncodeFraming(Data, entry, space, state.GroupId, out int dataAt);
            _callerBytes += data.Length;
            AddOp(new(StagedKind.Put, StagedFamily.Log, keyOffset, LogKeys.LogKeyLength(space), valueOffset, valueLength, data, dataAt));
        }

        EntryCount += entries.Length;
        AddCheck(new(state, CheckKind.Append, null, entries[0].LogId, entries[^1].LogId));
    }

    /// <summary>Stages: delete every entry after <paramref name="logId"/> (all when null).</summary>
    public void StageTruncateAfter(LogKeySpace space, GroupLogState state, LogId? logId)
    {
        int start = WriteLogKey(space, state.GroupId, logId.NextIndex());
        int end = WriteLogKey(space, state.GroupId, LogKeys.EndIndex);
        int length = LogKeys.LogKeyLength(space);
        AddOp(new(StagedKind.DeleteRange, StagedFamily.Log, start, length, end, length));
        AddCheck(new(state, CheckKind.TruncateAfter, logId, default, default));
    }

    /// <summary>Stages: delete every entry up to <paramref name="logId"/> and record it as purged, in the same batch.</summary>
    public void StagePurge(LogKeySpace space, GroupLogState state, LogId logId)
    {
        int start = WriteLogKey(space, state.GroupId, 0);
        int end = WriteLogKey(space, state.GroupId, logId.Index + 1);
        int length = LogKeys.LogKeyLength(space);
        AddOp(new(StagedKind.DeleteRange, StagedFamily.Log, start, length, end, length));
        StageMetaLogId(space, state.GroupId, MetaLabel.LastPurged, logId);
        AddCheck(new(state, CheckKind.Purge, logId, default, default));
    }

    /// <summary>Stages: persist <paramref name="vote"/>.</summary>
    public void StageVote(LogKeySpace space, GroupLogState state, Vote vote)
    {
        var (keyOffset, keyLength) = WriteMetaKey(space, state.GroupId, MetaLabel.Vote);
        int valueOffset = Data.WrittenCount;
        int valueLength = MetaRecordFormat.EncodeVote(Data, vote);
        AddOp(new(StagedKind.Put, StagedFamily.Meta, keyOffset, keyLength, valueOffset, valueLength));
        AddCheck(new(state, CheckKind.None, null, default, default));
    }

    /// <summary>Stages: record <paramref name="committed"/> (deleting the record when null).</summary>
    public void StageCommitted(LogKeySpace space, GroupLogState state, LogId? committed)
    {
        if (committed is null)
        {
            var (keyOffset, keyLength) = WriteMetaKey(space, state.GroupId, MetaLabel.Committed);
            AddOp(new(StagedKind.Delete, StagedFamily.Meta, keyOffset, keyLength, 0, 0));
        }
        else
        {
            StageMetaLogId(space, state.GroupId, MetaLabel.Committed, committed);
        }

        AddCheck(new(state, CheckKind.None, null, default, default));
    }

    /// <summary>Stages: delete every log and meta key of a group (group-prefixed key space only).</summary>
    public void StageRemoveGroup(GroupLogState state)
    {
        const LogKeySpace space = LogKeySpace.GroupPrefixed;
        int length = LogKeys.LogKeyLength(space);
        int start = WriteLogKey(space, state.GroupId, 0);
        int end = WriteLogKey(space, state.GroupId, LogKeys.EndIndex);
        AddOp(new(StagedKind.DeleteRange, StagedFamily.Log, start, length, end, length));

        // The meta range bounds are "group ‖ '/'" and "group ‖ '0'", back to back in the buffer.
        const int MetaBoundLength = sizeof(ulong) + 1;
        int metaStart = Data.WrittenCount;
        var bounds = Data.GetSpan(2 * MetaBoundLength);
        LogKeys.WriteMetaRange(bounds, bounds[MetaBoundLength..], state.GroupId);
        Data.Advance(2 * MetaBoundLength);
        AddOp(new(StagedKind.DeleteRange, StagedFamily.Meta, metaStart, MetaBoundLength, metaStart + MetaBoundLength, MetaBoundLength));
        AddCheck(new(state, CheckKind.RemoveGroup, null, default, default));
    }

    /// <summary>
    /// Checks every group effect against the cached log ends (as left by the previous effects
    /// of this same request) and, only if all pass, applies them. Runs under the coalescer's gate.
    /// </summary>
    /// <exception cref="LogOrderException">An effect would break a log's order; nothing was applied.</exception>
    /// <exception cref="UnknownGroupException">A group written through a view was removed; nothing was applied.</exception>
    public void CheckAndApply(long stamp, IGroupDirectory groups)
    {
        var checks = Checks;
        for (int i = 0; i < checks.Length; i++)
        {
            var state = checks[i].State;
            if (state.Removed || state.Forgotten)
            {
                if (!NamesGroupsById)
                {
                    // Views are never forgotten (see GroupLogState.HandedOut).
                    Debug.Assert(!state.Forgotten, "a view's state is never forgotten");
                    throw new UnknownGroupException(state.GroupId);
                }

                // Staged against a state that a removal replaced since, or that the store forgot
                // once a removal was written: the write applies to the group as it is now, as if
                // the removal had been queued before it was staged. Only the state changes:
                // staged keys name the group by id.
                state = groups.Current(state.GroupId);
                _checks[i] = checks[i] with { State = state };
            }

            ref readonly var check = ref checks[i];
            Debug.Assert(state.Loaded, "a group is loaded before it is written");

            if (state.PendingStamp != stamp)
            {
                state.PendingStamp = stamp;
                state.PendingPurged = state.LastPurged;
                state.PendingLastLogId = state.LastLogId;
                state.PendingLastLogIdAsNamed = state.LastLogIdAsNamed;
            }

            switch (check.Kind)
            {
                case CheckKind.Append:
                    ulong expected = state.PendingLastLogId.NextIndex();
                    if (check.FirstEntry.Index != expected)
                    {
                        throw new LogOrderException(state.GroupId, $"append must start at index {expected} (last log id {Describe(state.PendingLastLogId)}), but starts at {check.FirstEntry}.");
                    }

                    state.PendingLastLogId = check.LastEntry;
                    state.PendingLastLogIdAsNamed = false;
                    break;
                case CheckKind.TruncateAfter:
                    if (state.PendingPurged is { } purged && (check.LogId is not { } keep || keep.Index < purged.Index))
                    {
                        throw new LogOrderException(state.GroupId, $"cannot truncate after {Describe(check.LogId)}: entries up to {purged} are purged.");
                    }

                    if (check.LogId is not { } after)
                    {
                        state.PendingLastLogId = null;
                        state.PendingLastLogIdAsNamed = false;
                    }
                    else if (state.PendingLastLogId is { } last && after.Index < last.Index)
                    {
                        // Truncating after the last purged index leaves only the purged id, whatever
                        // id the caller named there: the cache says what a reload would read. Inside
                        // the log, the entry kept is the stored one, whose id only a read tells (its
                        // term may not be the one named): marked, and read when reported.
                        bool atPurged = state.PendingPurged is { } purgedId && after.Index == purgedId.Index;
                        state.PendingLastLogId = atPurged ? state.PendingPurged : after;
                        state.PendingLastLogIdAsNamed = !atPurged;
                    }

                    break;
                case CheckKind.Purge:
                    // By index, as truncation is checked: a purge that moved the purged index back
                    // would leave the log starting after entries it claims to keep.
                    var upTo = check.LogId!.Value;
                    if (state.PendingPurged is { } previous && upTo.Index < previous.Index)
                    {
                        throw new LogOrderException(state.GroupId, $"cannot purge up to {upTo}: already purged up to {previous}.");
                    }

                    state.PendingPurged = upTo;
                    if (state.PendingLastLogId is not { } lastId || lastId.Index <= upTo.Index)
                    {
                        state.PendingLastLogId = upTo;
                        state.PendingLastLogIdAsNamed = false;
                    }

                    break;
                case CheckKind.RemoveGroup:
                    state.PendingPurged = null;
                    state.PendingLastLogId = null;
                    state.PendingLastLogIdAsNamed = false;
                    break;
            }
        }

        for (int i = 0; i < checks.Length; i++)
        {
            var state = checks[i].State;
            state.LastPurged = state.PendingPurged;
            state.LastLogId = state.PendingLastLogId;
            state.LastLogIdAsNamed = state.PendingLastLogIdAsNamed;
            if (checks[i].Kind == CheckKind.RemoveGroup && !state.Removed)
            {
                state.Removed = true;
                Replacement = groups.ReplaceRemoved(state);
            }
        }
    }

    /// <summary>Completes the caller's write: durable when <paramref name="error"/> is null.</summary>
    /// <param name="error">Why the write failed; null when it is durable.</param>
    /// <param name="logger">Where a throwing callback is reported (the store's).</param>
    public void Complete(Exception? error, ILogger logger)
    {
        var callback = Callback;
        if (callback is not null)
        {
            try
            {
                callback.OnFlushed(error);
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                // A throwing callback is a bug in the caller; it must not stop the writer thread
                // or keep the awaiting caller from learning the outcome of its write.
                StoreLog.CallbackThrew(logger, e, callback.GetType().Name);
            }
        }

        // The caller's continuation runs inline, here, on the writer thread. An awaiting async
        // method never throws out of it, but a continuation registered by hand
        // (GetAwaiter().OnCompleted) may, or a scheduler that refuses it: that must not leave the
        // rest of the batch unanswered and the writer stopped, or end the process from a pool thread.
        try
        {
            if (error is null)
            {
                _completion.SetResult(true);
            }
            else
            {
                _completion.SetException(error as StoreFailedException ?? new StoreFailedException(error));
            }
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            StoreLog.ContinuationThrew(logger, e);
        }

        LetGo();
    }

    /// <summary>
    /// Recycles the request once both its completion and its caller are done with it, whichever
    /// lets go last.
    /// </summary>
    /// <remarks>
    /// Recycling as soon as the caller read the result is not safe: the completion marks itself
    /// done (what the caller's <c>await</c> checks first) before it installs the sentinel that
    /// tells a late continuation it is done. A caller that saw it done in between would recycle
    /// the request under it, and the sentinel would land on the next write's completion, which
    /// would then resume that write's caller at once, before the write was durable.
    /// </remarks>
    private void LetGo()
    {
        if (Interlocked.Increment(ref _lettingGo) == 2)
        {
            ResetForReuse();
            _pool.Return(this);
        }
    }

    /// <summary>
    /// Drops the references to callers' data once it is copied into a native batch: nothing
    /// reads it again, and the caller's buffers need not stay reachable until the write completes.
    /// </summary>
    public void ForgetCallerData()
    {
        var ops = _ops.AsSpan(0, OpCount);
        for (int i = 0; i < ops.Length; i++)
        {
            if (!ops[i].Data.IsEmpty)
            {
                ops[i] = ops[i] with { Data = default };
            }
        }
    }

    /// <summary>Returns an unsubmitted request (its staging failed validation) to the pool.</summary>
    public void Abandon()
    {
        // A submitted request dropped its callers' data once copied; this one never was.
        ForgetCallerData();
        ResetForReuse();
        _pool.Return(this);
    }

    /// <summary>
    /// Clears every staged operation and completion for the next use. A request that grew for
    /// a large write (a host round spanning thousands of groups) gives its buffers back: the pool
    /// keeps thousands of requests, and each would otherwise hold its largest write forever.
    /// </summary>
    public void ResetForReuse()
    {
        if (Data.Capacity > RetainedBytes)
        {
            Data.Dispose();
            Data = new(InitialBytes);
        }
        else
        {
            Data.Clear();
        }

        // No callers' data is left to drop here: it is dropped once copied into a native batch,
        // or by Abandon for a request that never was.
        _callerBytes = 0;
        if (_ops.Length > RetainedOps)
        {
            GiveBack(_ops, _ownOps);
            _ops = _ownOps;
        }

        // Drops the references to group states, whether the array is kept or given back.
        _checks.AsSpan(0, CheckCount).Clear();
        if (_checks.Length > RetainedChecks)
        {
            GiveBack(_checks, _ownChecks);
            _checks = _ownChecks;
        }

        OpCount = 0;
        CheckCount = 0;
        EntryCount = 0;
        NamesGroupsById = false;
        Callback = null;
        Replacement = null;
        _lettingGo = 0;
        _completion.Reset();
    }

    void IValueTaskSource.GetResult(short token)
    {
        // A task read before it completed (or consumed twice, once reused: the token check
        // throws) must fail here, before the request is recycled: recycling it would reset a
        // write that is still queued, or hand another caller's request to a third.
        if (_completion.GetStatus(token) == ValueTaskSourceStatus.Pending)
        {
            throw new InvalidOperationException("The write has not completed: await its task rather than read its result.");
        }

        try
        {
            _completion.GetResult(token);
        }
        finally
        {
            LetGo();
        }
    }

    ValueTaskSourceStatus IValueTaskSource.GetStatus(short token) => _completion.GetStatus(token);

    void IValueTaskSource.OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
        _completion.OnCompleted(continuation, state, token, flags);

    private static string Describe(LogId? logId) => logId is { } id ? id.ToString() : "none";

    private void StageMetaLogId(LogKeySpace space, ulong groupId, MetaLabel label, LogId? logId)
    {
        var (keyOffset, keyLength) = WriteMetaKey(space, groupId, label);
        int valueOffset = Data.WrittenCount;
        int valueLength = MetaRecordFormat.EncodeLogId(Data, logId, label);
        AddOp(new(StagedKind.Put, StagedFamily.Meta, keyOffset, keyLength, valueOffset, valueLength));
    }

    private int WriteLogKey(LogKeySpace space, ulong groupId, ulong index)
    {
        int offset = Data.WrittenCount;
        int length = LogKeys.WriteLogKey(Data.GetSpan(16), space, groupId, index);
        Data.Advance(length);
        return offset;
    }

    private (int Offset, int Length) WriteMetaKey(LogKeySpace space, ulong groupId, MetaLabel label)
    {
        int offset = Data.WrittenCount;
        int length = LogKeys.WriteMetaKey(Data.GetSpan(LogKeys.MaxKeyLength), space, groupId, label);
        Data.Advance(length);
        return (offset, length);
    }

    private void AddOp(in StagedOp op)
    {
        if (OpCount == _ops.Length)
        {
            Grow(ref _ops, OpCount, _ownOps);
        }

        _ops[OpCount++] = op;
    }

    /// <summary>Replaces a full staging array with one twice as long from the shared pool, giving back a rented one.</summary>
    private static void Grow<T>(ref T[] array, int used, T[] own)
    {
        var larger = ArrayPool<T>.Shared.Rent(array.Length * 2);
        array.AsSpan(0, used).CopyTo(larger);

        // Cleared first: the shared pool must not keep group states or callers' data alive.
        if (RuntimeHelpers.IsReferenceOrContainsReferences<T>())
        {
            array.AsSpan(0, used).Clear();
        }
        GiveBack(array, own);
        array = larger;
    }

    /// <summary>Returns <paramref name="array"/> to the shared pool unless it is the request's own.</summary>
    private static void GiveBack<T>(T[] array, T[] own)
    {
        if (!ReferenceEquals(array, own))
        {
            ArrayPool<T>.Shared.Return(array);
        }
    }

    private void AddCheck(in GroupCheck check)
    {
        if (CheckCount == _checks.Length)
        {
            Grow(ref _checks, CheckCount, _ownChecks);
        }

        _checks[CheckCount++] = check;
    }
}
