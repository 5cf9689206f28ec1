using RaftToolkit.Core.Storage;
using RaftToolkit.Native.Interop;
using RaftToolkit.Native.Keys;
using RaftToolkit.Native.Verification;

namespace RaftToolkit.Native;

/// <summary>Verification: every key and record of the store checked, read-only, as an operator's fsck.</summary>
public sealed partial class RocksDbLogStore
{
    /// <summary>
    /// Reads every key of the store's two column families and checks it, with the default caps
    /// on the problems listed (<see cref="VerificationLimits.Default"/>). See
    /// <see cref="VerifyAsync(VerificationLimits, CancellationToken)"/>.
    /// </summary>
    /// <param name="cancellationToken">Stops the verification between two keys.</param>
    /// <returns>What was checked and what is wrong.</returns>
    public ValueTask<StoreVerification> VerifyAsync(CancellationToken cancellationToken = default) =>
        VerifyAsync(VerificationLimits.Default, cancellationToken);

    /// <summary>
    /// Reads every key of the store's two column families and checks it, group by group; writes
    /// nothing and repairs nothing. Per group: every meta record (vote, committed, last purged)
    /// and every log record decodes, as the store's own reads decode them; the log has no hole,
    /// from where it starts (one past the last purged index, or 0) to its last entry; no entry
    /// is left at or below the last purged index; terms never decrease along the log, from the
    /// last purged id on; no entry has a term above the saved vote's; the committed id is in the
    /// log, or is the purged id, or lies below it (<see cref="StoreProblemKind"/>). Every key
    /// that is not a key of the store's key space is reported as a foreign key.
    /// </summary>
    /// <remarks>
    /// <para>A problem does not stop the verification: it is reported, and the checks go on with
    /// the next key (a damaged RocksDB block, whose keys cannot be read, with the next group).
    /// The report lists problems up to the caps of <paramref name="limits"/> and counts all.</para>
    /// <para>Everything is read from one RocksDB snapshot, so a store taking writes is checked as
    /// it stood at one moment: a purge or a truncation in flight is seen whole or not at all.
    /// Writes still queued in the store are not seen. The reads bypass the block cache's filling,
    /// so a verification beside a running host does not evict its working set.</para>
    /// <para>Works on a store opened by path and on one attached to a database opened read-only
    /// (the way to check a database another process has open). It runs on the calling thread,
    /// and its time grows with the size of the store; disposing the store stops it, failing
    /// with <see cref="StoreClosedException"/>.</para>
    /// </remarks>
    /// <param name="limits">How many problems to list.</param>
    /// <param name="cancellationToken">Stops the verification between two keys.</param>
    /// <returns>What was checked and what is wrong.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="limits"/> is null.</exception>
    /// <exception cref="ArgumentOutOfRangeException">A cap of <paramref name="limits"/> is below 1.</exception>
    /// <exception cref="StoreClosedException">The store is closed, or was closed while it ran.</exception>
    /// <exception cref="StoreFailedException">The store stopped after a failed write.</exception>
    /// <exception cref="RaftStorageException">RocksDB failed a read for a reason other than damage it found (an I/O error).</exception>
    public ValueTask<StoreVerification> VerifyAsync(VerificationLimits limits, CancellationToken cancellationToken = default)
    {
        try
        {
            return new(VerifyCore(limits, cancellationToken));
        }
        catch (Exception e)
        {
            return ValueTask.FromException<StoreVerification>(e);
        }
    }

    private StoreVerification VerifyCore(VerificationLimits limits, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(limits);
        limits.Validate();
        cancellationToken.ThrowIfCancellationRequested();
        ThrowIfUnusable();
        var checker = new StoreChecker(_space, limits);

        // One read for the whole walk: disposal waits for it, and the walk, seeing the store
        // closing, stops at its next key (see ThrowIfStopping), so that wait is short.
        BeginRead();
        try
        {
            using var snapshot = _db.CreateSnapshot();
            nint readOptions = RocksDbNative.ReadOptionsCreate();
            nint logIterator = 0;
            nint metaIterator = 0;
            try
            {
                // Total order: the walk crosses groups, and meets keys shorter than the prefix
                // extractor's 8 bytes, which a prefix-mode iterator does not promise to return.
                RocksDbNative.ReadOptionsSetTotalOrderSeek(readOptions, 1);
                RocksDbSharp.Native.Instance.rocksdb_readoptions_set_snapshot(readOptions, snapshot.Handle);
                RocksDbSharp.Native.Instance.rocksdb_readoptions_set_fill_cache(readOptions, 0);
                logIterator = RocksDbNative.CreateIterator(_dbHandle, readOptions, _logFamily);
                metaIterator = RocksDbNative.CreateIterator(_dbHandle, readOptions, _metaFamily);
                var log = new FamilyCursor(logIterator, _options.LogColumnFamily, isLog: true);
                var meta = new FamilyCursor(metaIterator, _options.MetaColumnFamily, isLog: false);
                Walk(ref log, ref meta, checker, cancellationToken);
            }
            finally
            {
                if (logIterator != 0)
                {
                    RocksDbNative.IteratorDestroy(logIterator);
                }

                if (metaIterator != 0)
                {
                    RocksDbNative.IteratorDestroy(metaIterator);
                }

                RocksDbNative.ReadOptionsDestroy(readOptions);
            }
        }
        finally
        {
            EndRead();
        }

        return checker.Finish();
    }

    /// <summary>
    /// Walks both column families in key order, group by group (keys sort by group, so each
    /// group's keys are one run in each family): the group's meta records first, for the purged
    /// index its log is checked against, then its log.
    /// </summary>
    private void Walk(ref FamilyCursor log, ref FamilyCursor meta, StoreChecker checker, CancellationToken cancellationToken)
    {
        meta.SeekToFirst();
        log.SeekToFirst();
        while (true)
        {
            SkipKeysOutsideGroups(ref meta, checker, cancellationToken);
            SkipKeysOutsideGroups(ref log, checker, cancellationToken);
            if (!meta.Valid && !log.Valid)
            {
                return;
            }

            ulong group = !log.Valid ? GroupOf(meta.Key)
                : !meta.Valid ? GroupOf(log.Key)
                : Math.Min(GroupOf(meta.Key), GroupOf(log.Key));
            checker.BeginGroup(group);
            while (meta.Valid && InGroup(meta.Key, group))
            {
                ThrowIfStopping(cancellationToken);
                if (!IsKeySpaceMarker(meta.Key))
                {
                    checker.CheckMeta(meta.Key, meta.Value);
                }

                meta.Next();
            }

            AfterGroup(ref meta, group, checker);
            while (log.Valid && InGroup(log.Key, group))
            {
                ThrowIfStopping(cancellationToken);
                checker.CheckLog(log.Key, log.Value);
                log.Next();
            }

            AfterGroup(ref log, group, checker);
            checker.EndGroup();
        }
    }

    /// <summary>
    /// Moves the cursor past the keys that belong to no group where it stands (reporting each,
    /// but the key-space marker) and, if it reached a damaged block there, past the family.
    /// </summary>
    private void SkipKeysOutsideGroups(ref FamilyCursor cursor, StoreChecker checker, CancellationToken cancellationToken)
    {
        while (cursor.Valid && (!HasGroup(cursor.Key) || (!cursor.IsLog && IsKeySpaceMarker(cursor.Key))))
        {
            ThrowIfStopping(cancellationToken);
            if (cursor.IsLog || !IsKeySpaceMarker(cursor.Key))
            {
                checker.KeyOutsideGroups(cursor.Family, cursor.Key);
            }

            cursor.Next();
        }

        if (TakeDamage(ref cursor) is { } damage)
        {
            checker.FamilyUnreadable(cursor.Family, cursor.IsLog, afterGroup: null, damage.Message);
            cursor.Stop();
        }
    }

    /// <summary>
    /// After the cursor left <paramref name="group"/>'s keys: if it stopped at a damaged block,
    /// reports it as the group's and goes on at the next group's keys, if it can tell where they are.
    /// </summary>
    private void AfterGroup(ref FamilyCursor cursor, ulong group, StoreChecker checker)
    {
        if (TakeDamage(ref cursor) is not { } damage)
        {
            return;
        }

        checker.BlockDamaged(cursor.IsLog, damage.Message);

        // The flat key space has one group: nothing after it to go on with.
        if (_space == LogKeySpace.Flat || group == ulong.MaxValue)
        {
            cursor.Stop();
            return;
        }

        // The block may hold the next groups' first keys too: a damaged block met again, where
        // the next group starts, leaves no key to go on from.
        cursor.SeekToGroup(group + 1);
        if (TakeDamage(ref cursor) is { } again)
        {
            checker.FamilyUnreadable(cursor.Family, cursor.IsLog, group, again.Message);
            cursor.Stop();
        }
    }

    /// <summary>
    /// When the cursor has just run out of keys: the damage RocksDB found there, if that is why
    /// (if not, the family is read to its end, and the cursor stops for good). Any other read
    /// error fails the verification.
    /// </summary>
    /// <exception cref="RaftStorageException">RocksDB failed the read for a reason other than damage.</exception>
    private static RocksDbNativeException? TakeDamage(ref FamilyCursor cursor)
    {
        if (cursor.Stopped || cursor.Valid)
        {
            return null;
        }

        var failure = cursor.TakeError();
        if (failure is null)
        {
            cursor.Stop();
            return null;
        }

        return IsDamage(failure) ? failure : throw new RaftStorageException($"Verifying column family '{cursor.Family}' failed: {failure.Message}", failure);
    }

    /// <summary>Fails the walk if it was cancelled or the store is closing (disposal waits for the walk).</summary>
    private void ThrowIfStopping(CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        ThrowIfClosed();
    }

    /// <summary>Whether the key names a group: always in the flat key space; in the group-prefixed one, when it holds a group id.</summary>
    private bool HasGroup(ReadOnlySpan<byte> key) => _space == LogKeySpace.Flat || key.Length >= sizeof(ulong);

    /// <summary>The group of a key that has one (see <see cref="HasGroup"/>).</summary>
    private ulong GroupOf(ReadOnlySpan<byte> key) => _space == LogKeySpace.Flat ? _options.FlatGroupId : LogKeys.ReadGroupId(key);

    private bool InGroup(ReadOnlySpan<byte> key, ulong group) => HasGroup(key) && GroupOf(key) == group;

    private static bool IsKeySpaceMarker(ReadOnlySpan<byte> key) => key.SequenceEqual(LogKeys.KeySpaceMarkerKey);

    /// <summary>
    /// One column family's iterator in the walk. <see cref="Key"/> and <see cref="Value"/> point
    /// into the iterator's current block: valid until the cursor moves.
    /// </summary>
    private unsafe struct FamilyCursor(nint iterator, string family, bool isLog)
    {
        /// <summary>True once the cursor is past its family's last key it will read.</summary>
        private bool _stopped;

        public readonly string Family => family;

        public readonly bool IsLog => isLog;

        public readonly bool Stopped => _stopped;

        public readonly bool Valid => !_stopped && RocksDbNative.IteratorValid(iterator) != 0;

        // SAFETY: the spans are read before the iterator moves (every caller consumes them before Next).
        public readonly ReadOnlySpan<byte> Key => new(RocksDbNative.IteratorKey(iterator, out nuint length), (int)length);

        public readonly ReadOnlySpan<byte> Value => new(RocksDbNative.IteratorValue(iterator, out nuint length), (int)length);

        public readonly void Next() => RocksDbNative.IteratorNext(iterator);

        public readonly void SeekToFirst()
        {
            byte empty = 0;
            RocksDbNative.IteratorSeek(iterator, &empty, 0);
        }

        /// <summary>Seeks to the first key of <paramref name="group"/> or after (group-prefixed only).</summary>
        public readonly void SeekToGroup(ulong group)
        {
            Span<byte> prefix = stackalloc byte[sizeof(ulong)];
            System.Buffers.Binary.BinaryPrimitives.WriteUInt64BigEndian(prefix, group);

            // SAFETY: the key lives on this stack frame; RocksDB reads it only during the seek.
            fixed (byte* key = prefix)
            {
                RocksDbNative.IteratorSeek(iterator, key, sizeof(ulong));
            }
        }

        public readonly RocksDbNativeException? TakeError()
        {
            RocksDbNative.IteratorGetError(iterator, out nint error);
            return RocksDbNative.TakeError(error);
        }

        public void Stop() => _stopped = true;
    }
}
